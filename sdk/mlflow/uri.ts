/**
 * URI helpers with MLflow's semantics (`mlflow/utils/uri.py`, `mlflow/utils/file_utils.py`), which
 * rest on Python's `urllib.parse.urlsplit`, `url2pathname` and `pathlib`'s `as_uri`. The store's
 * root and every `artifact_location` it writes come from these, so they must produce the very
 * strings MLflow produces: a run's `artifact_uri` written by flowhost is compared, byte for byte,
 * with the one MLflow would have written.
 */
import * as path from 'node:path';
import { MlflowError } from '../errors.js';

export interface SplitUri {
  scheme: string;
  netloc: string;
  path: string;
  query: string;
  fragment: string;
}

const SCHEME_CHARS = /^[A-Za-z][A-Za-z0-9+\-.]*$/;

/** Python's `urllib.parse.urlsplit` (without its port validation, which nothing here needs). */
export function splitUri(uri: string): SplitUri {
  // urlsplit drops leading C0 controls and spaces, and every tab and line break (WHATWG rules).
  let rest = uri.replace(/^[\x00-\x20]+/, '').replace(/[\t\r\n]/g, '');
  let scheme = '';
  const colon = rest.indexOf(':');
  if (colon > 0 && SCHEME_CHARS.test(rest.slice(0, colon))) {
    scheme = rest.slice(0, colon).toLowerCase();
    rest = rest.slice(colon + 1);
  }
  let netloc = '';
  if (rest.startsWith('//')) {
    const match = /[/?#]/.exec(rest.slice(2));
    const end = match ? match.index + 2 : rest.length;
    netloc = rest.slice(2, end);
    rest = rest.slice(end);
  }
  let fragment = '';
  const hash = rest.indexOf('#');
  if (hash >= 0) {
    fragment = rest.slice(hash + 1);
    rest = rest.slice(0, hash);
  }
  let query = '';
  const question = rest.indexOf('?');
  if (question >= 0) {
    query = rest.slice(question + 1);
    rest = rest.slice(0, question);
  }
  return { scheme, netloc, path: rest, query, fragment };
}

/** Schemes for which Python's `urlunsplit` writes `//` even when the netloc is empty. */
const USES_NETLOC = new Set([
  '',
  'ftp',
  'http',
  'gopher',
  'nntp',
  'telnet',
  'imap',
  'wais',
  'file',
  'mms',
  'https',
  'shttp',
  'snews',
  'prospero',
  'rtsp',
  'rtsps',
  'rtspu',
  'rsync',
  'svn',
  'svn+ssh',
  'sftp',
  'nfs',
  'git',
  'git+ssh',
  'ws',
  'wss',
  'itms-services',
]);

/** Python's `urllib.parse.urlunsplit`. */
export function unsplitUri(parts: SplitUri): string {
  let url = parts.path;
  if (parts.netloc || (parts.scheme && USES_NETLOC.has(parts.scheme) && !url.startsWith('//'))) {
    if (url && !url.startsWith('/')) url = '/' + url;
    url = '//' + parts.netloc + url;
  }
  if (parts.scheme) url = parts.scheme + ':' + url;
  if (parts.query) url += '?' + parts.query;
  if (parts.fragment) url += '#' + parts.fragment;
  return url;
}

/**
 * The path of any URI as `urlparse(uri).path` reads it. MLflow's test plugin maps its store URI to a
 * directory this way: `file-plugin:test-path` → `test-path`, `file-plugin:/data/x` → `/data/x` (§8).
 */
export function uriPath(uri: string): string {
  return splitUri(uri).path;
}

/** Python's `urllib.parse.unquote`: %XX runs decoded as UTF-8 (invalid bytes → U+FFFD), bad escapes kept. */
export function unquote(text: string): string {
  if (!text.includes('%')) return text;
  return text.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => Buffer.from(run.replace(/%/g, ''), 'hex').toString('utf8'));
}

/** Python's `urllib.parse.quote_from_bytes(..., safe='/')` over the UTF-8 bytes of `text`. */
export function quote(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += /[A-Za-z0-9_.\-~/]/.test(ch) ? ch : '%' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/**
 * MLflow's `local_file_uri_to_path`, made absolute: a `file:` URI gives its (percent-decoded) path,
 * the host part being ignored as on POSIX; anything else is taken as a path, percent-decoded too
 * (Python's `url2pathname` does that to every input). Relative paths resolve against the cwd.
 */
export function localPathOfFileUri(uri: string): string {
  const raw = uri.startsWith('file:') ? splitUri(uri).path : uri;
  return path.resolve(unquote(raw));
}

/** MLflow's `path_to_local_file_uri`: `pathlib.Path(os.path.abspath(p)).as_uri()` → `file:///abs/...`. */
export function pathToFileUri(localPath: string): string {
  return 'file://' + quote(path.resolve(localPath));
}

/**
 * MLflow's `is_local_uri` (tracking flavour): no scheme, or `file:` without a remote host, is
 * local. A `file:` URI naming a remote host is an error, as in MLflow.
 */
export function isLocalUri(uri: string): boolean {
  if (uri === 'databricks') return false;
  const parts = splitUri(uri);
  if (parts.scheme === '') return true;
  const host = hostnameOf(parts.netloc);
  const remote = host !== '' && !(host === '.' || host.startsWith('localhost') || host.startsWith('127.0.0.1'));
  if (parts.scheme === 'file') {
    if (remote) {
      throw new MlflowError(
        `${uri} is not a valid remote uri. For remote access on windows, please consider using a different scheme such as SMB (e.g. smb://<hostname>/<path>).`,
      );
    }
    return true;
  }
  return false;
}

function hostnameOf(netloc: string): string {
  const hostPort = netloc.slice(netloc.lastIndexOf('@') + 1);
  if (hostPort.startsWith('[')) return hostPort.slice(1, hostPort.indexOf(']') >>> 0).toLowerCase();
  const colon = hostPort.indexOf(':');
  return (colon >= 0 ? hostPort.slice(0, colon) : hostPort).toLowerCase();
}

/**
 * MLflow's `resolve_uri_if_local`: a relative local path or `file:` URI is made absolute against the
 * cwd (a bare path stays a bare POSIX path, a `file:` URI becomes `file:///abs`); everything else is
 * returned unchanged.
 */
export function resolveUriIfLocal(uri: string): string {
  if (!isLocalUri(uri)) return uri;
  const parts = splitUri(uri);
  const local = uri.startsWith('file:') ? unquote(parts.path) : unquote(uri);
  if (path.isAbsolute(local)) return uri;
  const absolute = path.resolve(local);
  if (parts.scheme === '') return absolute;
  return unsplitUri({ scheme: parts.scheme, netloc: '', path: absolute, query: parts.query, fragment: parts.fragment });
}

/** `posixpath.join` of two parts. */
function joinPosix(a: string, b: string): string {
  if (b.startsWith('/')) return b;
  if (a === '' || a.endsWith('/')) return a + b;
  return a + '/' + b;
}

/** MLflow's `_join_posixpaths_and_append_absolute_suffixes`. */
function joinAppending(prefix: string, suffix: string): string {
  if (prefix.length === 0) return suffix;
  return joinPosix(prefix, suffix.replace(/^\/+/, ''));
}

/**
 * MLflow's `append_to_uri_path`: appends path segments to a URI's path, keeping its query, and
 * keeping the spelling of scheme-only URIs such as `mlflow-artifacts:/x` or `file:rel`.
 * `append('file:///r/0', run, 'artifacts')` → `file:///r/0/<run>/artifacts`.
 */
export function appendToUriPath(uri: string, ...paths: string[]): string {
  let suffix = '';
  for (const p of paths) suffix = joinAppending(suffix, p);
  const parts = splitUri(uri);
  if (parts.scheme === '') return joinAppending(uri, suffix);
  let prefix = '';
  let scheme = parts.scheme;
  if (!parts.path.startsWith('/')) {
    // urlunsplit would respell `file:x` as `file:///x`; MLflow keeps the original spelling.
    prefix = parts.scheme + ':';
    scheme = '';
  }
  return prefix + unsplitUri({ ...parts, scheme, path: joinAppending(parts.path, suffix) });
}
