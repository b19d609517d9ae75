/**
 * Lock files shared by every writer of a store folder: threads, processes and hosts on a shared
 * file system. A lock is a file holding `<host> <pid> <thread> <time>`, created only if absent
 * and removed on release. A lock whose holder died is broken: at once when its process is known dead on this
 * host, else once it is older than `STALE_MS` (long holders refresh it). Writers of one thread wait
 * in line for each other instead of polling.
 *
 * The stores put lock files where MLflow reads nothing (the store root, of which MLflow reads only
 * the sub-folders), so a lock left by a crash is inert for MLflow.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { threadId } from 'node:worker_threads';
import { MlflowError } from '../errors.js';
import { createFileExclusive, errnoOf, removeQuietly, writeFailure } from './atomic.js';

export const LOCK_STALE_MS = 10_000;
const LOCK_TIMEOUT_MS = 60_000;
const HOST = hostname();
const localQueues = new Map<string, Promise<void>>();

function pidIsDead(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return errnoOf(error) === 'ESRCH';
  }
}

function statOrNull(file: string): fs.Stats | undefined {
  try {
    return fs.statSync(file, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

/** Removes `lockPath` if its holder is gone (a dead process of this host) or it is older than STALE_MS. */
function breakIfStale(lockPath: string): void {
  const seen = statOrNull(lockPath);
  if (!seen) return;
  let stale = Date.now() - seen.mtimeMs > LOCK_STALE_MS;
  if (!stale) {
    let holder = '';
    try {
      holder = fs.readFileSync(lockPath, 'utf8');
    } catch {
      return;
    }
    const [host, pid] = holder.split(' ');
    stale = host === HOST && Number(pid) > 0 && Number(pid) !== process.pid && pidIsDead(Number(pid));
  }
  if (!stale) return;
  // Moved aside first, then checked to be the very file judged stale: another writer may have
  // broken it and taken a fresh lock in between, and that fresh lock must stand.
  const aside = `${lockPath}.stale-${randomBytes(4).toString('hex')}`;
  try {
    fs.renameSync(lockPath, aside);
  } catch {
    return;
  }
  const moved = statOrNull(aside);
  if (moved && moved.ino !== seen.ino) {
    try {
      fs.linkSync(aside, lockPath);
    } catch {
      // Someone holds a newer lock already; theirs stands.
    }
  }
  removeQuietly(aside);
}

/**
 * One attempt to take the lock. The lock file appears with its holder line already in it (written
 * to a temporary file, then hard-linked to the lock's name, which fails if the lock is held): a
 * writer killed while taking the lock leaves no empty lock that nobody can judge, and one failing
 * to write it (a full disk) leaves nothing.
 */
function tryAcquire(lockPath: string, store: string): boolean {
  try {
    return createFileExclusive(lockPath, `${HOST} ${process.pid} ${threadId} ${Date.now()}\n`, {
      tempDir: path.dirname(lockPath),
    });
  } catch (error) {
    throw writeFailure(error, store, lockPath);
  }
}

function timedOut(lockPath: string): MlflowError {
  return new MlflowError(
    `Could not acquire the lock ${lockPath} within ${LOCK_TIMEOUT_MS / 1000} s.`,
    'COULD_NOT_ACQUIRE_LOCK',
  );
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs `fn` holding the lock file `lockPath`; `store` names the store in errors. */
export async function withLock<T>(lockPath: string, store: string, fn: () => T | Promise<T>): Promise<T> {
  const previous = localQueues.get(lockPath) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((resolve) => (release = resolve));
  const tail = previous.then(() => mine);
  localQueues.set(lockPath, tail);
  await previous;
  try {
    const started = Date.now();
    for (let delay = 1; !tryAcquire(lockPath, store); delay = Math.min(delay * 2, 25)) {
      if (Date.now() - started > LOCK_TIMEOUT_MS) throw timedOut(lockPath);
      breakIfStale(lockPath);
      await sleep(delay);
    }
    // Long holders (deleting an experiment of many runs) keep the lock fresh, so no other writer
    // takes it for a crashed one.
    const heartbeat = setInterval(() => {
      const now = new Date();
      try {
        fs.utimesSync(lockPath, now, now);
      } catch {
        // Gone: released, or broken by someone who judged it stale; nothing to refresh.
      }
    }, LOCK_STALE_MS / 4);
    heartbeat.unref();
    try {
      return await fn();
    } finally {
      clearInterval(heartbeat);
      removeQuietly(lockPath);
    }
  } finally {
    release();
    if (localQueues.get(lockPath) === tail) localQueues.delete(lockPath);
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * `withLock` for synchronous stores (the registry's calls run to their end in one turn). It blocks
 * the thread while another holder works: holders keep the lock for a few file writes.
 */
export function withLockSync<T>(lockPath: string, store: string, fn: () => T): T {
  const started = Date.now();
  for (let delay = 1; !tryAcquire(lockPath, store); delay = Math.min(delay * 2, 25)) {
    if (Date.now() - started > LOCK_TIMEOUT_MS) throw timedOut(lockPath);
    breakIfStale(lockPath);
    sleepSync(delay);
  }
  try {
    return fn();
  } finally {
    removeQuietly(lockPath);
  }
}
