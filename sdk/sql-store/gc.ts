/**
 * MLflow's `mlflow gc` (`mlflow/cli/__init__.py`, `_gc_tracking_resources`) for the SQL tracking
 * store: permanently delete runs and experiments in the `deleted` lifecycle stage (all of them, or
 * the ids given, or those deleted longer ago than `--older-than`), with their artifacts when those
 * are local files. MLflow's rules and messages: a given run or experiment that is not deleted, or
 * not old enough, stops the whole collection before anything is removed.
 */
import { rmSync } from 'node:fs';
import { MlflowError } from '../errors.js';
import { isLocalUri, localPathOfFileUri } from '../mlflow/uri.js';
import { pythonRepr } from '../mlflow/python.js';
import type { SqlTrackingStore } from './tracking.js';

/** MLflow's `--older-than`: `#d#h#m#s`, each part optional, decimals allowed (`1.5d`, `2d8h5m20s`). */
export function parseOlderThan(text: string): number {
  const match = /^(?:([.\d]+?)d)?(?:([.\d]+?)h)?(?:([.\d]+?)m)?(?:([.\d]+?)s)?$/.exec(text);
  const parts = match?.slice(1).map((part) => (part === undefined ? 0 : Number(part)));
  if (!match || !parts || parts.some((part) => Number.isNaN(part))) {
    throw MlflowError.invalidParameterValue(
      `Could not parse any time information from '${text}'. Examples of valid strings: '8h', '2d8h5m20s', '2m4s'`,
    );
  }
  const [days, hours, minutes, seconds] = parts;
  return Math.trunc((((days * 24 + hours) * 60 + minutes) * 60 + seconds) * 1000);
}

export interface GcOptions {
  olderThan?: string | null;
  runIds?: string[] | null;
  experimentIds?: string[] | null;
  /** One line per permanent deletion (MLflow's echo). */
  report?: (line: string) => void;
}

export async function garbageCollect(
  store: SqlTrackingStore,
  options: GcOptions,
): Promise<{ runs: string[]; experiments: string[] }> {
  const report = options.report ?? (() => undefined);
  const olderThan = options.olderThan ?? null;
  const delta = olderThan ? parseOlderThan(olderThan) : 0;
  const oldEnough = new Set(await store.deletedRunIds(delta));
  const runIds = options.runIds ? [...options.runIds] : [...oldEnough];
  const threshold = Date.now() - delta;
  let experimentIds: string[];
  if (options.experimentIds) {
    const experiments = await Promise.all(options.experimentIds.map((id) => store.getExperiment(id)));
    const active = experiments.filter((e) => e.lifecycleStage !== 'deleted').map((e) => e.experimentId);
    if (active.length > 0) {
      throw MlflowError.invalidParameterValue(
        `Experiments ${pythonRepr(active)} are not in the deleted lifecycle stage. Only experiments in the deleted lifecycle stage can be hard-deleted.`,
      );
    }
    if (olderThan) {
      const young = experiments
        .filter((e) => e.lastUpdateTime === null || e.lastUpdateTime >= threshold)
        .map((e) => e.experimentId);
      if (young.length > 0) {
        throw MlflowError.invalidParameterValue(
          `Experiments ${pythonRepr(young)} are not older than the required age. Only experiments older than ${olderThan} can be deleted.`,
        );
      }
    }
    experimentIds = [...options.experimentIds];
  } else {
    experimentIds = [];
    let token: string | null = null;
    do {
      const page = await store.searchExperiments(
        'DELETED_ONLY',
        1000,
        olderThan ? `last_update_time < ${threshold}` : null,
        null,
        token,
      );
      experimentIds.push(...page.items.map((e) => e.experimentId));
      token = page.nextPageToken;
    } while (token);
  }
  if (experimentIds.length > 0) {
    let token: string | null = null;
    do {
      const page = await store.searchRuns(experimentIds, null, 'DELETED_ONLY', 1000, null, token);
      runIds.push(...page.items.map((run) => run.info.runId));
      token = page.nextPageToken;
    } while (token);
  }
  const unique = [...new Set(runIds)];
  // Every check before the first deletion: a refused collection removes nothing.
  const runs = [];
  for (const runId of unique) {
    const run = await store.getRun(runId);
    if (run.info.lifecycleStage !== 'deleted') {
      throw new MlflowError(
        `Run ${runId} is not in \`deleted\` lifecycle stage. Only runs in \`deleted\` lifecycle stage can be deleted.`,
      );
    }
    if (olderThan && !oldEnough.has(runId)) {
      throw MlflowError.invalidParameterValue(
        `Run ${runId} is not older than the required age. Only runs older than ${olderThan} can be deleted.`,
      );
    }
    runs.push(run);
  }
  for (const run of runs) {
    const uri = run.info.artifactUri;
    if (uri && isLocalUri(uri))
      rmSync(uri.startsWith('file:') ? localPathOfFileUri(uri) : uri, { recursive: true, force: true });
    else if (uri) report(`Artifacts of run ${run.info.runId} at ${uri} are not local files: left in place.`);
    await store.hardDeleteRun(run.info.runId);
    report(`Run with ID ${run.info.runId} has been permanently deleted.`);
  }
  for (const experimentId of experimentIds) {
    await store.hardDeleteExperiment(experimentId);
    report(`Experiment with ID ${experimentId} has been permanently deleted.`);
  }
  return { runs: runs.map((run) => run.info.runId), experiments: experimentIds };
}
