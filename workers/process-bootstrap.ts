/**
 * The `process` level's entry point: a child process started by host/process-isolate.ts with
 * Node's permission flags, an empty environment, its own user and RLIMIT_DATA. It talks to the
 * host only over fd 3, in length-prefixed messages (pipe-frames.ts); the first one carries the
 * start data. The plugin runs in a SES Compartment (sandbox.ts), so it never sees this process's
 * `process`, the pipe, or anything but its capabilities; the flags and the user are the second wall.
 *
 * Started with `--import-plugin`, it is the `subprocess` level's child instead: the plugin is
 * imported with all of Node, as at `worker` (bootstrap.ts), and SES is never loaded (build.mjs
 * also builds this file without sandbox.ts for that level, as subprocess-bootstrap.js).
 */
import { Socket } from 'node:net';
import { PROTOCOL_VERSION } from '@flowhost/sdk';
import { KIND_FRAME, KIND_STREAM, PipeReader, encodeControl, writePipeMessage } from '../wire/pipe-frames.js';
import { PipePortHub } from '../wire/pipe-ports.js';
import type { HostControlMessage, WorkerControlMessage, WorkerStartData } from '../wire/protocol.js';
import { createCapabilities, installCapabilities } from './capabilities.js';
import { loadPlugin, type Dispatch } from './loader.js';
import { RpcServer, startFailure } from './runtime.js';

const importsPlugin = process.argv.includes('--import-plugin');

async function load(start: WorkerStartData): Promise<Dispatch> {
  if (!importsPlugin) return (await import('./sandbox.js')).loadSandboxed(start);
  installCapabilities(globalThis, createCapabilities(start.capabilities));
  return loadPlugin(start);
}

const channel = new Socket({ fd: 3, readable: true, writable: true });
const startedAt = performance.now();
let server: RpcServer | null = null;
let started = false;

const control = (message: WorkerControlMessage) => channel.write(encodeControl(message));
const sendFrame = (frame: Uint8Array) => writePipeMessage(channel, KIND_FRAME, frame);

/** The byte streams of the host's calls: channels on this pipe (pipe-ports.ts). */
const streams = new PipePortHub((header, body) =>
  body ? writePipeMessage(channel, KIND_STREAM, header, body) : writePipeMessage(channel, KIND_STREAM, header),
);

const reader = new PipeReader({
  // The host is trusted; its frames are bounded by the checks it made on the arguments.
  maxFrameBytes: 2 ** 32 - 1,
  maxStreamBytes: 2 ** 32 - 1,
  onFrame: (frame) => server?.receive(frame),
  onControl: (message) => handle(message as HostControlMessage),
  onStream: (message) => streams.receive(message),
  onViolation: (what) => {
    process.stderr.write(`flowhost: the host ${what}\n`);
    process.exit(70);
  },
});
channel.on('data', (chunk: Buffer) => reader.push(chunk));
// The host closed the pipe or died: a plugin process never outlives its host.
channel.on('close', () => process.exit(0));
channel.on('error', () => process.exit(0));

function handle(message: HostControlMessage): void {
  switch (message?.type) {
    case 'start': {
      if (started) return;
      started = true;
      const start: WorkerStartData = message.start;
      load(start).then(
        (dispatch) => {
          server = new RpcServer(dispatch, sendFrame, start.streams);
          control({ type: 'ready', protocolVersion: PROTOCOL_VERSION, startupMs: performance.now() - startedAt });
        },
        (error: unknown) => {
          control({ type: 'start-failed', protocolVersion: PROTOCOL_VERSION, reason: startFailure(error) });
          // Let the message leave before the process does.
          channel.end(() => process.exit(1));
        },
      );
      return;
    }
    case 'stats': {
      const memory = process.memoryUsage();
      control({
        type: 'stats',
        heapUsed: memory.heapUsed,
        heapTotal: memory.heapTotal,
        external: memory.external,
        arrayBuffers: memory.arrayBuffers,
        rss: memory.rss,
      });
      return;
    }
    case 'pipe-call': {
      const ports = message.channels.map((id) => streams.attach(id));
      server?.receiveWithPorts(new Uint8Array(Buffer.from(message.frame, 'base64')), ports);
      return;
    }
    default:
      process.stderr.write(`flowhost: unexpected control message ${String((message as { type?: unknown })?.type)}\n`);
  }
}
