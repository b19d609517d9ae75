/**
 * Hash routes, so the server serves one page and any link can be bookmarked:
 * `#/experiments`, `#/experiments/<id>`, `#/runs/<id>`, `#/compare?runs=a,b`, `#/charts?runs=a,b`,
 * `#/models`, `#/models/<name>`, `#/models/<name>/versions/<v>`, `#/health`, `#/login`.
 */
import { useEffect, useState } from 'preact/hooks';

export interface Route {
  readonly parts: string[];
  readonly query: URLSearchParams;
}

export function currentRoute(): Route {
  const hash = location.hash.replace(/^#\/?/, '');
  const [path, query = ''] = hash.split('?');
  return { parts: path.split('/').filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(query) };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const update = () => setRoute(currentRoute());
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);
  return route;
}

export function href(...parts: (string | number)[]): string {
  return `#/${parts.map((p) => encodeURIComponent(String(p))).join('/')}`;
}

export function navigate(to: string): void {
  location.hash = to.replace(/^#/, '');
}
