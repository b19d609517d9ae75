/**
 * flowhost's quickstart, mirroring MLflow's `examples/quickstart/mlflow_tracking.py`: a param, a
 * metric at several steps, and a text output logged as an artifact (`logArtifacts('outputs')`),
 * through the sandboxed `file-plugin` tracking store into MLflow's own on-disk format.
 *
 *   npm run quickstart                                   # → file-plugin:<cwd>/mlruns
 *   MLFLOW_TRACKING_URI=file-plugin:/tmp/x npm run quickstart
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { isMlflowError, mlflow } from '../../host/index.js';

if (!process.env.MLFLOW_TRACKING_URI) mlflow.setTrackingUri(`file-plugin:${resolve('mlruns')}`);

try {
  const run = await mlflow.startRun();
  const param1 = Math.floor(Math.random() * 101);
  await mlflow.logParam('param1', param1);
  const foo = [Math.random(), Math.random() + 1, Math.random() + 2];
  for (const [step, value] of foo.entries()) await mlflow.logMetric('foo', value, { step });

  mkdirSync('outputs', { recursive: true });
  writeFileSync('outputs/test.txt', 'hello world!');
  // As MLflow's quickstart: the run's artifact URI comes from the tracking store, and the
  // repository serving it (here the built-in local one, for its file: URI) from its scheme.
  await mlflow.logArtifacts('outputs');
  const artifacts = await mlflow.listArtifacts();

  const { info } = run;
  await mlflow.endRun();
  const stored = await mlflow.getRun(info.runId);
  const client = await mlflow.client();
  const history = await client.getMetricHistory(info.runId, 'foo');

  console.log(`Logged run ${info.runId} ("${stored.info.runName}") to ${mlflow.getTrackingUri()}`);
  console.log(`  experiment:  ${info.experimentId}`);
  console.log(`  status:      ${stored.info.status}`);
  console.log(`  params:      param1=${stored.data.params.param1}`);
  console.log(`  metric foo:  ${history.map((m) => `step ${m.step}: ${m.value.toFixed(4)}`).join(', ')}`);
  console.log(
    `  artifacts:   ${artifacts.map((a) => `${a.path} (${a.fileSize} bytes)`).join(', ')} logged from ${resolve('outputs')}`,
  );
  console.log(`               to ${stored.info.artifactUri}`);
  console.log(`  run folder:  ${stored.info.artifactUri.replace(/\/artifacts$/, '')}`);
} catch (error) {
  // A person reads this: MLflow's code and message, not a stack trace.
  console.error(isMlflowError(error) ? `Error: ${error.errorCode}: ${error.message.trim()}` : error);
  process.exitCode = 1;
} finally {
  await mlflow.shutdown();
}
