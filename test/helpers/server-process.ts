/**
 * `flowhost server` as a process of its own (`node dist/host/cli/main.js server …`), on a given
 * loopback port, for tests and benchmarks that need several: started and waited for until its
 * `/ready` answers 200, stopped gracefully (SIGTERM) or killed (SIGKILL), and killed whatever
 * happens when this process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ownChild } from './haproxy.js';
import { eventually, PATIENCE_MS } from './poll.js';

const MAIN = fileURLToPath(new URL('../../host/cli/main.js', import.meta.url));

export interface ServerProcess {
  readonly port: number;
  readonly url: string;
  readonly pid: number;
  /** SIGTERM: readiness fails, requests in flight finish, then it exits. */
  stop(): Promise<void>;
  /** SIGKILL: gone at once, requests in flight lost. */
  kill(): Promise<void>;
  readonly exited: Promise<void>;
}

export async function startServerProcess(
  port: number,
  args: readonly string[],
  env: Record<string, string>,
): Promise<ServerProcess> {
  const child: ChildProcess = spawn(
    process.execPath,
    [MAIN, 'server', '--host', '127.0.0.1', '--port', String(port), '--no-access-log', ...args],
    {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let errors = '';
  child.stderr!.on('data', (chunk: Buffer) => (errors = (errors + chunk.toString()).slice(-4000)));
  const exited = ownChild(child);
  const url = `http://127.0.0.1:${port}`;
  const ready = await eventually(
    async () =>
      child.exitCode !== null ||
      (await fetch(`${url}/ready`).then(
        (r) => r.status === 200,
        () => false,
      )),
    { withinMs: PATIENCE_MS, everyMs: 50 },
  );
  if (!ready || child.exitCode !== null) {
    child.kill('SIGKILL');
    await exited;
    throw new Error(`flowhost server on port ${port} did not become ready (exit ${child.exitCode}): ${errors}`);
  }
  const signal = async (name: NodeJS.Signals) => {
    child.kill(name);
    const killer = setTimeout(() => child.kill('SIGKILL'), PATIENCE_MS);
    await exited;
    clearTimeout(killer);
  };
  return { port, url, pid: child.pid!, stop: () => signal('SIGTERM'), kill: () => signal('SIGKILL'), exited };
}
