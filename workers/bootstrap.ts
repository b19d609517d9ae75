/**
 * A worker's entry point: load the plugin module named in `workerData`, check it is a plugin of the
 * expected kind built for this protocol, build its instance, then answer the handshake and serve.
 *
 * Any failure before `ready` is reported as `start-failed` with a reason a person can act on; the
 * host does not restart a plugin that cannot start (no crash loop).
 */
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import { kindOf } from '@flowhost/sdk';
import { PROTOCOL_VERSION, PLUGIN_BRAND, dispatchTable, isPluginDefinition, type AnyImplementation } from '@flowhost/sdk';
import { isFrame, type HostControlMessage, type WorkerControlMessage, type WorkerStartData } from './protocol.js';
import { RpcServer } from './runtime.js';

const port = parentPort!;
const start = workerData as WorkerStartData;
const startedAt = performance.now();

function control(message: WorkerControlMessage): void {
  port.postMessage(message);
}

async function load(): Promise<RpcServer> {
  if (start.protocolVersion !== PROTOCOL_VERSION) {
    throw new Error(`the host speaks flowhost protocol ${start.protocolVersion}, this worker runtime speaks ${PROTOCOL_VERSION}`);
  }
  const kind = kindOf(start.group);
  if (!kind) throw new Error(`flowhost does not support the plugin group '${start.group}' yet`);

  const module = (await import(pathToFileURL(start.modulePath).href)) as { default?: unknown };
  const definition = module.default;
  if (!isPluginDefinition(definition)) {
    throw new Error(`${start.modulePath} has no default export made by a define* function of @flowhost/sdk`);
  }
  const brand = definition[PLUGIN_BRAND];
  if (brand.protocolVersion !== PROTOCOL_VERSION) {
    throw new Error(
      `the plugin was built against flowhost plugin protocol ${brand.protocolVersion}, this host speaks ${PROTOCOL_VERSION}: rebuild it against a matching @flowhost/sdk`,
    );
  }
  if (brand.group !== start.group) {
    throw new Error(`the module defines a ${brand.group} plugin but is declared under the ${start.group} entry-point group`);
  }
  const context = kind.context.parse(start.context, 'context');
  const implementation = (await definition.create(context as never)) as unknown as AnyImplementation;
  if (typeof implementation !== 'object' || implementation === null) {
    throw new Error(`the plugin's factory returned ${implementation === null ? 'null' : typeof implementation}, not an object of methods`);
  }
  return new RpcServer(dispatchTable(kind, implementation), (frame) => port.postMessage(frame, [frame.buffer as ArrayBuffer]), start.streams);
}

load().then(
  (server) => {
    port.on('message', (data: Uint8Array | HostControlMessage) => {
      if (isFrame(data)) server.receive(data);
      else if (data.type === 'call') server.receiveWithPorts(data.frame, data.ports);
      else if (data.type === 'stats') {
        const memory = process.memoryUsage();
        control({ type: 'stats', heapUsed: memory.heapUsed, heapTotal: memory.heapTotal, external: memory.external, arrayBuffers: memory.arrayBuffers });
      }
    });
    control({ type: 'ready', protocolVersion: PROTOCOL_VERSION, pluginProtocolVersion: PROTOCOL_VERSION, startupMs: performance.now() - startedAt });
  },
  (error: unknown) => {
    const reason = error instanceof Error ? error.message : String(error);
    control({ type: 'start-failed', protocolVersion: PROTOCOL_VERSION, reason });
    // Leave on our own: a plugin may have left timers or handles that would keep the thread alive.
    setImmediate(() => process.exit(1));
  },
);
