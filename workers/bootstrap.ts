/**
 * The `worker` level's entry point: load the plugin named in `workerData` (an ordinary import) and
 * serve it (thread-server.ts). The plugin can use Node directly here; `capabilities` of
 * @flowhost/sdk are installed anyway, with the grants enforced, so a plugin that keeps to them
 * behaves here exactly as it will in a sandbox.
 */
import { workerData } from 'node:worker_threads';
import { createCapabilities, installCapabilities } from './capabilities.js';
import { loadPlugin } from './loader.js';
import type { WorkerStartData } from '../wire/protocol.js';
import { serveThread } from './thread-server.js';

const start = workerData as WorkerStartData;
installCapabilities(globalThis, createCapabilities(start.capabilities));
serveThread(start, loadPlugin(start));
