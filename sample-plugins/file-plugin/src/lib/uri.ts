/**
 * MLflow's test plugin takes `urlparse(store_uri).path`: `file-plugin:test-path` → `test-path`
 * (relative to the working directory), `file-plugin:/data/x` → `/data/x`,
 * `file-plugin://host/data/x` → `/data/x` (the authority is dropped).
 */
export function pathOfPluginUri(uri: string): string {
  const rest = uri.replace(/^[A-Za-z][A-Za-z0-9+.-]*:/, '');
  const withoutAuthority = rest.startsWith('//') ? rest.slice(2).replace(/^[^/]*/, '') : rest;
  const path = decodeURIComponent(withoutAuthority.replace(/[?#].*$/, ''));
  // An empty path is MLflow's default root, as `FileStore(root_directory or _default_root_dir())`.
  return path === '' ? 'mlruns' : path;
}
