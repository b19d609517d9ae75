/** `npm run bench`: every benchmark, one after the other (they would distort each other in parallel). */
import { runArtifactsBench } from './artifacts.js';
import { runIsolationBench } from './isolation.js';
import { runKernelBench } from './kernel.js';
import { runServerBench } from './server.js';
import { runThroughputBench } from './throughput.js';
import { runTrackingBench } from './tracking.js';

await runKernelBench();
await runTrackingBench();
await runThroughputBench();
await runArtifactsBench();
await runIsolationBench();
await runServerBench();
