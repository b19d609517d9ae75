/** Experiments: search (MLflow's filter syntax), create, rename, delete and restore. */
import { useEffect, useState } from 'preact/hooks';
import { api, type Experiment } from '../api.js';
import { ErrorNote } from '../components/error-note.js';
import { formatTime } from '../format.js';
import { href } from '../router.js';

export function ExperimentsPage() {
  const [filter, setFilter] = useState('');
  const [viewType, setViewType] = useState('ACTIVE_ONLY');
  const [experiments, setExperiments] = useState<Experiment[] | null>(null);
  const [nextPage, setNextPage] = useState<string | undefined>();
  const [error, setError] = useState<unknown>(null);
  const [version, setVersion] = useState(0);
  const reload = () => setVersion((v) => v + 1);

  useEffect(() => {
    setError(null);
    api
      .searchExperiments({
        filter: filter || undefined,
        view_type: viewType,
        max_results: 100,
        order_by: ['creation_time DESC'],
      })
      .then((page) => {
        setExperiments(page.experiments ?? []);
        setNextPage(page.next_page_token);
      }, setError);
  }, [filter, viewType, version]);

  const act = (work: () => Promise<unknown>) => work().then(reload, setError);

  return (
    <section>
      <h1>Experiments</h1>
      <form
        class="toolbar"
        role="search"
        onSubmit={(event) => {
          event.preventDefault();
          setFilter(String(new FormData(event.currentTarget as HTMLFormElement).get('filter') ?? ''));
        }}
      >
        <label class="grow">
          Filter <input name="filter" placeholder="name LIKE '%vision%' and tags.team = 'ml'" defaultValue={filter} />
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
      </form>
      <form
        class="toolbar"
        aria-label="create experiment"
        onSubmit={(event) => {
          event.preventDefault();
          const form = event.currentTarget as HTMLFormElement;
          const name = String(new FormData(form).get('name') ?? '').trim();
          void act(() => api.createExperiment(name)).then(() => form.reset());
        }}
      >
        <label class="grow">
          New experiment <input name="name" required placeholder="name" />
        </label>
        <button type="submit">Create</button>
      </form>
      <ErrorNote error={error} />
      {experiments === null ? (
        <p aria-busy="true">Loading…</p>
      ) : (
        <table class="grid">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">ID</th>
              <th scope="col">Created</th>
              <th scope="col">State</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {experiments.map((e) => (
              <tr key={e.experiment_id}>
                <td>
                  <a href={href('experiments', e.experiment_id)}>{e.name}</a>
                </td>
                <td>{e.experiment_id}</td>
                <td>{formatTime(e.creation_time)}</td>
                <td>{e.lifecycle_stage}</td>
                <td class="actions">
                  <button
                    type="button"
                    onClick={() => {
                      const name = prompt(`Rename experiment "${e.name}" to:`, e.name);
                      if (name && name !== e.name) void act(() => api.renameExperiment(e.experiment_id, name));
                    }}
                  >
                    Rename
                  </button>
                  {e.lifecycle_stage === 'deleted' ? (
                    <button type="button" onClick={() => void act(() => api.restoreExperiment(e.experiment_id))}>
                      Restore
                    </button>
                  ) : (
                    <button
                      type="button"
                      onClick={() =>
                        confirm(`Delete experiment "${e.name}"?`) && act(() => api.deleteExperiment(e.experiment_id))
                      }
                    >
                      Delete
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {nextPage && (
        <button
          type="button"
          onClick={() =>
            api
              .searchExperiments({
                filter: filter || undefined,
                view_type: viewType,
                max_results: 100,
                order_by: ['creation_time DESC'],
                page_token: nextPage,
              })
              .then((page) => {
                setExperiments((old) => [...(old ?? []), ...(page.experiments ?? [])]);
                setNextPage(page.next_page_token);
              }, setError)
          }
        >
          More experiments
        </button>
      )}
    </section>
  );
}
