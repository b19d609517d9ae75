/**
 * An experiment's runs: a virtualised table (10,000 runs scroll with a few dozen rows in the page),
 * columns the user picks among params, latest metrics and tags, server-side sort and MLflow's filter
 * syntax with its errors shown inline, pages loaded as the table scrolls, and a selection to chart
 * or compare.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, metricValue, type Experiment, type Run } from '../api.js';
import { ErrorNote } from '../components/error-note.js';
import { VirtualList } from '../components/virtual-list.js';
import { formatDuration, formatNumber, formatTime } from '../format.js';
import { href, navigate } from '../router.js';

type ColumnKind = 'metrics' | 'params' | 'tags';
interface Column {
  readonly kind: ColumnKind;
  readonly key: string;
}

const PAGE = 1000;
const ROW_HEIGHT = 30;
const ATTRIBUTES = [
  { title: 'Run name', sort: 'attributes.run_name', width: '220px' },
  { title: 'Created', sort: 'attributes.start_time', width: '160px' },
  { title: 'Duration', sort: null, width: '80px' },
  { title: 'Status', sort: 'attributes.status', width: '90px' },
  { title: 'User', sort: 'attributes.user_id', width: '110px' },
] as const;

const columnId = (c: Column) => `${c.kind}.${c.key}`;
/** MLflow's order_by names a key with backquotes when it has characters outside identifiers. */
const orderName = (c: Column) => `${c.kind}.\`${c.key.replace(/`/g, '')}\``;

function cell(run: Run, column: Column): string {
  const list = run.data[column.kind] as { key: string; value: number | string }[] | undefined;
  const found = list?.find((entry) => entry.key === column.key);
  if (!found) return '';
  return column.kind === 'metrics' ? formatNumber(metricValue(found.value)) : String(found.value);
}

export function RunsPage({ experimentId }: { experimentId: string }) {
  const [experiment, setExperiment] = useState<Experiment | null>(null);
  const [runs, setRuns] = useState<Run[]>([]);
  const [nextPage, setNextPage] = useState<string | undefined>();
  const [loading, setLoading] = useState(true);
  const [filter, setFilter] = useState('');
  const [viewType, setViewType] = useState('ACTIVE_ONLY');
  const [orderBy, setOrderBy] = useState<{ name: string; asc: boolean } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [filterError, setFilterError] = useState<unknown>(null);
  const [columns, setColumns] = useState<Column[] | null>(null);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [picking, setPicking] = useState(false);
  const generation = useRef(0);

  useEffect(() => {
    api.getExperiment(experimentId).then((a) => setExperiment(a.experiment), setError);
  }, [experimentId]);

  const query = (pageToken?: string) =>
    api.searchRuns({
      experiment_ids: [experimentId],
      filter: filter || undefined,
      run_view_type: viewType,
      max_results: PAGE,
      order_by: orderBy ? [`${orderBy.name} ${orderBy.asc ? 'ASC' : 'DESC'}`] : undefined,
      page_token: pageToken,
    });

  useEffect(() => {
    const mine = ++generation.current;
    setLoading(true);
    setFilterError(null);
    query().then(
      (page) => {
        if (mine !== generation.current) return;
        setRuns(page.runs ?? []);
        setNextPage(page.next_page_token);
        setLoading(false);
      },
      (e) => {
        if (mine !== generation.current) return;
        setFilterError(e);
        setRuns([]);
        setNextPage(undefined);
        setLoading(false);
      },
    );
  }, [experimentId, filter, viewType, orderBy]);

  const loadMore = () => {
    if (loading || !nextPage) return;
    const mine = generation.current;
    setLoading(true);
    query(nextPage).then((page) => {
      if (mine !== generation.current) return;
      setRuns((old) => [...old, ...(page.runs ?? [])]);
      setNextPage(page.next_page_token);
      setLoading(false);
    }, setError);
  };

  // Every key seen in the loaded runs, for the column picker; a few shown by default.
  const available = useMemo(() => {
    const keys: Record<ColumnKind, Set<string>> = { metrics: new Set(), params: new Set(), tags: new Set() };
    for (const run of runs.slice(0, 2000)) {
      for (const kind of ['metrics', 'params', 'tags'] as const)
        for (const entry of run.data[kind] ?? [])
          if (kind !== 'tags' || !entry.key.startsWith('mlflow.')) keys[kind].add(entry.key);
    }
    return keys;
  }, [runs]);
  const shown: Column[] = columns ?? [
    ...[...available.params].slice(0, 3).map((key) => ({ kind: 'params' as const, key })),
    ...[...available.metrics].slice(0, 4).map((key) => ({ kind: 'metrics' as const, key })),
  ];
  const template = `36px ${ATTRIBUTES.map((a) => a.width).join(' ')} ${shown.map(() => '120px').join(' ')}`;

  const sortBy = (name: string | null) => {
    if (!name) return;
    setOrderBy((old) => (old?.name === name ? { name, asc: !old.asc } : { name, asc: false }));
  };
  const sortMark = (name: string | null) => (orderBy && orderBy.name === name ? (orderBy.asc ? ' ▲' : ' ▼') : '');
  const toggle = (runId: string) =>
    setSelected((old) => {
      const next = new Set(old);
      if (next.has(runId)) next.delete(runId);
      else next.add(runId);
      return next;
    });
  const selection = [...selected].join(',');

  const header = (
    <div class="vrow vhead" role="row" aria-rowindex={1} style={{ gridTemplateColumns: template }}>
      <span role="columnheader" aria-label="selected" />
      {ATTRIBUTES.map((a) => (
        <span
          role="columnheader"
          key={a.title}
          aria-sort={orderBy?.name === a.sort ? (orderBy.asc ? 'ascending' : 'descending') : undefined}
        >
          {a.sort ? (
            <button type="button" class="link" onClick={() => sortBy(a.sort)}>
              {a.title}
              {sortMark(a.sort)}
            </button>
          ) : (
            a.title
          )}
        </span>
      ))}
      {shown.map((c) => (
        <span
          role="columnheader"
          key={columnId(c)}
          title={columnId(c)}
          aria-sort={orderBy?.name === orderName(c) ? (orderBy.asc ? 'ascending' : 'descending') : undefined}
        >
          <button type="button" class="link" onClick={() => sortBy(orderName(c))}>
            {c.key}
            {sortMark(orderName(c))}
          </button>
        </span>
      ))}
    </div>
  );

  return (
    <section>
      <p class="crumbs">
        <a href={href('experiments')}>Experiments</a> /
      </p>
      <h1>{experiment?.name ?? experimentId}</h1>
      <ErrorNote error={error} />
      <form
        class="toolbar"
        role="search"
        onSubmit={(event) => {
          event.preventDefault();
          setFilter(String(new FormData(event.currentTarget as HTMLFormElement).get('filter') ?? ''));
        }}
      >
        <label class="grow">
          Filter runs{' '}
          <input
            name="filter"
            defaultValue={filter}
            placeholder="metrics.acc > 0.9 and params.lr = '0.01'"
            aria-invalid={filterError ? 'true' : undefined}
          />
        </label>
        <label>
          Show{' '}
          <select value={viewType} onChange={(e) => setViewType((e.currentTarget as HTMLSelectElement).value)}>
            <option value="ACTIVE_ONLY">active</option>
            <option value="DELETED_ONLY">deleted</option>
            <option value="ALL">all</option>
          </select>
        </label>
        <button type="submit">Search</button>
        <button type="button" onClick={() => setPicking(!picking)} aria-expanded={picking}>
          Columns
        </button>
        <button type="button" disabled={selected.size === 0} onClick={() => navigate(`#/charts?runs=${selection}`)}>
          Chart {selected.size || ''}
        </button>
        <button type="button" disabled={selected.size < 2} onClick={() => navigate(`#/compare?runs=${selection}`)}>
          Compare {selected.size || ''}
        </button>
      </form>
      <ErrorNote error={filterError} />
      {picking && (
        <fieldset class="picker">
          <legend>Columns</legend>
          {(['params', 'metrics', 'tags'] as const).map((kind) => (
            <div key={kind}>
              <strong>{kind}</strong>
              {[...available[kind]].map((key) => {
                const on = shown.some((c) => c.kind === kind && c.key === key);
                return (
                  <label key={key}>
                    <input
                      type="checkbox"
                      checked={on}
                      onChange={() =>
                        setColumns(
                          on ? shown.filter((c) => !(c.kind === kind && c.key === key)) : [...shown, { kind, key }],
                        )
                      }
                    />
                    {key}
                  </label>
                );
              })}
            </div>
          ))}
        </fieldset>
      )}
      <p class="count" aria-live="polite">
        {runs.length} run{runs.length === 1 ? '' : 's'}
        {nextPage ? ' loaded, more as you scroll' : ''}
        {loading ? ' · loading…' : ''}
      </p>
      <VirtualList
        label="runs"
        count={runs.length}
        rowHeight={ROW_HEIGHT}
        height={Math.min(600, Math.max(120, (runs.length + 1) * ROW_HEIGHT + 4))}
        header={header}
        onNearEnd={loadMore}
        renderRow={(i) => {
          const run = runs[i];
          return (
            <div class="vcells" style={{ gridTemplateColumns: template }} data-run-id={run.info.run_id}>
              <span role="cell">
                <input
                  type="checkbox"
                  aria-label={`select ${run.info.run_name ?? run.info.run_id}`}
                  checked={selected.has(run.info.run_id)}
                  onChange={() => toggle(run.info.run_id)}
                />
              </span>
              <span role="cell">
                <a href={href('runs', run.info.run_id)}>{run.info.run_name || run.info.run_id}</a>
              </span>
              <span role="cell">{formatTime(run.info.start_time)}</span>
              <span role="cell">{formatDuration(run.info.start_time, run.info.end_time)}</span>
              <span role="cell" class={`status ${run.info.status.toLowerCase()}`}>
                {run.info.status}
              </span>
              <span role="cell">{run.info.user_id}</span>
              {shown.map((c) => (
                <span role="cell" key={columnId(c)} class={c.kind === 'metrics' ? 'num' : undefined}>
                  {cell(run, c)}
                </span>
              ))}
            </div>
          );
        }}
      />
    </section>
  );
}
