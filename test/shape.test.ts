/**
 * The shape declares each method's arguments by name: errors name them, named calls are mapped to
 * positions by them, and every kind uses MLflow's own parameter names (camelCased).
 */
import test from 'ava';
import {
  KINDS,
  PLUGIN_GROUPS,
  bindInProcess,
  defineKind,
  describeMethod,
  method,
  namedRemote,
  positional,
  s,
  trackingStore,
  type Implementation,
  type MethodShape,
} from '@flowhost/sdk';

const kind = defineKind({
  group: 'tracking_store',
  context: s.object({}),
  contextForUri: () => ({}),
  naming: 'uri-scheme',
  methods: {
    search: method({
      args: [
        ['experimentIds', s.array(s.string())],
        ['maxResults', s.integer()],
        ['pageToken', s.nullable(s.string())],
      ],
      result: s.array(s.unknown()),
      doc: '→ what was asked, as received',
    }),
    echo: method({ args: [['text', s.string()]], result: s.string(), doc: '→ the text', optional: true }),
  },
  fallbacks: {
    // `self` is the kind's implementation: its methods are typed, no cast.
    echo: (self) => async (text) => `${(await self.search([text], 1, null)).length}:${text}`,
  },
});

const implementation: Implementation<typeof kind> = { search: (ids, max, token) => [ids, max, token] };

test('a bad argument is named in the error, with the path inside it', async (t) => {
  const remote = bindInProcess(kind, implementation);
  const error = await t.throwsAsync(remote.search(['a', 7 as unknown as string], 10, null));
  t.is(error?.message, "search: Invalid value number 7 for parameter 'experimentIds[1]' supplied: expected string");
  const tooMany = await t.throwsAsync((remote.search as (...a: unknown[]) => Promise<unknown>)([], 1, null, 'extra'));
  t.is(tooMany?.message, 'search takes at most 3 argument(s) (experimentIds, maxResults, pageToken), got 4');
});

test('named arguments map to positions; left out is null; an unknown name is refused with the known ones', async (t) => {
  const shape = kind.methods.search;
  t.deepEqual(shape.argNames, ['experimentIds', 'maxResults', 'pageToken']);
  t.deepEqual(positional('search', shape, { maxResults: 5, experimentIds: ['1'] }), [['1'], 5, null]);
  const error = t.throws(() => positional('search', shape, { maxResult: 5 } as never));
  t.is(error?.message, "search has no argument 'maxResult'; its arguments are: experimentIds, maxResults, pageToken");
  t.is((error as { errorCode?: string }).errorCode, 'INVALID_PARAMETER_VALUE');

  const named = namedRemote(kind, bindInProcess(kind, implementation));
  t.deepEqual(await named.search({ experimentIds: ['0'], maxResults: 3 }), [['0'], 3, null]);
  await t.throwsAsync(named.search({ experimentIds: ['0'] } as never), {
    message: /parameter 'maxResults' supplied: expected integer/,
  });
  // The fallback reached through the typed `self`.
  t.is(await named.echo({ text: 'x' }), '3:x');
});

test('a kind refuses a fallback on a required method, or an optional method without one', (t) => {
  const declare = (methods: Record<string, MethodShape>, fallbacks: Record<string, unknown>) => () =>
    defineKind({
      group: 'tracking_store',
      context: s.object({}),
      contextForUri: () => ({}),
      naming: 'uri-scheme',
      methods,
      fallbacks,
    } as never);
  t.throws(declare({ m: method({ args: [], result: s.none(), doc: 'x' }) }, { m: () => () => undefined }), {
    message: /a required method has no fallback/,
  });
  t.throws(declare({ m: method({ args: [], result: s.none(), doc: 'x', optional: true }) }, {}), {
    message: /an optional method needs a fallback/,
  });
  t.throws(
    () =>
      method({
        args: [
          ['a', s.string()],
          ['a', s.string()],
        ],
        result: s.none(),
        doc: 'x',
      }),
    { message: /argument names repeat/ },
  );
});

test('every kind names every argument, and descriptions come from the names', (t) => {
  for (const group of PLUGIN_GROUPS) {
    t.is(KINDS[group].group, group);
    for (const [name, shape] of Object.entries(KINDS[group].methods)) {
      t.is(shape.argNames.length, shape.argSchemas.length, name);
      for (const arg of shape.argNames) t.regex(arg, /^[a-z][A-Za-z]*$/, `${group}.${name}: ${arg} is camelCase`);
      t.true(shape.doc.length > 0, `${group}.${name} has a doc`);
    }
  }
  // MLflow's names, e.g. `AbstractStore.search_runs(experiment_ids, filter_string, run_view_type, max_results, order_by, page_token)`.
  t.deepEqual(trackingStore.methods.searchRuns.argNames, [
    'experimentIds',
    'filterString',
    'runViewType',
    'maxResults',
    'orderBy',
    'pageToken',
  ]);
  t.is(trackingStore.methods.logMetric.orderedBy, 0);
  t.is(
    describeMethod('getRun', trackingStore.methods.getRun),
    'getRun(runId) → Run with the latest value of each metric',
  );
  t.is(describeMethod('deleteRun', trackingStore.methods.deleteRun), 'deleteRun(runId): soft delete');
});
