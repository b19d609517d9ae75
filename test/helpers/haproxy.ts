/**
 * HAProxy from Debian (`/usr/sbin/haproxy`, installed by `.ci/system-packages.sh`) as the load
 * balancer of tests and benchmarks: a config written here on a free loopback port, run in the
 * foreground (`-db`) so that it is this process's child, stopped by `stop()` or when this process
 * exits. Servers are health-checked on `/ready`; a request whose connection to a server fails is
 * sent to another (`retries` and `option redispatch`), never a request a server may have begun.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, PATIENCE_MS } from './poll.js';

export const HAPROXY = process.env.FLOWHOST_HAPROXY ?? '/usr/sbin/haproxy';

/** A port free on 127.0.0.1 now (the OS picks it); whoever binds it next should be quick. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** True once something accepts connections on 127.0.0.1:port. */
export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Children of this process that must not outlive it, whatever ends it short of SIGKILL. */
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** Registers a child to be killed when this process exits; returns a promise of its exit. */
export function ownChild(child: ChildProcess): Promise<void> {
  children.add(child);
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    child.once('exit', () => {
      children.delete(child);
      resolve();
    });
  });
}

export interface HaproxyOptions {
  /** Ports of the servers behind it, on 127.0.0.1. */
  readonly servers?: readonly number[];
  /** Answer every request with a fixed 2-byte body itself (the balancer's own ceiling). */
  readonly fixedBody?: boolean;
  /** Health-check interval (ms); a server is out after two failed checks, in after one good one. */
  readonly checkIntervalMs?: number;
}

export interface Haproxy {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

export function haproxyConfig(port: number, options: HaproxyOptions): string {
  const interval = options.checkIntervalMs ?? 250;
  const lines = [
    'global',
    '  maxconn 4096',
    'defaults',
    '  mode http',
    '  timeout connect 2s',
    '  timeout client 120s',
    '  timeout server 120s',
    // A probe's whole answer may take this long (without it HAProxy allows one interval): a busy
    // server answers /ready late, and taking every busy server out would refuse all requests.
    '  timeout check 5s',
    // Only a failed connection is retried (HAProxy's default retry-on): the request was not sent.
    '  retries 3',
    '  option redispatch 1',
    'frontend flowhost_in',
    `  bind 127.0.0.1:${port}`,
  ];
  if (options.fixedBody) lines.push('  http-request return status 200 content-type text/plain string OK');
  else {
    lines.push(
      '  default_backend flowhost_servers',
      'backend flowhost_servers',
      '  balance roundrobin',
      '  option httpchk GET /ready',
      '  http-check expect status 200',
      `  default-server inter ${interval} fastinter ${interval} downinter ${interval} fall 2 rise 1`,
      ...(options.servers ?? []).map((serverPort, i) => `  server flowhost${i} 127.0.0.1:${serverPort} check`),
    );
  }
  return `${lines.join('\n')}\n`;
}

export async function startHaproxy(options: HaproxyOptions): Promise<Haproxy> {
  const dir = mkdtempSync(join(tmpdir(), 'flowhost-haproxy-'));
  const port = await freePort();
  const config = join(dir, 'haproxy.cfg');
  writeFileSync(config, haproxyConfig(port, options));
  const child = spawn(HAPROXY, ['-db', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let errors = '';
  child.stderr!.on('data', (chunk: Buffer) => (errors = (errors + chunk.toString()).slice(-4000)));
  const exited = ownChild(child);
  const stop = async () => {
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(killer);
    rmSync(dir, { recursive: true, force: true });
  };
  const up = await eventually(async () => child.exitCode !== null || (await accepts(port)), {
    withinMs: PATIENCE_MS,
    everyMs: 25,
  });
  if (!up || child.exitCode !== null) {
    await stop();
    throw new Error(`haproxy did not start (exit ${child.exitCode}): ${errors}`);
  }
  return { url: `http://127.0.0.1:${port}`, port, stop };
}
