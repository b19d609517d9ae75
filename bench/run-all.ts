/** `npm run bench`: every benchmark, one after the other (they would distort each other in parallel). */
import { runArtifactsBench } from './artifacts.js';
import { runChildTransportsBench } from './child-transports.js';
import { runFileStoreBench } from './file-store.js';
import { runIsolationBench } from './isolation.js';
import { runKernelBench } from './kernel.js';
import { runNamedArgsBench } from './named-args.js';
import { runSqlStoreBench } from './sql-store.js';
import { runS3Bench } from './s3.js';
import { runScaleoutBench } from './scaleout.js';
import { runServerBench } from './server.js';
import { runThroughputBench } from './throughput.js';
import { runTrackingBench } from './tracking.js';
import { runUiBench } from './ui.js';

await runKernelBench();
await runTrackingBench();
await runFileStoreBench();
await runThroughputBench();
runNamedArgsBench();
await runArtifactsBench();
await runIsolationBench();
await runChildTransportsBench();
await runSqlStoreBench();
await runS3Bench();
await runUiBench();
await runServerBench();
await runScaleoutBench();
