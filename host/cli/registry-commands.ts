/**
 * `flowhost registry …`: read the model registry from the command line. MLflow's CLI has no
 * registry commands; these follow the style of `experiments` and `runs` (a table for people,
 * `--json` for machines) and resolve the registry URI as MLflow's client does.
 */
import type { ModelVersion, RegisteredModel } from '@flowhost/sdk';
import { stringifyMlflowJson, toMlflowJson } from '@flowhost/sdk/mlflow';
import { RegistryClient } from '../client/registry-client.js';
import { resolveRegistryUri } from '../client/registry-uri.js';
import { resolveTrackingUri } from '../client/tracking-uri.js';
import {
  JSON_OPTION,
  allPages,
  iso,
  table as alignedTable,
  type Command,
  type CommandContext,
  type OptionSpec,
} from './command.js';

const REGISTRY_URI: Record<string, OptionSpec> = {
  'registry-uri': { type: 'string', description: 'registry URI (default: MLFLOW_REGISTRY_URI, else the tracking URI)' },
};

/** The largest pages the searches allow: the CLI lists everything, in as few calls as it can. */
const MODEL_PAGE = 1000;
const VERSION_PAGE = 200000;

async function registry(context: CommandContext): Promise<RegistryClient> {
  const trackingUri = (context.values['tracking-uri'] as string | undefined) ?? resolveTrackingUri();
  const registryUri = resolveRegistryUri({
    explicit: context.values['registry-uri'] as string | undefined,
    trackingUri,
  });
  return new RegistryClient(await context.host().registryStore(registryUri, { trackingUri }), registryUri);
}

/**
 * Every live version of one model. MLflow's filter strings cannot escape a quote, so a name holding
 * both kinds is matched here instead of in the filter.
 */
async function versionsOf(client: RegistryClient, name: string): Promise<ModelVersion[]> {
  await client.getRegisteredModel(name); // a missing model is an error, not an empty list
  const filterString = !name.includes("'") ? `name = '${name}'` : !name.includes('"') ? `name = "${name}"` : null;
  const versions = await allPages((pageToken) =>
    client.searchModelVersions({ filterString, maxResults: VERSION_PAGE, orderBy: ['version_number DESC'], pageToken }),
  );
  return versions.filter((mv) => mv.name === name);
}

/** An aligned table without the padding an empty last cell leaves at the end of its line. */
const table = (rows: string[][]) =>
  alignedTable(rows)
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n');

const pairs = (record: Record<string, string>, separator = '=') =>
  Object.entries(record)
    .map(([key, value]) => `${key}${separator}${value}`)
    .join(', ');
const latest = (model: RegisteredModel) =>
  model.latestVersions.map((mv) => `${mv.version} (${mv.currentStage ?? 'None'})`).join(', ');

export const registryCommands: Command[] = [
  {
    path: ['registry', 'list'],
    readsStore: 'registry',
    summary: 'List registered models.',
    options: { ...REGISTRY_URI, ...JSON_OPTION },
    async run(context) {
      const client = await registry(context);
      const models = await allPages((pageToken) =>
        client.searchRegisteredModels({ maxResults: MODEL_PAGE, orderBy: ['name ASC'], pageToken }),
      );
      if (context.values.json)
        return void context.out(
          stringifyMlflowJson(
            models.map((m) => toMlflowJson('registeredModel', m)),
            2,
          ),
        );
      if (models.length === 0) return void context.out(`No registered models in ${client.registryUri}.`);
      context.out(
        table([
          ['Name', 'Latest Versions', 'Aliases', 'Last Updated'],
          ...models.map((m) => [m.name, latest(m), pairs(m.aliases, ' → v'), iso(m.lastUpdatedTimestamp)]),
        ]),
      );
    },
  },
  {
    path: ['registry', 'show'],
    readsStore: 'registry',
    summary: 'Show a registered model: description, tags, aliases, latest version of each stage.',
    positionals: ['NAME'],
    options: { ...REGISTRY_URI, ...JSON_OPTION },
    async run(context) {
      const model = await (await registry(context)).getRegisteredModel(context.positionals[0]);
      if (context.values.json) return void context.out(stringifyMlflowJson(toMlflowJson('registeredModel', model), 2));
      context.out(`Registered model '${model.name}'`);
      context.out(
        table([
          ['  description', model.description ?? ''],
          ['  created', iso(model.creationTimestamp)],
          ['  last updated', iso(model.lastUpdatedTimestamp)],
        ]),
      );
      const tags = Object.entries(model.tags);
      context.out(`Tags:${tags.length ? '' : ' none'}`);
      if (tags.length) context.out(table(tags.map(([key, value]) => [`  ${key}`, value])));
      const aliases = Object.entries(model.aliases);
      context.out(`Aliases:${aliases.length ? '' : ' none'}`);
      if (aliases.length) context.out(table(aliases.map(([alias, version]) => [`  ${alias}`, `version ${version}`])));
      context.out(`Latest versions:${model.latestVersions.length ? '' : ' none'}`);
      if (model.latestVersions.length) {
        context.out(
          table([
            ['  Version', 'Stage', 'Status', 'Source'],
            ...model.latestVersions.map((mv) => [`  ${mv.version}`, mv.currentStage ?? '', mv.status, mv.source ?? '']),
          ]),
        );
      }
    },
  },
  {
    path: ['registry', 'versions'],
    readsStore: 'registry',
    summary: 'List the versions of a registered model with their stage, status, source and tags.',
    positionals: ['NAME'],
    options: { ...REGISTRY_URI, ...JSON_OPTION },
    async run(context) {
      const name = context.positionals[0];
      const versions = await versionsOf(await registry(context), name);
      if (context.values.json)
        return void context.out(
          stringifyMlflowJson(
            versions.map((v) => toMlflowJson('modelVersion', v)),
            2,
          ),
        );
      if (versions.length === 0) return void context.out(`Registered model '${name}' has no versions.`);
      context.out(
        table([
          ['Version', 'Stage', 'Status', 'Aliases', 'Source', 'Tags'],
          ...versions.map((mv) => [
            mv.version,
            mv.currentStage ?? '',
            mv.status,
            mv.aliases.join(', '),
            mv.source ?? '',
            pairs(mv.tags),
          ]),
        ]),
      );
    },
  },
];
