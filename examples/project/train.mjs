// The example project's command: a toy training loop that logs its loss, step by step, into the
// run the backend hands over in MLFLOW_RUN_ID, through flowhost's own fluent API (build first:
// `node build.mjs`). Run by hand, without MLFLOW_RUN_ID, it starts a run of its own.
import { parseArgs } from 'node:util';
import { mlflow } from '../../dist/host/index.js';

const { values } = parseArgs({
  options: { alpha: { type: 'string', default: '0.5' }, epochs: { type: 'string', default: '3' } },
});
const alpha = Number(values.alpha);
const epochs = Number(values.epochs);

try {
  const run = await mlflow.startRun({ runId: process.env.MLFLOW_RUN_ID });
  console.log(`training in run ${run.info.runId} with alpha=${alpha} for ${epochs} epochs`);
  let loss = 1;
  for (let step = 0; step < epochs; step++) {
    loss *= 1 - alpha / 2;
    await mlflow.logMetric('loss', loss, { step });
    console.log(`epoch ${step}: loss ${loss.toFixed(4)}`);
  }
  await mlflow.endRun();
} finally {
  await mlflow.shutdown();
}
