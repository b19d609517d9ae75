/**
 * flowhost's web UI: one page served by `flowhost server`, talking to the same REST API as every
 * MLflow client. Pages: experiments, an experiment's runs, a run, metric charts, a comparison of
 * runs, the model registry, and the health of every tenant's plugins.
 */
import './styles.css';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { listWorkspaces, onUnauthenticated, session } from './api.js';
import { ChartsPage } from './pages/charts.js';
import { ComparePage } from './pages/compare.js';
import { ExperimentsPage } from './pages/experiments.js';
import { HealthPage } from './pages/health.js';
import { LoginPage } from './pages/login.js';
import { ModelsPage, ModelPage, VersionPage } from './pages/models.js';
import { RunPage } from './pages/run.js';
import { RunsPage } from './pages/runs.js';
import { href, navigate, useRoute } from './router.js';

function WorkspaceSwitcher() {
  const [workspaces, setWorkspaces] = useState<{ name: string }[] | null>(null);
  useEffect(() => {
    listWorkspaces().then(setWorkspaces, () => setWorkspaces(null));
  }, []);
  if (!workspaces) return null;
  return (
    <label class="workspace">
      Workspace{' '}
      <select
        value={session.workspace ?? ''}
        onChange={(event) => {
          session.workspace = (event.currentTarget as HTMLSelectElement).value || null;
          navigate(href('experiments'));
          location.reload();
        }}
      >
        <option value="">default</option>
        {workspaces.map((w) => (
          <option value={w.name} key={w.name}>
            {w.name}
          </option>
        ))}
      </select>
    </label>
  );
}

function Page() {
  const route = useRoute();
  const [section, a, b, c] = route.parts;
  switch (section) {
    case undefined:
    case 'experiments':
      return a ? <RunsPage experimentId={a} /> : <ExperimentsPage />;
    case 'runs':
      return <RunPage runId={a} />;
    case 'charts':
      return <ChartsPage runIds={(route.query.get('runs') ?? '').split(',').filter(Boolean)} />;
    case 'compare':
      return <ComparePage runIds={(route.query.get('runs') ?? '').split(',').filter(Boolean)} />;
    case 'models':
      if (a && b === 'versions' && c) return <VersionPage name={a} version={c} />;
      return a ? <ModelPage name={a} /> : <ModelsPage />;
    case 'health':
      return <HealthPage />;
    case 'login':
      return <LoginPage />;
    default:
      return <p role="alert">No such page: {location.hash}</p>;
  }
}

function App() {
  const route = useRoute();
  const [loggedIn, setLoggedIn] = useState(session.authorization !== null);
  useEffect(() => {
    onUnauthenticated.handler = () => {
      session.logOut();
      setLoggedIn(false);
      if (route.parts[0] !== 'login') navigate(`#/login?next=${encodeURIComponent(location.hash)}`);
    };
  }, [route]);
  const active = (name: string) =>
    route.parts[0] === name || (!route.parts[0] && name === 'experiments') ? 'page' : undefined;
  return (
    <>
      <header class="top">
        <a class="brand" href={href('experiments')}>
          flowhost
        </a>
        <nav aria-label="main">
          <a href={href('experiments')} aria-current={active('experiments')}>
            Experiments
          </a>
          <a href={href('models')} aria-current={active('models')}>
            Models
          </a>
          <a href={href('health')} aria-current={active('health')}>
            Plugin health
          </a>
        </nav>
        <WorkspaceSwitcher />
        {loggedIn && (
          <button
            type="button"
            class="link"
            onClick={() => {
              session.logOut();
              setLoggedIn(false);
              navigate('#/login');
            }}
          >
            Log out
          </button>
        )}
      </header>
      <main>
        <Page />
      </main>
    </>
  );
}

render(<App />, document.getElementById('root')!);
