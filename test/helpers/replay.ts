/**
 * Replays a recorded MLflow REST transcript (`shared/fixtures/rest/*.jsonl`) against a server and
 * compares each answer with MLflow's, by the rules of the fixtures' README: placeholders bound on
 * first sight in a response, `${ts}` any integer, `${any}`/`${token}` wildcards, unordered keys
 * compared as multisets, numbers by value, HTML error pages by status and media type only.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Exchange {
  name: string;
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
  body: string | null;
  body_base64?: string;
  status: number;
  response: unknown;
  response_base64?: string;
  response_headers: Record<string, string>;
  unordered?: string[];
}

export interface Outcome {
  name: string;
  ok: boolean;
  /** Why it did not match (empty when it did). */
  why: string;
}

export function readTranscript(file: string): Exchange[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as Exchange);
}

const PLACEHOLDER = /\$\{([a-z]+[0-9]*)\}/g;

type Bindings = Map<string, string>;

function substitute(text: string, bindings: Bindings, encode: (value: string) => string): string {
  return text.replace(PLACEHOLDER, (whole, name: string) => {
    const value = bindings.get(name);
    if (value === undefined) throw new Error(`placeholder ${whole} used before it was bound`);
    return encode(value);
  });
}

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Matches a string pattern; binds unbound named placeholders in `bindings` on success. */
function matchString(pattern: string, actual: string, bindings: Bindings): boolean {
  if (!pattern.includes('${')) return pattern === actual;
  const groups: string[] = [];
  let source = '';
  let last = 0;
  for (const m of pattern.matchAll(PLACEHOLDER)) {
    source += escapeRegex(pattern.slice(last, m.index));
    last = m.index! + m[0].length;
    const name = m[1];
    if (name === 'any') source += '[\\s\\S]*?';
    else if (name === 'token') source += '[\\s\\S]+?';
    else if (bindings.has(name)) source += escapeRegex(bindings.get(name)!);
    else if (groups.includes(name)) source += `\\k<${name}>`;
    else {
      groups.push(name);
      source += `(?<${name}>[\\s\\S]+?)`;
    }
  }
  source += escapeRegex(pattern.slice(last));
  const found = new RegExp(`^${source}$`).exec(actual);
  if (!found) return false;
  for (const name of groups) bindings.set(name, found.groups![name]);
  return true;
}

/** Compares `actual` with `expected`; returns null when they match, else where they differ. */
function compare(
  expected: unknown,
  actual: unknown,
  bindings: Bindings,
  at: string,
  unordered: readonly string[] = [],
): string | null {
  if (expected === '${ts}')
    return (typeof actual === 'number' && Number.isInteger(actual)) ||
      (typeof actual === 'string' && /^\d+$/.test(actual))
      ? null
      : `${at}: expected an integer, got ${JSON.stringify(actual)}`;
  if (typeof expected === 'string') {
    if (typeof actual !== 'string')
      return `${at}: expected ${JSON.stringify(expected).slice(0, 200)}, got ${JSON.stringify(actual)?.slice(0, 200)}`;
    return matchString(expected, actual, bindings)
      ? null
      : `${at}: expected ${JSON.stringify(expected).slice(0, 300)}, got ${JSON.stringify(actual).slice(0, 300)}`;
  }
  if (typeof expected === 'number')
    return typeof actual === 'number' && actual === expected
      ? null
      : `${at}: expected ${expected}, got ${JSON.stringify(actual)}`;
  if (expected === null || typeof expected === 'boolean')
    return actual === expected ? null : `${at}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`;
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return `${at}: expected a list, got ${JSON.stringify(actual)?.slice(0, 200)}`;
    if (actual.length !== expected.length) return `${at}: expected ${expected.length} items, got ${actual.length}`;
    for (let i = 0; i < expected.length; i++) {
      const why = compare(expected[i], actual[i], bindings, `${at}[${i}]`);
      if (why) return why;
    }
    return null;
  }
  if (actual === null || typeof actual !== 'object' || Array.isArray(actual))
    return `${at}: expected an object, got ${JSON.stringify(actual)?.slice(0, 200)}`;
  const e = expected as Record<string, unknown>;
  const a = actual as Record<string, unknown>;
  const missing = Object.keys(e).filter((k) => !(k in a));
  const extra = Object.keys(a).filter((k) => !(k in e));
  if (missing.length || extra.length)
    return `${at}: keys differ (missing ${missing.join(',') || '-'}; extra ${extra.join(',') || '-'})`;
  for (const key of Object.keys(e)) {
    const why = unordered.includes(key)
      ? compareUnordered(e[key], a[key], bindings, `${at}.${key}`)
      : compare(e[key], a[key], bindings, `${at}.${key}`);
    if (why) return why;
  }
  return null;
}

function compareUnordered(expected: unknown, actual: unknown, bindings: Bindings, at: string): string | null {
  if (!Array.isArray(expected) || !Array.isArray(actual)) return compare(expected, actual, bindings, at);
  if (expected.length !== actual.length) return `${at}: expected ${expected.length} items, got ${actual.length}`;
  const left = [...actual];
  for (const item of expected) {
    const index = left.findIndex((candidate) => compare(item, candidate, new Map(bindings), at) === null);
    if (index === -1) return `${at}: no item matches ${JSON.stringify(item).slice(0, 200)}`;
    compare(item, left[index], bindings, at);
    left.splice(index, 1);
  }
  return null;
}

/** Sends every exchange in order, ≥ `paceMs` apart, and compares each answer. */
export async function replay(baseUrl: string, exchanges: readonly Exchange[], paceMs = 5): Promise<Outcome[]> {
  const bindings: Bindings = new Map();
  const outcomes: Outcome[] = [];
  for (const exchange of exchanges) {
    const started = Date.now();
    outcomes.push({ name: exchange.name, ...(await one(baseUrl, exchange, bindings)) });
    const wait = paceMs - (Date.now() - started);
    if (wait > 0) await sleep(wait);
  }
  return outcomes;
}

async function one(baseUrl: string, exchange: Exchange, bindings: Bindings): Promise<{ ok: boolean; why: string }> {
  let url: string;
  let body: Uint8Array | string | undefined;
  try {
    url =
      baseUrl +
      substitute(exchange.path, bindings, encodeURIComponent) +
      (exchange.query ? `?${substitute(exchange.query, bindings, encodeURIComponent)}` : '');
    if (exchange.body_base64 !== undefined) body = Buffer.from(exchange.body_base64, 'base64');
    // Bytes, so that fetch adds no Content-Type of its own: the recorded one is sent, or none.
    else if (exchange.body !== null)
      body = Buffer.from(substitute(exchange.body, bindings, (value) => JSON.stringify(value).slice(1, -1)));
  } catch (error) {
    return { ok: false, why: (error as Error).message };
  }
  const headers: Record<string, string> = { ...exchange.headers };
  const response = await fetch(url, {
    method: exchange.method,
    headers,
    body: body ?? (['POST', 'PUT', 'PATCH', 'DELETE'].includes(exchange.method) ? new Uint8Array(0) : undefined),
  });
  const bytes = new Uint8Array(await response.arrayBuffer());
  const problems: string[] = [];
  if (response.status !== exchange.status)
    problems.push(
      `status ${response.status}, expected ${exchange.status} (${Buffer.from(bytes).toString('utf8').slice(0, 300)})`,
    );
  const mediaType = (value: string | null | undefined) => (value ?? '').split(';')[0].trim().toLowerCase();
  const expectedType = mediaType(exchange.response_headers['Content-Type']);
  if (mediaType(response.headers.get('content-type')) !== expectedType)
    problems.push(`content type ${response.headers.get('content-type')}, expected ${expectedType}`);
  if (exchange.response_base64 !== undefined) {
    if (!Buffer.from(bytes).equals(Buffer.from(exchange.response_base64, 'base64')))
      problems.push('binary body differs');
  } else if (expectedType === 'application/json') {
    let actual: unknown;
    try {
      actual = JSON.parse(Buffer.from(bytes).toString('utf8'));
    } catch {
      problems.push(`body is not JSON: ${Buffer.from(bytes).toString('utf8').slice(0, 200)}`);
    }
    if (!problems.length) {
      const why = compare(exchange.response, actual, bindings, 'body', exchange.unordered);
      if (why) problems.push(why);
    }
  } else if (typeof exchange.response === 'string' && !exchange.response.startsWith('<!doctype html>')) {
    // Flask's HTML error pages are checked by status and media type only.
    const why = compare(exchange.response, Buffer.from(bytes).toString('utf8'), bindings, 'body');
    if (why) problems.push(why);
  }
  return { ok: problems.length === 0, why: problems.join('; ') };
}
