/**
 * Serves one plugin over a worker thread's port: the handshake, then calls. Shared by the `worker`
 * bootstrap (bootstrap.ts) and the `sandbox` one (sandbox-bootstrap.ts); they differ only in how
 * the plugin is loaded. Any failure before `ready` is reported as `start-failed` with its reason;
 * the host does not restart a plugin that cannot start (no crash loop).
 */
import { parentPort } from 'node:worker_threads';
import { PROTOCOL_VERSION } from '@flowhost/sdk';
import { transferOf } from '../wire/frames.js';
import type { Dispatch } from './loader.js';
import { isFrame, type HostControlMessage, type WorkerControlMessage, type WorkerStartData } from '../wire/protocol.js';
import { RpcServer, startFailure } from './runtime.js';

export function serveThread(start: WorkerStartData, loading: Promise<Dispatch>): void {
  const port = parentPort!;
  const startedAt = performance.now();
  const control = (message: WorkerControlMessage) => port.postMessage(message);

  loading.then(
    (dispatch) => {
      const server = new RpcServer(dispatch, (frame) => port.postMessage(frame, transferOf(frame)), start.streams);
      port.on('message', (data: Uint8Array | HostControlMessage) => {
        if (isFrame(data)) server.receive(data);
        else if (data.type === 'call') server.receiveWithPorts(data.frame, data.ports);
        else if (data.type === 'stats') {
          const memory = process.memoryUsage();
          control({
            type: 'stats',
            heapUsed: memory.heapUsed,
            heapTotal: memory.heapTotal,
            external: memory.external,
            arrayBuffers: memory.arrayBuffers,
          });
        }
      });
      control({ type: 'ready', protocolVersion: PROTOCOL_VERSION, startupMs: performance.now() - startedAt });
    },
    (error: unknown) => {
      control({ type: 'start-failed', protocolVersion: PROTOCOL_VERSION, reason: startFailure(error) });
      // Leave on our own: a plugin may have left timers or handles that would keep the thread alive.
      setImmediate(() => process.exit(1));
    },
  );
}
