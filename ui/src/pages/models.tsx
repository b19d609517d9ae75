/** The model registry: models, a model's versions with stages and aliases, a version's details. */
import { useEffect, useState } from 'preact/hooks';
import { api, type ModelVersion, type RegisteredModel } from '../api.js';
import { ErrorNote } from '../components/error-note.js';
import { formatTime } from '../format.js';
import { href } from '../router.js';

const STAGES = ['None', 'Staging', 'Production', 'Archived'];

function Tags({ tags }: { tags?: { key: string; value: string }[] }) {
  if (!tags?.length) return <p>No tags.</p>;
  return (
    <table class="grid kv" aria-label="tags">
      <tbody>
        {tags.map((t) => (
          <tr key={t.key}>
            <th scope="row">{t.key}</th>
            <td>{t.value}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Description({ text, onSave }: { text?: string; onSave: (text: string) => Promise<unknown> }) {
  const [editing, setEditing] = useState(false);
  const [error, setError] = useState<unknown>(null);
  if (!editing) {
    return (
      <div class="description">
        <p>{text || <em>No description.</em>}</p>
        <button type="button" onClick={() => setEditing(true)}>
          Edit description
        </button>
      </div>
    );
  }
  return (
    <form
      aria-label="edit description"
      onSubmit={(event) => {
        event.preventDefault();
        onSave(String(new FormData(event.currentTarget as HTMLFormElement).get('description') ?? '')).then(
          () => setEditing(false),
          setError,
        );
      }}
    >
      <label>
        Description <textarea name="description" defaultValue={text ?? ''} rows={3} />
      </label>
      <button type="submit">Save</button>
      <ErrorNote error={error} />
    </form>
  );
}

export function ModelsPage() {
  const [models, setModels] = useState<RegisteredModel[] | null>(null);
  const [filter, setFilter] = useState('');
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    setError(null);
    api
      .searchModels({ filter: filter || undefined, max_results: 1000 })
      .then((a) => setModels(a.registered_models ?? []), setError);
  }, [filter]);
  return (
    <section>
      <h1>Registered models</h1>
      <form
        class="toolbar"
        role="search"
        onSubmit={(event) => {
          event.preventDefault();
          setFilter(String(new FormData(event.currentTarget as HTMLFormElement).get('filter') ?? ''));
        }}
      >
        <label class="grow">
          Filter <input name="filter" placeholder="name LIKE '%classifier%'" />
        </label>
        <button type="submit">Search</button>
      </form>
      <ErrorNote error={error} />
      {models && (
        <table class="grid">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Latest versions</th>
              <th scope="col">Aliases</th>
              <th scope="col">Updated</th>
            </tr>
          </thead>
          <tbody>
            {models.map((m) => (
              <tr key={m.name}>
                <td>
                  <a href={href('models', m.name)}>{m.name}</a>
                </td>
                <td>{(m.latest_versions ?? []).map((v) => `v${v.version} (${v.current_stage})`).join(', ')}</td>
                <td>{(m.aliases ?? []).map((a) => `@${a.alias} → v${a.version}`).join(', ')}</td>
                <td>{formatTime(m.last_updated_timestamp)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {models?.length === 0 && <p>No registered models.</p>}
    </section>
  );
}

export function ModelPage({ name }: { name: string }) {
  const [model, setModel] = useState<RegisteredModel | null>(null);
  const [versions, setVersions] = useState<ModelVersion[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [version, setVersion] = useState(0);
  useEffect(() => {
    api.getModel(name).then((a) => setModel(a.registered_model), setError);
    api
      .searchVersions(name)
      .then(
        (a) => setVersions((a.model_versions ?? []).sort((x, y) => Number(y.version) - Number(x.version))),
        setError,
      );
  }, [name, version]);
  if (!model) return error ? <ErrorNote error={error} /> : <p aria-busy="true">Loading…</p>;
  const aliasesOf = (v: string) => (model.aliases ?? []).filter((a) => a.version === v).map((a) => a.alias);
  return (
    <section>
      <p class="crumbs">
        <a href={href('models')}>Models</a> /
      </p>
      <h1>{model.name}</h1>
      <ErrorNote error={error} />
      <Description
        text={model.description}
        onSave={(text) => api.updateModel(name, text).then(() => setVersion((n) => n + 1))}
      />
      <h2>Tags</h2>
      <Tags tags={model.tags} />
      <h2>Versions</h2>
      <table class="grid" aria-label="versions">
        <thead>
          <tr>
            <th scope="col">Version</th>
            <th scope="col">Stage</th>
            <th scope="col">Aliases</th>
            <th scope="col">Run</th>
            <th scope="col">Created</th>
          </tr>
        </thead>
        <tbody>
          {versions.map((v) => (
            <tr key={v.version}>
              <td>
                <a href={href('models', name, 'versions', v.version)}>v{v.version}</a>
              </td>
              <td>{v.current_stage}</td>
              <td>
                {aliasesOf(v.version)
                  .map((a) => `@${a}`)
                  .join(', ')}
              </td>
              <td>{v.run_id && <a href={href('runs', v.run_id)}>{v.run_id.slice(0, 8)}</a>}</td>
              <td>{formatTime(v.creation_timestamp)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

export function VersionPage({ name, version }: { name: string; version: string }) {
  const [mv, setMv] = useState<ModelVersion | null>(null);
  const [aliases, setAliases] = useState<string[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [reloads, setReloads] = useState(0);
  const reload = () => setReloads((n) => n + 1);
  useEffect(() => {
    api.getVersion(name, version).then((a) => setMv(a.model_version), setError);
    api
      .getModel(name)
      .then(
        (a) => setAliases((a.registered_model.aliases ?? []).filter((x) => x.version === version).map((x) => x.alias)),
        setError,
      );
  }, [name, version, reloads]);
  if (!mv) return error ? <ErrorNote error={error} /> : <p aria-busy="true">Loading…</p>;
  return (
    <section>
      <p class="crumbs">
        <a href={href('models')}>Models</a> / <a href={href('models', name)}>{name}</a> /
      </p>
      <h1>
        {name} v{version}
      </h1>
      <ErrorNote error={error} />
      <dl class="info">
        <dt>Stage</dt>
        <dd>
          <select
            aria-label="stage"
            value={mv.current_stage}
            onChange={(e) =>
              api.transitionStage(name, version, (e.currentTarget as HTMLSelectElement).value).then(reload, setError)
            }
          >
            {STAGES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </dd>
        <dt>Aliases</dt>
        <dd>{aliases.length ? aliases.map((a) => `@${a}`).join(', ') : '—'}</dd>
        <dt>Source run</dt>
        <dd>{mv.run_id ? <a href={href('runs', mv.run_id)}>{mv.run_id}</a> : '—'}</dd>
        <dt>Source</dt>
        <dd>{mv.source}</dd>
        <dt>Status</dt>
        <dd>{mv.status}</dd>
        <dt>Created</dt>
        <dd>{formatTime(mv.creation_timestamp)}</dd>
      </dl>
      <form
        class="toolbar"
        aria-label="set alias"
        onSubmit={(event) => {
          event.preventDefault();
          const alias = String(new FormData(event.currentTarget as HTMLFormElement).get('alias') ?? '').trim();
          if (alias) api.setAlias(name, alias, version).then(reload, setError);
        }}
      >
        <label>
          New alias <input name="alias" />
        </label>
        <button type="submit">Set alias</button>
      </form>
      <Description text={mv.description} onSave={(text) => api.updateVersion(name, version, text).then(reload)} />
      <h2>Tags</h2>
      <Tags tags={mv.tags} />
    </section>
  );
}
