/** `flowhost experiments …` and `flowhost runs …`, named and flagged as MLflow's CLI. */
import { MlflowError, VIEW_TYPES, type Experiment, type Metric, type Run, type ViewType } from '@flowhost/sdk';
import { stringifyMlflowJson, toMlflowJson } from '@flowhost/sdk/mlflow';
import type { TrackingClient } from '../client/tracking-client.js';
import { JSON_OPTION, allPages, iso, table, type Command, type CommandContext, type OptionSpec } from './command.js';

const VIEW: Record<string, OptionSpec> = {
  view: { type: 'string', short: 'v', description: 'active_only (default), deleted_only or all' },
};

function viewType(context: CommandContext): ViewType {
  const raw = (context.values.view as string | undefined) ?? 'active_only';
  const upper = raw.toUpperCase() as ViewType;
  if (!VIEW_TYPES.includes(upper))
    throw MlflowError.invalidParameterValue(`Invalid view type '${raw}': use active_only, deleted_only or all.`);
  return upper;
}

export const trackingCommands: Command[] = [
  {
    path: ['experiments', 'search'],
    readsStore: 'tracking',
    summary: 'List experiments.',
    options: { ...VIEW, ...JSON_OPTION },
    async run(context) {
      const client = await context.tracking();
      const view = viewType(context);
      const experiments = await allPages((pageToken) => client.searchExperiments({ viewType: view, pageToken }));
      if (context.values.json)
        return context.out(
          stringifyMlflowJson(
            experiments.map((e) => toMlflowJson('experiment', e)),
            2,
          ),
        );
      context.out(
        table([
          ['Experiment Id', 'Name', 'Artifact Location'],
          ...experiments.map((e: Experiment) => [e.experimentId, e.name, e.artifactLocation]),
        ]),
      );
    },
  },
  {
    path: ['experiments', 'create'],
    summary: 'Create an experiment.',
    options: {
      'experiment-name': { type: 'string', short: 'n', description: 'name of the new experiment', required: true },
      'artifact-location': { type: 'string', short: 'l', description: 'where its runs store artifacts' },
    },
    async run(context) {
      const client = await context.tracking();
      const id = await client.createExperiment(context.values['experiment-name'] as string, {
        artifactLocation: (context.values['artifact-location'] as string) ?? null,
      });
      context.out(`Created experiment '${context.values['experiment-name']}' with id ${id}`);
    },
  },
  {
    path: ['experiments', 'delete'],
    summary: 'Mark an experiment deleted (it moves to .trash and can be restored).',
    options: { 'experiment-id': { type: 'string', short: 'x', description: 'experiment id', required: true } },
    async run(context) {
      await (await context.tracking()).deleteExperiment(context.values['experiment-id'] as string);
      context.out(`Experiment with ID ${context.values['experiment-id']} has been deleted.`);
    },
  },
  {
    path: ['experiments', 'restore'],
    summary: 'Restore a deleted experiment.',
    options: { 'experiment-id': { type: 'string', short: 'x', description: 'experiment id', required: true } },
    async run(context) {
      await (await context.tracking()).restoreExperiment(context.values['experiment-id'] as string);
      context.out(`Experiment with id ${context.values['experiment-id']} has been restored.`);
    },
  },
  {
    path: ['experiments', 'rename'],
    summary: 'Rename an experiment.',
    options: {
      'experiment-id': { type: 'string', short: 'x', description: 'experiment id', required: true },
      'new-name': { type: 'string', description: 'its new name', required: true },
    },
    async run(context) {
      await (
        await context.tracking()
      ).renameExperiment(context.values['experiment-id'] as string, context.values['new-name'] as string);
      context.out(
        `Experiment with id ${context.values['experiment-id']} has been renamed to '${context.values['new-name']}'.`,
      );
    },
  },
  {
    path: ['runs', 'list'],
    readsStore: 'tracking',
    summary: 'List the runs of an experiment.',
    options: {
      'experiment-id': { type: 'string', description: 'experiment id', required: true },
      ...VIEW,
      ...JSON_OPTION,
    },
    async run(context) {
      const client = await context.tracking();
      const view = viewType(context);
      const runs = await allPages((pageToken) =>
        client.searchRuns([context.values['experiment-id'] as string], { runViewType: view, pageToken }),
      );
      if (context.values.json)
        return context.out(
          stringifyMlflowJson(
            runs.map((r) => toMlflowJson('runInfo', r.info)),
            2,
          ),
        );
      context.out(
        table([
          ['Date', 'Name', 'ID', 'Status'],
          ...runs.map((r: Run) => [iso(r.info.startTime), r.info.runName, r.info.runId, r.info.status]),
        ]),
      );
    },
  },
  {
    path: ['runs', 'describe'],
    readsStore: 'tracking',
    summary: 'Show a run: its info, params, latest metrics and tags.',
    options: { 'run-id': { type: 'string', description: 'run id', required: true }, ...JSON_OPTION },
    async run(context) {
      const client = await context.tracking();
      const run = await client.getRun(context.values['run-id'] as string);
      if (context.values.json)
        return context.out(
          stringifyMlflowJson(toMlflowJson('run', run, { latestMetrics: await latestMetrics(client, run) }), 2),
        );
      const { info, data } = run;
      context.out(`Run ${info.runId} ("${info.runName}")`);
      context.out(
        table([
          ['  experiment', info.experimentId],
          ['  status', info.status],
          ['  lifecycle', info.lifecycleStage],
          ['  user', info.userId],
          ['  started', iso(info.startTime)],
          ['  ended', iso(info.endTime)],
          ['  artifacts', info.artifactUri],
        ]),
      );
      for (const [title, values] of [
        ['Params', data.params],
        ['Metrics (latest)', data.metrics],
        ['Tags', data.tags],
      ] as const) {
        const entries = Object.entries(values).sort(([a], [b]) => a.localeCompare(b));
        context.out(`${title}:${entries.length ? '' : ' none'}`);
        if (entries.length) context.out(table(entries.map(([k, v]) => [`  ${k}`, String(v)])));
      }
    },
  },
  {
    path: ['runs', 'delete'],
    summary: 'Mark a run deleted.',
    options: { 'run-id': { type: 'string', description: 'run id', required: true } },
    async run(context) {
      await (await context.tracking()).deleteRun(context.values['run-id'] as string);
      context.out(`Run with ID ${context.values['run-id']} has been deleted.`);
    },
  },
  {
    path: ['runs', 'restore'],
    summary: 'Restore a deleted run.',
    options: { 'run-id': { type: 'string', description: 'run id', required: true } },
    async run(context) {
      await (await context.tracking()).restoreRun(context.values['run-id'] as string);
      context.out(`Run with ID ${context.values['run-id']} has been restored.`);
    },
  },
];

/**
 * The run's latest metrics with their step and timestamp, as MLflow's run data has them: of each
 * key's history, the point the store reported as latest (its value), the highest (step, timestamp).
 */
async function latestMetrics(client: TrackingClient, run: Run): Promise<Metric[]> {
  return Promise.all(
    Object.entries(run.data.metrics).map(async ([key, value]) => {
      const matching = (await client.getMetricHistory(run.info.runId, key)).filter((m) => Object.is(m.value, value));
      const newest = matching.reduce<Metric | undefined>(
        (best, m) => (!best || m.step > best.step || (m.step === best.step && m.timestamp > best.timestamp) ? m : best),
        undefined,
      );
      return newest ?? { key, value, timestamp: 0, step: 0 };
    }),
  );
}
