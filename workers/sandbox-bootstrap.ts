/**
 * The `sandbox` level's entry point: a worker thread like `worker`'s, but the plugin is evaluated
 * in a SES Compartment after `lockdown()` (sandbox.ts). A separate bundle, so a plain worker does
 * not pay for parsing SES.
 */
import { workerData } from 'node:worker_threads';
import type { WorkerStartData } from '../wire/protocol.js';
import { loadSandboxed } from './sandbox.js';
import { serveThread } from './thread-server.js';

const start = workerData as WorkerStartData;
serveThread(start, loadSandboxed(start));
