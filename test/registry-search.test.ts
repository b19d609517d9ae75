/**
 * Searching the registry (in-process, through the shape's checks): MLflow's filter keys and
 * comparators for registered models and model versions, `order_by` keys and tie-breakers, paging
 * with page tokens, `max_results` bounds, prompts left out, and MLflow's messages for bad input.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import type { ModelVersion, Page, RegisteredModel, RemoteModelRegistryStore } from '@flowhost/sdk';
import { inProcessRegistry, rejects } from './helpers/registry.js';

/**
 * Three models (created in the order charlie, alpha, bravo, so creation order is not name order),
 * a prompt, and versions with runs, sources, tags and stages.
 */
async function populated(t: ExecutionContext): Promise<RemoteModelRegistryStore> {
  const { store } = inProcessRegistry(t);
  await store.createRegisteredModel('charlie', [{ key: 'team', value: 'growth' }], null, null);
  await store.createRegisteredModel(
    'alpha',
    [
      { key: 'team', value: 'risk' },
      { key: 'owner/email', value: 'ann@example.com' },
    ],
    null,
    null,
  );
  await store.createRegisteredModel('bravo', [{ key: 'team', value: 'risk' }], null, null);
  await store.createRegisteredModel('my-prompt', [{ key: 'mlflow.prompt.is_prompt', value: 'true' }], null, null);
  await store.createModelVersion(
    'alpha',
    's3://models/alpha/1',
    'run-a',
    [{ key: 'validated', value: 'yes' }],
    null,
    null,
    null,
    null,
  );
  await store.createModelVersion('alpha', 's3://models/alpha/2', 'run-b', null, null, null, null, null);
  await store.createModelVersion(
    'bravo',
    'file:///models/bravo/1',
    'run-a',
    [{ key: 'validated', value: 'no' }],
    null,
    null,
    null,
    null,
  );
  await store.createModelVersion('alpha', 'gs://models/alpha/3', null, null, null, null, null, null);
  await store.createModelVersion(
    'my-prompt',
    'dummy',
    null,
    [{ key: 'mlflow.prompt.is_prompt', value: 'true' }],
    null,
    null,
    null,
    null,
  );
  await store.transitionModelVersionStage('alpha', '2', 'Production', false);
  return store;
}

const names = (page: Page<RegisteredModel>) => page.items.map((m) => m.name);
const refs = (page: Page<ModelVersion>) => page.items.map((mv) => `${mv.name}/${mv.version}`);

// ---------------------------------------------------------------------------------------------
// Registered models

test('registered models: filters on name and tags, prompts left out', async (t) => {
  const store = await populated(t);
  const search = (filter: string | null) => store.searchRegisteredModels(filter, 100, null, null).then(names);
  t.deepEqual(await search(null), ['alpha', 'bravo', 'charlie']);
  t.deepEqual(await search(''), ['alpha', 'bravo', 'charlie']);
  t.deepEqual(await search("name = 'alpha'"), ['alpha']);
  t.deepEqual(await search('name = "alpha"'), ['alpha'], 'a double-quoted value is accepted, as sqlparse reads it');
  t.deepEqual(await search("name != 'alpha'"), ['bravo', 'charlie']);
  t.deepEqual(await search("name LIKE '%a'"), ['alpha']);
  t.deepEqual(await search("name LIKE 'A%'"), [], 'LIKE is case-sensitive');
  t.deepEqual(await search("name ILIKE 'A%'"), ['alpha']);
  t.deepEqual(await search("name like '_ravo'"), ['bravo'], 'comparators in any case; _ is one character');
  t.deepEqual(await search("tags.team = 'risk'"), ['alpha', 'bravo']);
  t.deepEqual(await search("tag.team = 'risk' AND name != 'bravo'"), ['alpha']);
  t.deepEqual(await search("tags.`owner/email` LIKE '%@example.com'"), ['alpha']);
  t.deepEqual(await search('tags."owner/email" = \'ann@example.com\''), ['alpha']);
  t.deepEqual(await search("tags.missing != 'x'"), [], 'a model without the tag never matches, != included');
  t.deepEqual(await search("attribute.name = 'charlie'"), ['charlie']);
  // The prompt is found only by asking for prompts; MLflow's searches add `!= 'true'` themselves.
  t.deepEqual(await search("name = 'my-prompt'"), []);
  t.deepEqual(await search("tags.`mlflow.prompt.is_prompt` = 'false'"), ['alpha', 'bravo', 'charlie']);
});

test('registered models: bad filters get MLflow’s messages', async (t) => {
  const store = await populated(t);
  const bad = (filter: string, message: string | RegExp) =>
    rejects(t, store.searchRegisteredModels(filter, 100, null, null), 'INVALID_PARAMETER_VALUE', message);
  await bad("name > 'a'", "Invalid comparator '>' not one of '{'!=', '=', 'LIKE', 'ILIKE', 'IN', 'NOT IN'}'");
  await bad("tags.team > 'a'", "Invalid comparator '>' not one of '{'!=', '=', 'LIKE', 'ILIKE'}");
  await bad("description = 'x'", "Invalid attribute key 'description' specified. Valid keys are '{'name'}'");
  await bad(
    'creation_timestamp > 0',
    "Invalid attribute key 'creation_timestamp' specified. Valid keys are '{'name'}'",
  );
  await bad('metrics.acc > 0.5', "Invalid entity type 'metrics'. Valid entity types are ('attribute', 'tag', 'tags')");
  await bad(
    'name = alpha',
    'Parameter value is either not quoted or unidentified quote types used for string value alpha. Use either single or double quotes.',
  );
  await bad('name = 1', 'Expected a quoted string value or a list of quoted string values for attributes. Got value 1');
  await bad('tags.team = 1', "Expected a quoted string value for tag (e.g. 'my-value'). Got value 1");
  await bad(
    "name IN ('alpha', 'bravo')",
    "Only the 'run_id' attribute supports comparison with a list of quoted string values.",
  );
  await bad("name = 'a' OR name = 'b'", 'Invalid clause(s) in filter string: OR');
  await bad(
    "name = 'a'; name = 'b'",
    `Search filter contained multiple expression "name = 'a'; name = 'b'". Provide AND-ed expression list.`,
  );
  await bad("'alpha' = name", "Invalid comparison clause. Expected 'Identifier' found ''alpha''");
  await bad('name', 'Invalid clause(s) in filter string: name');
});

test('registered models: order_by keys, directions, the timestamp alias, name as tie-breaker', async (t) => {
  const store = await populated(t);
  const order = (orderBy: string[] | null) => store.searchRegisteredModels(null, 100, orderBy, null).then(names);
  t.deepEqual(await order(null), ['alpha', 'bravo', 'charlie'], 'by name when no order is given');
  t.deepEqual(await order(['name DESC']), ['charlie', 'bravo', 'alpha']);
  t.deepEqual(await order(['creation_timestamp']), ['charlie', 'alpha', 'bravo']);
  t.deepEqual(await order(['creation_timestamp desc']), ['bravo', 'alpha', 'charlie']);
  // alpha got versions last, so it was updated last.
  t.deepEqual(await order(['last_updated_timestamp DESC']), ['alpha', 'bravo', 'charlie']);
  t.deepEqual(
    await order(['timestamp DESC']),
    ['alpha', 'bravo', 'charlie'],
    '`timestamp` is last_updated_timestamp, as MLflow’s SQL store reads it',
  );
  t.deepEqual(await order(['`name` DESC']), ['charlie', 'bravo', 'alpha']);
  const bad = (orderBy: string, message: string) =>
    rejects(t, store.searchRegisteredModels(null, 100, [orderBy], null), 'INVALID_PARAMETER_VALUE', message);
  await bad(
    'version',
    "Invalid attribute key 'version' specified. Valid keys are '{'name', 'creation_timestamp', 'last_updated_timestamp'}'",
  );
  await bad('name sideways', "Invalid ordering key in order_by clause 'name sideways'.");
  await bad('name DESC extra', "Invalid order_by clause 'name DESC extra'. Could not be parsed.");
  await bad('', "Invalid order_by clause ''. Could not be parsed.");
  await bad('tags.team', 'Invalid order_by entity: tag');
  await bad('params.x', "Invalid entity type 'params'. Valid entity types are ('attribute', 'tag', 'tags')");
});

test('registered models: paging with page tokens, max_results bounds, bad tokens', async (t) => {
  const { store } = inProcessRegistry(t);
  for (const name of ['m1', 'm2', 'm3', 'm4', 'm5']) await store.createRegisteredModel(name, null, null, null);
  const first = await store.searchRegisteredModels(null, 2, null, null);
  t.deepEqual(names(first), ['m1', 'm2']);
  // MLflow's token: base64 of Python's json.dumps({"offset": N}).
  t.is(Buffer.from(first.nextPageToken!, 'base64').toString(), '{"offset": 2}');
  const second = await store.searchRegisteredModels(null, 2, null, first.nextPageToken);
  t.deepEqual(names(second), ['m3', 'm4']);
  const last = await store.searchRegisteredModels(null, 2, null, second.nextPageToken);
  t.deepEqual(names(last), ['m5']);
  t.is(last.nextPageToken, null);
  t.is((await store.searchRegisteredModels(null, 5, null, null)).nextPageToken, null, 'no token when nothing remains');
  t.deepEqual(names(await store.searchRegisteredModels(null, 1000, null, null)), ['m1', 'm2', 'm3', 'm4', 'm5']);
  await rejects(
    t,
    store.searchRegisteredModels(null, 0, null, null),
    'INVALID_PARAMETER_VALUE',
    'Invalid value for max_results. It must be a positive integer, but got 0',
  );
  await rejects(
    t,
    store.searchRegisteredModels(null, -3, null, null),
    'INVALID_PARAMETER_VALUE',
    'Invalid value for max_results. It must be a positive integer, but got -3',
  );
  await rejects(
    t,
    store.searchRegisteredModels(null, 1001, null, null),
    'INVALID_PARAMETER_VALUE',
    'Invalid value for request parameter max_results. It must be at most 1000, but got value 1001',
  );
  await rejects(
    t,
    store.searchRegisteredModels(null, 2, null, 'abc'),
    'INVALID_PARAMETER_VALUE',
    'Invalid page token, could not base64-decode',
  );
  await rejects(
    t,
    store.searchRegisteredModels(null, 2, null, Buffer.from('not json').toString('base64')),
    'INVALID_PARAMETER_VALUE',
    "Invalid page token, decoded value=b'not json'",
  );
});

// ---------------------------------------------------------------------------------------------
// Model versions

test('model versions: filters on name, version_number, run_id, source_path and tags', async (t) => {
  const store = await populated(t);
  const search = (filter: string | null) =>
    store.searchModelVersions(filter, 1000, ['name ASC', 'version_number ASC'], null).then(refs);
  t.deepEqual(await search(null), ['alpha/1', 'alpha/2', 'alpha/3', 'bravo/1']);
  t.deepEqual(await search("name = 'alpha'"), ['alpha/1', 'alpha/2', 'alpha/3']);
  t.deepEqual(await search("name = 'alpha' AND version_number > 1"), ['alpha/2', 'alpha/3']);
  t.deepEqual(await search('version_number = 1'), ['alpha/1', 'bravo/1']);
  t.deepEqual(await search("version_number = '2'"), ['alpha/2'], 'a quoted number compares as an integer');
  t.deepEqual(await search('version_number <= 2 AND version_number != 1'), ['alpha/2']);
  t.deepEqual(await search("run_id = 'run-a'"), ['alpha/1', 'bravo/1']);
  t.deepEqual(await search("run_id IN ('run-b', 'run-x')"), ['alpha/2']);
  t.deepEqual(await search("source_path LIKE 's3://%'"), ['alpha/1', 'alpha/2']);
  t.deepEqual(await search("source_path ILIKE 'GS://%'"), ['alpha/3']);
  t.deepEqual(await search("tags.validated = 'yes'"), ['alpha/1']);
  t.deepEqual(await search("tags.validated != 'yes'"), ['bravo/1'], 'versions without the tag do not match');
  t.deepEqual(await search("run_id != 'run-a'"), ['alpha/2'], 'a version without a run does not match');
  // Deleted versions and prompt versions are never found.
  await store.deleteModelVersion('alpha', '3');
  t.deepEqual(await search("name = 'alpha'"), ['alpha/1', 'alpha/2']);
  t.deepEqual(await search("name = 'my-prompt'"), []);
});

test('model versions: bad filters get MLflow’s messages', async (t) => {
  const store = await populated(t);
  const bad = (filter: string, message: string | RegExp) =>
    rejects(t, store.searchModelVersions(filter, 100, null, null), 'INVALID_PARAMETER_VALUE', message);
  await bad(
    'run_id = 5',
    "Only the '{'version_number', 'creation_timestamp', 'last_updated_timestamp'}' attributes support comparison with numeric values.",
  );
  await bad("run_id NOT IN ('a')", "Invalid comparator 'NOT IN' not one of '{'!=', '=', 'LIKE', 'ILIKE', 'IN'}'");
  await bad("version_number LIKE '1'", "Invalid comparator 'LIKE' not one of '{'>', '>=', '!=', '=', '<', '<='}");
  await bad("version_number = 'one'", 'Expected numeric value type for numeric attribute: version_number. Found one');
  await bad(
    "version_number IN ('1')",
    "Only the 'run_id' attribute supports comparison with a list of quoted string values.",
  );
  await bad(
    "current_stage = 'Production'",
    "Invalid attribute key 'current_stage' specified. Valid keys are '{'name', 'version_number', 'run_id', 'source_path'}'",
  );
  await bad(
    'run_id IN ()',
    'While parsing a list in the query, expected a non-empty list of string values, but got empty list',
  );
  await bad(
    "run_id IN ('a' 'b')",
    'While parsing a list in the query, expected a non-empty list of string values, but got ill-formed list.',
  );
  await bad(
    'run_id IN (1, 2)',
    'While parsing a list in the query, expected string value, punctuation, or whitespace, but got different type in list: (1, 2)',
  );
});

test('model versions: default order (last updated first), order_by keys, version number descending as tie-breaker', async (t) => {
  const store = await populated(t);
  const order = (orderBy: string[] | null) => store.searchModelVersions(null, 1000, orderBy, null).then(refs);
  // alpha/2 was moved to Production last, so it was updated last.
  t.deepEqual(await order(null), ['alpha/2', 'alpha/3', 'bravo/1', 'alpha/1']);
  t.deepEqual(await order([]), ['alpha/2', 'alpha/3', 'bravo/1', 'alpha/1']);
  t.deepEqual(await order(['name DESC']), ['bravo/1', 'alpha/3', 'alpha/2', 'alpha/1']);
  t.deepEqual(await order(['version_number ASC']), ['alpha/1', 'bravo/1', 'alpha/2', 'alpha/3']);
  t.deepEqual(await order(['creation_timestamp DESC']), ['alpha/3', 'bravo/1', 'alpha/2', 'alpha/1']);
  t.deepEqual(await order(['name']), ['alpha/3', 'alpha/2', 'alpha/1', 'bravo/1']);
  await rejects(
    t,
    store.searchModelVersions(null, 10, ['run_id'], null),
    'INVALID_PARAMETER_VALUE',
    "Invalid attribute key 'run_id' specified. Valid keys are '{'name', 'version_number', 'creation_timestamp', 'last_updated_timestamp'}'",
  );
  await rejects(
    t,
    store.searchModelVersions(null, 10, ['tags.validated DESC'], null),
    'INVALID_PARAMETER_VALUE',
    'Invalid order_by entity: tag',
  );
});

test('model versions: paging and max_results bounds', async (t) => {
  const store = await populated(t);
  const pages: string[][] = [];
  let token: string | null = null;
  do {
    const page: Page<ModelVersion> = await store.searchModelVersions(null, 3, ['version_number ASC'], token);
    pages.push(refs(page));
    token = page.nextPageToken;
  } while (token);
  t.deepEqual(pages, [['alpha/1', 'bravo/1', 'alpha/2'], ['alpha/3']]);
  t.is((await store.searchModelVersions(null, 200000, null, null)).items.length, 4);
  await rejects(
    t,
    store.searchModelVersions(null, 200001, null, null),
    'INVALID_PARAMETER_VALUE',
    'Invalid value for request parameter max_results. It must be at most 200000, but got value 200001',
  );
  await rejects(
    t,
    store.searchModelVersions(null, 0, null, null),
    'INVALID_PARAMETER_VALUE',
    'Invalid value for max_results. It must be a positive integer, but got 0',
  );
});
