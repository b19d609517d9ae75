/** `npm run bench`: every benchmark, one after the other (they would distort each other in parallel). */
import { runKernelBench } from './kernel.js';

await runKernelBench();
