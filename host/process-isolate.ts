/**
 * The `process` level's isolate: one child process per plugin worker, so never shared between
 * tenants (the supervisor keeps one pool per plugin instance, and instances are per tenant).
 *
 * The child is started as
 *
 *   prlimit --data=N:N -- node --experimental-permission --allow-fs-read=<its entry> [grants…]
 *        --max-old-space-size=M --no-addons --no-warnings workers/process-bootstrap.js
 *
 * with an empty environment, `/` as its working folder, and, when the host runs as root, its own
 * user (nobody by default; policy `processUser`). Each measure answers a measured attack
 * (docs/reference/sandbox-findings.md):
 *
 *  - its own process: one huge allocation aborts the child, not the host (V8's fatal OOM cannot be
 *    contained in a thread); SIGKILL always ends it, whatever it is doing;
 *  - RLIMIT_DATA: caps heap and ArrayBuffers together (RLIMIT_AS would break undici's WebAssembly);
 *  - its own user: signals to the host's pid or its parent fail with EPERM;
 *  - permission flags: no files but the granted folders, no child processes, no workers, no addons
 *    (Node 20 has no network permission: SES inside is what keeps sockets out of reach);
 *  - its own framing on fd 3 (wire/pipe-frames.ts), size-capped before buffering: Node's IPC has
 *    no cap and crashes the parent on a 2 GiB frame.
 *
 * Byte streams cannot use MessagePorts here (a process cannot receive them): each one is a numbered
 * channel on the same pipe (wire/pipe-ports.ts), with the same credits and bounds, each stream
 * message capped at one chunk before it is buffered.
 *
 * The `subprocess` level is the same child with all of Node: the plugin is imported as at `worker`
 * (subprocess-bootstrap.js, process-bootstrap.ts built without SES, `--import-plugin`), without
 * permission flags, SES or a change of user, because real plugins need Node's modules (fs, net,
 * database and cloud SDKs). What it keeps is
 * what contains a crash: its own process (and process group, so SIGKILL on a deadline reaches what
 * the plugin started too), --max-old-space-size, RLIMIT_DATA (through `sh -c 'ulimit -d'` where
 * prlimit is missing), the capped framing, and an environment of the granted variables only:
 *
 *   prlimit --data=N:N --core=0:0 -- timeout 0 node --max-old-space-size=M subprocess-bootstrap.js --import-plugin
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import type { Socket } from 'node:net';
import { constants } from 'node:os';
import type { Readable } from 'node:stream';
import { KIND_FRAME, KIND_STREAM, PipeReader, encodeControl, writePipeMessage } from '../wire/pipe-frames.js';
import { PipePortHub, STREAM_HEADER_BYTES } from '../wire/pipe-ports.js';
import { MAX_WORKER_CONTROL_BYTES, isFrame, type HostControlMessage, type WorkerStartData } from '../wire/protocol.js';
import type { Isolate, IsolateFactory, IsolateOptions, StreamChannel } from './isolate.js';
import { frameCap } from './limits.js';
import { processBootstrapPath, subprocessBootstrapPath } from './paths.js';
import { DEFAULT_PROCESS_USER } from './policy.js';

export interface ProcessIsolateOptions {
  /** The user the child runs as when the host runs as root (default nobody). */
  readonly user?: { readonly uid: number; readonly gid: number };
  /** The child's entry script; tests replace it with a misbehaving child. Default: workers/process-bootstrap.js. */
  readonly entry?: string;
  /** `subprocess`: the plugin keeps Node's APIs (see above). Default `process`. */
  readonly level?: 'process' | 'subprocess';
}

/** util-linux's prlimit, found once; without it the level cannot start (it fails closed). */
const PRLIMIT =
  ['/usr/bin/prlimit', '/bin/prlimit', '/usr/sbin/prlimit', '/sbin/prlimit'].find((path) => existsSync(path)) ?? null;

/**
 * The command that runs `command` under RLIMIT_DATA = `bytes` and without core dumps (a plugin that
 * aborts in a loop would otherwise fill a disk with them): prlimit, else the shell's `ulimit -d`
 * (in KiB), else (no POSIX shell) `command` alone, capped by its V8 heap limit only. The `subprocess`
 * level only: `process` refuses to start without prlimit.
 */
function withDataLimit(bytes: number, command: string[]): [string, string[]] {
  if (PRLIMIT) return [PRLIMIT, [`--data=${bytes}:${bytes}`, '--core=0:0', '--', ...command]];
  if (existsSync('/bin/sh'))
    return ['/bin/sh', ['-c', `ulimit -d ${Math.floor(bytes / 1024)} && ulimit -c 0 && exec "$@"`, 'sh', ...command]];
  return [command[0], command.slice(1)];
}

/** GNU coreutils' timeout, found once: the `subprocess` level's way to a process group of its own (see there). */
const TIMEOUT = ['/usr/bin/timeout', '/bin/timeout'].find((path) => existsSync(path)) ?? null;

export function processIsolate(options: ProcessIsolateOptions = {}): IsolateFactory {
  return (start, isolateOptions) => new ChildIsolate(start, isolateOptions, options);
}

/**
 * Node's permission flags for a child, from its grants: it may read its own entry and the granted
 * folders, write the folders granted for writing, and nothing else.
 */
export function permissionFlags(entry: string, start: WorkerStartData): string[] {
  const flags = ['--experimental-permission', `--allow-fs-read=${entry}`];
  for (const grant of start.capabilities?.fs ?? []) {
    flags.push(`--allow-fs-read=${grant.root}`);
    if (grant.access === 'write') flags.push(`--allow-fs-write=${grant.root}`);
  }
  return flags;
}

class ChildIsolate extends EventEmitter implements Isolate {
  readonly stdout: Readable;
  readonly stderr: Readable;
  readonly #child: ChildProcess;
  readonly #channel: Socket;
  /** The byte streams of this child's calls, as channels on the pipe. */
  readonly #streams = new PipePortHub(
    (header, body) => this.#sendStreamMessage(header, body),
    () => this.#applyRef(),
  );
  #wantsRef = true;
  #refed = true;
  readonly #exited: Promise<void>;
  #finished = false;
  #pending: (() => void)[] = [];
  /** What V8 printed after `FATAL ERROR:` (an out-of-memory, say), if it did. */
  #fatalError: string | undefined;
  /** `subprocess`: the child leads a process group, killed as a whole. */
  readonly #group: boolean;

  constructor(start: WorkerStartData, { env, limits }: IsolateOptions, options: ProcessIsolateOptions) {
    super();
    const entry =
      options.entry ?? (options.level === 'subprocess' ? subprocessBootstrapPath() : processBootstrapPath());
    const dataBytes = limits.maxDataMb * 1024 * 1024;
    const heapCap = `--max-old-space-size=${limits.maxOldGenerationSizeMb}`;
    this.#group = options.level === 'subprocess';
    if (this.#group) {
      // Its own process group: SIGKILL goes to the group, so nothing the plugin started outlives a
      // deadline or a crash, and the terminal's Ctrl-C reaches the host, not the plugin. Node can only
      // make one with a new session too (`detached`), and a session of its own is a scheduling group
      // of its own (Linux's autogroup): on a busy machine every wake-up between host and child then
      // waits, and byte streams ran 2-6x slower (docs/decisions/0007-subprocess-level.md). GNU
      // timeout with no duration makes the group alone, and passes the child's exit status or
      // signal on as its own.
      const group = TIMEOUT ? [TIMEOUT, '0'] : [];
      this.#child = spawn(
        ...withDataLimit(dataBytes, [...group, process.execPath, heapCap, entry, '--import-plugin']),
        {
          env: { ...env },
          // The host's working folder, as a worker thread shares it: a plugin given a relative path
          // (`file-plugin:mlruns`, an empty path meaning ./mlruns) resolves it where the user is.
          cwd: process.cwd(),
          stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
          detached: TIMEOUT === null,
        },
      );
    } else {
      const nodeArgs = [...permissionFlags(entry, start), heapCap, '--no-addons', '--no-warnings', entry];
      const asRoot = process.getuid?.() === 0;
      const user = options.user ?? DEFAULT_PROCESS_USER;
      // Without prlimit the child would run without its data limit: spawning a name that does not exist
      // fails the start with ENOENT, which is reported, rather than running the child unlimited.
      this.#child = spawn(
        PRLIMIT ?? 'prlimit (util-linux, not found)',
        [`--data=${dataBytes}:${dataBytes}`, '--', process.execPath, ...nodeArgs],
        {
          env: {},
          cwd: '/',
          stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
          ...(asRoot ? { uid: user.uid, gid: user.gid } : {}),
        },
      );
    }
    this.stdout = this.#child.stdout!;
    this.stderr = this.#child.stderr!;
    // V8's reason for a fatal error, for the crash report: the stderr lines that travel with a crash
    // are its last ones, the native stack printed after this line.
    this.stderr.on('data', (chunk: Buffer | string) => {
      this.#fatalError ??= /FATAL ERROR: ([^\n]{1,300})/.exec(String(chunk))?.[1];
    });
    this.#channel = this.#child.stdio[3] as Socket;

    const reader = new PipeReader({
      maxFrameBytes: frameCap(limits),
      // A child sends only small control messages (protocol.ts): nothing larger is read.
      maxControlBytes: MAX_WORKER_CONTROL_BYTES,
      maxStreamBytes: STREAM_HEADER_BYTES + limits.streamChunkBytes,
      onFrame: (frame) => this.#deliver(() => this.emit('message', frame)),
      onControl: (message) => this.#deliver(() => this.emit('message', message)),
      onStream: (message) => this.#deliver(() => this.#streams.receive(message)),
      onViolation: (what) => {
        // Stop reading at once: nothing more of this child's output is worth memory.
        this.#channel.destroy();
        this.forceKill();
        this.emit('violation', what);
      },
    });
    this.#channel.on('data', (chunk: Buffer) => reader.push(chunk));
    this.#channel.on('error', () => {
      /* EPIPE/ECONNRESET once the child is gone: its exit is reported below */
    });

    let resolveExited!: () => void;
    this.#exited = new Promise((resolve) => (resolveExited = resolve));
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      if (this.#finished) return;
      this.#flush(); // what it sent before it ended comes first
      this.#finished = true;
      this.#streams.lost();
      if (signal) {
        const why = this.#fatalError
          ? `: ${this.#fatalError}`
          : signal === 'SIGABRT' || signal === 'SIGTRAP'
            ? ' (a native abort, such as process.abort())'
            : '';
        this.#report(new Error(`the plugin process was killed by ${signal}${why}`));
      }
      this.emit('exit', code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0));
      resolveExited();
    };
    this.#child.on('error', (error) => {
      this.#report(new Error(`the plugin process could not be started: ${error.message}`));
      finish(1, null);
    });
    this.#child.on('exit', (code, signal) => {
      // Whatever a `subprocess` plugin started dies with it.
      if (this.#group && this.#child.pid !== undefined) {
        try {
          process.kill(-this.#child.pid, 'SIGKILL');
        } catch {
          /* no process left in the group */
        }
      }
      // Its last stderr lines (a V8 fatal error, say) may still be in the pipe: give them a moment.
      let pending = 2;
      const done = () => {
        if (--pending === 0) finish(code, signal);
      };
      const timer = setTimeout(() => finish(code, signal), 500);
      timer.unref();
      for (const stream of [this.stdout, this.stderr]) {
        if (stream.readableEnded || stream.destroyed) done();
        else stream.once('close', done);
      }
    });

    this.#send(encodeControl({ type: 'start', start } satisfies HostControlMessage));
  }

  /**
   * What the child sends on its pipe is passed on in order, after the output it wrote before it:
   * a plugin's stdout and stderr are pipes of their own, and a reply read in the same turn of the
   * event loop as the line printed before it must not overtake it (a deployment client's `runLocal`
   * prints its result, then answers). The poll phase reads every pipe that was ready; `setImmediate`
   * runs after it.
   */
  #deliver(message: () => void): void {
    this.#pending.push(message);
    if (this.#pending.length === 1) setImmediate(this.#flush);
  }

  readonly #flush = () => {
    const pending = this.#pending;
    this.#pending = [];
    for (const message of pending) message();
  };

  /** Why the process ended, for whoever listens (the connection does); never an uncaught 'error'. */
  #report(error: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  postMessage(message: Uint8Array | HostControlMessage): void {
    if (this.#finished) return;
    if (isFrame(message)) {
      this.#write(KIND_FRAME, message);
      return;
    }
    if (message.type === 'call') throw new Error('a call with MessagePorts cannot reach a process: use postStreamCall');
    this.#send(encodeControl(message));
  }

  openStreamChannel(): StreamChannel {
    const local = this.#streams.open();
    return { local, remote: local.channel };
  }

  postStreamCall(frame: Uint8Array, remotes: StreamChannel['remote'][]): void {
    if (this.#finished) return;
    this.#send(
      encodeControl({
        type: 'pipe-call',
        frame: Buffer.from(frame).toString('base64'),
        channels: remotes as number[],
      } satisfies HostControlMessage),
    );
  }

  #sendStreamMessage(header: Uint8Array, body: Uint8Array | null): void {
    if (this.#finished) return;
    if (body) this.#write(KIND_STREAM, header, body);
    else this.#write(KIND_STREAM, header);
  }

  #write(kind: typeof KIND_FRAME | typeof KIND_STREAM, ...parts: Uint8Array[]): void {
    if (!this.#channel.destroyed) writePipeMessage(this.#channel, kind, ...parts);
  }

  #send(bytes: Uint8Array): void {
    if (!this.#channel.destroyed) this.#channel.write(bytes);
  }

  /** SIGKILL: the child holds nothing worth a graceful exit (every answer it gave is already sent). */
  terminate(): Promise<unknown> {
    this.forceKill();
    return this.#exited;
  }

  forceKill(): void {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    if (this.#group && this.#child.pid !== undefined) {
      try {
        process.kill(-this.#child.pid, 'SIGKILL');
        return;
      } catch {
        /* the group is gone already: kill the child itself below */
      }
    }
    this.#child.kill('SIGKILL');
  }

  /**
   * The connection refs the child while calls are in flight. A stream can outlive its call (a
   * download is answered at once, then read), and unlike a MessagePort a pipe channel holds no ref
   * of its own: the child stays ref'd while a channel is open too.
   */
  ref(): void {
    this.#wantsRef = true;
    this.#applyRef();
  }

  unref(): void {
    this.#wantsRef = false;
    this.#applyRef();
  }

  #applyRef(): void {
    const ref = this.#wantsRef || this.#streams.openChannels > 0;
    if (ref === this.#refed) return;
    this.#refed = ref;
    if (ref) this.#child.ref();
    else this.#child.unref();
    for (const handle of [this.#channel, this.stdout, this.stderr] as unknown as {
      ref?: () => void;
      unref?: () => void;
    }[])
      (ref ? handle.ref : handle.unref)?.call(handle);
  }
}
