/**
 * Walking a granted folder without following links, and without resolving any path twice: what
 * `capabilities.fs` (capabilities.ts) stands on.
 *
 * Every operation starts from the granted folder, opened by its real path, and opens each folder
 * below it one name at a time with O_NOFOLLOW | O_DIRECTORY *relative to the folder opened before*;
 * the last name is opened (or created, renamed, removed) relative to its folder in the same way. A
 * link anywhere below a grant is never followed, and a folder swapped for a link between two steps
 * is refused, not entered: nothing is checked first and used later by path.
 *
 * Node has no `openat`, so "relative to an open folder" is spelled one of two ways:
 *
 *  - `procfs` (worker threads: the `worker` and `sandbox` levels): `/proc/self/fd/<fd>/<name>`,
 *    which Linux resolves from the open folder itself (the magic link names the open file, not a
 *    path), exactly as `openat(fd, name)` does.
 *  - `cwd` (the `process` level's child, whose permission flags refuse `/proc/self/fd` paths, rightly:
 *    `/proc/self/fd/<fd>/a/../..` would leave every grant): the child changes its working folder
 *    into the open folder's path and checks, with `stat('.')`, that it is the very folder opened
 *    (device and inode), then names the entry relatively. A folder swapped after it was opened fails
 *    the check. Each such step runs synchronously, so no other operation moves the working folder
 *    in between; the child is one plugin instance and nothing else in it uses relative paths.
 *
 * What this does not stop: a folder moved out of the grant by another process while an operation
 * is inside it (as with `openat`, the operation follows the folder). That needs write access both
 * inside the grant and where the folder goes.
 */
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmdirSync,
  statSync,
  unlinkSync,
  type BigIntStats,
  type Dirent,
} from 'node:fs';
import { isMainThread } from 'node:worker_threads';

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW } = constants;

/** A folder opened below a grant: its descriptor, its path (for messages, and the `cwd` mode) and identity. */
export interface Dir {
  readonly fd: number;
  readonly path: string;
  readonly dev: bigint;
  readonly ino: bigint;
}

/** A folder below the grant turned out to be a link, or was swapped while in use: nothing was done through it. */
export class WalkRefused extends Error {
  override readonly name = 'WalkRefused';
}

export interface Walker {
  /** A path that names `name` in the open folder `dir` as `openat(dir, name)` would; in the `cwd` mode valid until the next call. */
  at(dir: Dir, name: string): string;
  /** A path naming `dir` itself. */
  self(dir: Dir): string;
  /** Whether both paths of a rename can be named at once (`procfs`); the `cwd` mode names one folder at a time. */
  readonly bothAtOnce: boolean;
}

const procfsWalker: Walker = {
  at: (dir, name) => `/proc/self/fd/${dir.fd}/${name}`,
  self: (dir) => `/proc/self/fd/${dir.fd}`,
  bothAtOnce: true,
};

function enter(dir: Dir): void {
  process.chdir(dir.path);
  const here = statSync('.', { bigint: true });
  if (here.dev !== dir.dev || here.ino !== dir.ino)
    throw new WalkRefused(
      `${dir.path} was replaced while in use (a link or another folder swapped in); nothing was done through it`,
    );
}

const cwdWalker: Walker = {
  at: (dir, name) => {
    enter(dir);
    return name;
  },
  self: (dir) => {
    enter(dir);
    return '.';
  },
  bothAtOnce: false,
};

let chosen: Walker | null | undefined;

/** The walker this isolate can use, or `null` when it has neither (then `capabilities.fs` refuses every call). */
export function walker(): Walker | null {
  if (chosen !== undefined) return chosen;
  const permission = (process as { permission?: { has(scope: string, reference?: string): boolean } }).permission;
  let procfs: boolean;
  try {
    procfs =
      (!permission || permission.has('fs.read', '/proc/self/fd/')) &&
      statSync('/proc/self/fd', { throwIfNoEntry: false }) !== undefined;
  } catch {
    procfs = false;
  }
  chosen = procfs ? procfsWalker : isMainThread ? cwdWalker : null;
  return chosen;
}

function identify(fd: number, path: string): Dir {
  const info: BigIntStats = fstatSync(fd, { bigint: true });
  return { fd, path, dev: info.dev, ino: info.ino };
}

/** Opens the granted folder itself (a real path, chosen by the host from the operator's policy). */
export function openRoot(root: string): Dir {
  const fd = openSync(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  return identify(fd, root);
}

/** Opens the folder `name` in `parent`; a link there fails with WalkRefused. */
export function openDir(walk: Walker, parent: Dir, name: string): Dir {
  const path = parent.path === '/' ? `/${name}` : `${parent.path}/${name}`;
  try {
    return identify(openSync(walk.at(parent, name), O_RDONLY | O_DIRECTORY | O_NOFOLLOW), path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (
      code === 'ELOOP' ||
      (code === 'ENOTDIR' && lstatSync(walk.at(parent, name), { throwIfNoEntry: false })?.isSymbolicLink())
    ) {
      throw new WalkRefused(`${path} is a symbolic link; links are not followed inside granted folders`);
    }
    throw error;
  }
}

/**
 * Opens the folders `names` one below the other from `from` (which stays open), creating missing
 * ones when `create`; every folder but the last is closed again. Returns the last (or `from`).
 */
export function walkDown(walk: Walker, from: Dir, names: readonly string[], create: boolean): Dir {
  let current = from;
  try {
    for (const name of names) {
      let next: Dir;
      try {
        next = openDir(walk, current, name);
      } catch (error) {
        if (!create || (error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        try {
          mkdirSync(walk.at(current, name));
        } catch (made) {
          if ((made as NodeJS.ErrnoException).code !== 'EEXIST') throw made;
        }
        // Opened again with O_NOFOLLOW: a link put there meanwhile is refused, not entered.
        next = openDir(walk, current, name);
      }
      if (current !== from) closeSync(current.fd);
      current = next;
    }
    return current;
  } catch (error) {
    if (current !== from) closeSync(current.fd);
    throw error;
  }
}

export function closeDir(dir: Dir): void {
  try {
    closeSync(dir.fd);
  } catch {
    /* already closed */
  }
}

/** Removes `name` from `parent`: a file or link itself, or a folder with everything in it, never through a link. */
export function removeEntry(walk: Walker, parent: Dir, name: string): void {
  const info = lstatSync(walk.at(parent, name));
  if (!info.isDirectory()) {
    unlinkSync(walk.at(parent, name));
    return;
  }
  const dir = openDir(walk, parent, name);
  try {
    for (const entry of readdirSync(walk.self(dir))) removeEntry(walk, dir, entry);
  } finally {
    closeDir(dir);
  }
  rmdirSync(walk.at(parent, name));
}

export function listDir(walk: Walker, dir: Dir): Dirent[] {
  return readdirSync(walk.self(dir), { withFileTypes: true });
}

/**
 * Renames `fromName` in `from` to `toName` in `to`, both folders below the same grant root. In the
 * `cwd` mode two folders cannot be named at once: the entry goes up from `from` to the deepest
 * folder both share, under a temporary name, with `..` only (the real parent, never a link), then
 * down into `to` by the same means, entered and checked. Only that temporary name is ever visible.
 */
export function renameEntry(walk: Walker, from: Dir, fromName: string, to: Dir, toName: string): void {
  if (walk.bothAtOnce) {
    renameSync(walk.at(from, fromName), walk.at(to, toName));
    return;
  }
  if (from.dev === to.dev && from.ino === to.ino) {
    renameSync(walk.at(from, fromName), toName);
    return;
  }
  const fromParts = from.path.split('/').filter(Boolean);
  const toParts = to.path.split('/').filter(Boolean);
  let shared = 0;
  while (shared < fromParts.length && shared < toParts.length && fromParts[shared] === toParts[shared]) shared++;
  const up = (count: number) => '../'.repeat(count);
  const temporary = `.flowhost-rename-${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
  renameSync(walk.at(from, fromName), `${up(fromParts.length - shared)}${temporary}`);
  try {
    renameSync(walk.at(to, `${up(toParts.length - shared)}${temporary}`), toName);
  } catch (error) {
    try {
      renameSync(walk.at(from, `${up(fromParts.length - shared)}${temporary}`), fromName);
    } catch {
      /* the entry stays under its temporary name in the shared folder */
    }
    throw error;
  }
}
