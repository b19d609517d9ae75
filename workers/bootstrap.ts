/**
 * A worker thread's entry point: load the plugin named in `workerData`, answer the handshake, serve
 * calls. Any failure before `ready` is reported as `start-failed` with its reason; the host does not
 * restart a plugin that cannot start (no crash loop).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PROTOCOL_VERSION } from '@flowhost/sdk';
import { loadPlugin } from './loader.js';
import { isFrame, type HostControlMessage, type WorkerControlMessage, type WorkerStartData } from './protocol.js';
import { RpcServer } from './runtime.js';

const port = parentPort!;
const start = workerData as WorkerStartData;
const startedAt = performance.now();

function control(message: WorkerControlMessage): void {
  port.postMessage(message);
}

loadPlugin(start).then(
  (dispatch) => {
    const server = new RpcServer(dispatch, (frame) => port.postMessage(frame, [frame.buffer as ArrayBuffer]), start.streams);
    port.on('message', (data: Uint8Array | HostControlMessage) => {
      if (isFrame(data)) server.receive(data);
      else if (data.type === 'call') server.receiveWithPorts(data.frame, data.ports);
      else if (data.type === 'stats') {
        const memory = process.memoryUsage();
        control({ type: 'stats', heapUsed: memory.heapUsed, heapTotal: memory.heapTotal, external: memory.external, arrayBuffers: memory.arrayBuffers });
      }
    });
    control({ type: 'ready', protocolVersion: PROTOCOL_VERSION, startupMs: performance.now() - startedAt });
  },
  (error: unknown) => {
    control({ type: 'start-failed', protocolVersion: PROTOCOL_VERSION, reason: error instanceof Error ? error.message : String(error) });
    // Leave on our own: a plugin may have left timers or handles that would keep the thread alive.
    setImmediate(() => process.exit(1));
  },
);
