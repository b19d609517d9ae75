/** A run: its info, params, latest metrics with sparklines, tags, nested runs and artifacts. */
import { useEffect, useState } from 'preact/hooks';
import { api, headers, metricValue, type FileInfo, type Run } from '../api.js';
import { ErrorNote } from '../components/error-note.js';
import { Sparkline } from '../components/sparkline.js';
import { formatBytes, formatDuration, formatNumber, formatTime } from '../format.js';
import { href, navigate } from '../router.js';

/** Sparklines are fetched for this many metrics at most: a run may log thousands of keys. */
const SPARKLINES = 50;

function MetricRow({
  runId,
  metric,
  withSparkline,
}: {
  runId: string;
  metric: { key: string; value: number | string; step: number };
  withSparkline: boolean;
}) {
  return (
    <tr>
      <th scope="row">{metric.key}</th>
      <td class="num">{formatNumber(metricValue(metric.value))}</td>
      <td class="num">{metric.step}</td>
      <td>{withSparkline && <LazySparkline runId={runId} metricKey={metric.key} />}</td>
    </tr>
  );
}

function LazySparkline({ runId, metricKey }: { runId: string; metricKey: string }) {
  const [values, setValues] = useState<number[] | null>(null);
  useEffect(() => {
    api.bulkInterval([runId], metricKey, 100).then(
      (a) => setValues((a.metrics ?? []).map((m) => metricValue(m.value))),
      () => setValues([]),
    );
  }, [runId, metricKey]);
  return values ? <Sparkline values={values} label={`history of ${metricKey}`} /> : null;
}

const TEXT =
  /\.(txt|log|md|py|yaml|yml|sh|cfg|ini|toml|r|sql)$|(^|\/)(MLmodel|MLproject|conda\.yaml|requirements\.txt)$/i;
const IMAGE = /\.(png|jpe?g|gif|svg|webp|bmp)$/i;
const PREVIEW_BYTES = 2 * 1024 * 1024;

/** A CSV line's fields (quoted fields with commas and doubled quotes). */
function csvFields(line: string): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      out.push(field);
      field = '';
    } else field += ch;
  }
  out.push(field);
  return out;
}

function Preview({ runId, file }: { runId: string; file: FileInfo }) {
  const url = api.artifactUrl(runId, file.path);
  const [text, setText] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const kind = IMAGE.test(file.path)
    ? 'image'
    : /\.json$/i.test(file.path)
      ? 'json'
      : /\.csv$/i.test(file.path)
        ? 'csv'
        : TEXT.test(file.path)
          ? 'text'
          : 'binary';
  useEffect(() => {
    setText(null);
    setError(null);
    if (kind === 'image' || kind === 'binary' || (file.file_size ?? 0) > PREVIEW_BYTES) return;
    fetch(url, { headers: headers() })
      .then((r) => (r.ok ? r.text() : Promise.reject(new Error(`HTTP ${r.status}`))))
      .then(setText, setError);
  }, [runId, file.path]);
  const download = (
    <a href={url} download={file.path.split('/').pop()}>
      Download {file.path.split('/').pop()} ({formatBytes(file.file_size)})
    </a>
  );
  if (error) return <ErrorNote error={error} />;
  if (kind === 'image')
    return (
      <div class="preview">
        {download}
        <img src={url} alt={file.path} />
      </div>
    );
  if (kind === 'binary' || (file.file_size ?? 0) > PREVIEW_BYTES)
    return (
      <div class="preview">
        {download}
        <p>No preview for this file.</p>
      </div>
    );
  if (text === null) return <p aria-busy="true">Loading…</p>;
  if (kind === 'json') {
    let pretty = text;
    try {
      pretty = JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      /* shown as it is */
    }
    return (
      <div class="preview">
        {download}
        <pre>{pretty}</pre>
      </div>
    );
  }
  if (kind === 'csv') {
    const rows = text.split(/\r?\n/).filter(Boolean).slice(0, 501).map(csvFields);
    return (
      <div class="preview">
        {download}
        <table class="grid">
          <thead>
            <tr>
              {rows[0]?.map((h, i) => (
                <th scope="col" key={i}>
                  {h}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.slice(1).map((row, r) => (
              <tr key={r}>
                {row.map((v, i) => (
                  <td key={i}>{v}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    );
  }
  return (
    <div class="preview">
      {download}
      <pre>{text}</pre>
    </div>
  );
}

function ArtifactTree({
  runId,
  path,
  onPick,
  picked,
}: {
  runId: string;
  path?: string;
  onPick: (f: FileInfo) => void;
  picked: string | null;
}) {
  const [files, setFiles] = useState<FileInfo[] | null>(null);
  const [open, setOpen] = useState<Set<string>>(new Set());
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    api.listArtifacts(runId, path).then((a) => setFiles(a.files ?? []), setError);
  }, [runId, path]);
  if (error) return <ErrorNote error={error} />;
  if (!files) return null;
  if (!path && files.length === 0) return <p>No artifacts.</p>;
  return (
    <ul class="tree" role={path ? 'group' : 'tree'} aria-label={path ? undefined : 'artifacts'}>
      {files.map((f) => (
        <li
          key={f.path}
          role="treeitem"
          aria-expanded={f.is_dir ? open.has(f.path) : undefined}
          aria-selected={picked === f.path}
        >
          <button
            type="button"
            class="link"
            onClick={() => {
              if (!f.is_dir) return onPick(f);
              setOpen((old) => {
                const next = new Set(old);
                if (next.has(f.path)) next.delete(f.path);
                else next.add(f.path);
                return next;
              });
            }}
          >
            {f.is_dir ? (open.has(f.path) ? '▾ ' : '▸ ') : ''}
            {f.path.split('/').pop()}
          </button>
          {f.is_dir && open.has(f.path) && <ArtifactTree runId={runId} path={f.path} onPick={onPick} picked={picked} />}
        </li>
      ))}
    </ul>
  );
}

export function RunPage({ runId }: { runId: string }) {
  const [run, setRun] = useState<Run | null>(null);
  const [children, setChildren] = useState<Run[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [file, setFile] = useState<FileInfo | null>(null);
  useEffect(() => {
    setRun(null);
    setFile(null);
    api.getRun(runId).then((a) => {
      setRun(a.run);
      api
        .searchRuns({
          experiment_ids: [a.run.info.experiment_id],
          filter: `tags.mlflow.parentRunId = '${runId}'`,
          max_results: 100,
        })
        .then((c) => setChildren(c.runs ?? []), setError);
    }, setError);
  }, [runId]);
  if (error && !run) return <ErrorNote error={error} />;
  if (!run) return <p aria-busy="true">Loading…</p>;
  const { info, data } = run;
  const metrics = [...(data.metrics ?? [])].sort((a, b) => a.key.localeCompare(b.key));
  const tags = (data.tags ?? []).filter((t) => t.key !== 'mlflow.runName');
  const parent = tags.find((t) => t.key === 'mlflow.parentRunId')?.value;
  return (
    <section>
      <p class="crumbs">
        <a href={href('experiments')}>Experiments</a> /{' '}
        <a href={href('experiments', info.experiment_id)}>{info.experiment_id}</a> /
      </p>
      <h1>{info.run_name || info.run_id}</h1>
      <ErrorNote error={error} />
      <dl class="info">
        <dt>Run ID</dt>
        <dd>{info.run_id}</dd>
        <dt>Status</dt>
        <dd class={`status ${info.status.toLowerCase()}`}>{info.status}</dd>
        <dt>Started</dt>
        <dd>{formatTime(info.start_time)}</dd>
        <dt>Duration</dt>
        <dd>{formatDuration(info.start_time, info.end_time)}</dd>
        <dt>User</dt>
        <dd>{info.user_id}</dd>
        <dt>Lifecycle</dt>
        <dd>{info.lifecycle_stage}</dd>
        <dt>Artifact URI</dt>
        <dd>{info.artifact_uri}</dd>
        {parent && (
          <>
            <dt>Parent run</dt>
            <dd>
              <a href={href('runs', parent)}>{parent}</a>
            </dd>
          </>
        )}
      </dl>
      <h2>Parameters ({data.params?.length ?? 0})</h2>
      <table class="grid kv" aria-label="parameters">
        <tbody>
          {(data.params ?? []).map((p) => (
            <tr key={p.key}>
              <th scope="row">{p.key}</th>
              <td>{p.value}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>
        Metrics ({metrics.length}){' '}
        {metrics.length > 0 && (
          <button type="button" class="link" onClick={() => navigate(`#/charts?runs=${info.run_id}`)}>
            chart them
          </button>
        )}
      </h2>
      <table class="grid kv" aria-label="metrics">
        <thead>
          <tr>
            <th scope="col">Key</th>
            <th scope="col">Latest</th>
            <th scope="col">Step</th>
            <th scope="col">History</th>
          </tr>
        </thead>
        <tbody>
          {metrics.map((m, i) => (
            <MetricRow key={m.key} runId={info.run_id} metric={m} withSparkline={i < SPARKLINES} />
          ))}
        </tbody>
      </table>
      <h2>Tags ({tags.length})</h2>
      <table class="grid kv" aria-label="tags">
        <tbody>
          {tags.map((t) => (
            <tr key={t.key}>
              <th scope="row">{t.key}</th>
              <td class="pre">{t.value}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {children.length > 0 && (
        <>
          <h2>Nested runs ({children.length})</h2>
          <ul aria-label="nested runs">
            {children.map((c) => (
              <li key={c.info.run_id}>
                <a href={href('runs', c.info.run_id)}>{c.info.run_name || c.info.run_id}</a> {c.info.status}
              </li>
            ))}
          </ul>
        </>
      )}
      <h2>Artifacts</h2>
      <div class="artifacts">
        <ArtifactTree runId={info.run_id} onPick={setFile} picked={file?.path ?? null} />
        <div class="artifact-view">
          {file ? <Preview key={file.path} runId={info.run_id} file={file} /> : <p>Pick a file to preview it.</p>}
        </div>
      </div>
    </section>
  );
}
