/**
 * The web UI's static files (built by build.mjs into dist/ui) and the plugin status it shows.
 * Asset names carry a content hash, so browsers may keep them for a year; `index.html` names the
 * current ones and is revalidated on every load. Only names the build wrote are served: a request
 * path never reaches the file system as a path.
 */
import { createReadStream, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ServerResponse } from 'node:http';
import type { Flowhost } from '../flowhost.js';
import { sendJson } from './http.js';

const UI_DIR = new URL('../../ui/', import.meta.url).pathname;
const ASSETS_DIR = join(UI_DIR, 'static-files');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

/** The files the build wrote, read once: a name not in this set is 404 whatever it looks like. */
let assets: Set<string> | undefined;
function assetNames(): Set<string> {
  return (assets ??= new Set(existsSync(ASSETS_DIR) ? readdirSync(ASSETS_DIR) : []));
}

function sendFile(response: ServerResponse, file: string, cacheControl: string): void {
  const ext = file.slice(file.lastIndexOf('.'));
  response.writeHead(200, {
    'Content-Type': CONTENT_TYPES[ext] ?? 'application/octet-stream',
    'Cache-Control': cacheControl,
    'X-Content-Type-Options': 'nosniff',
  });
  createReadStream(file).pipe(response);
}

/** Serves `/` and `/static-files/<name>`; false for any other path (the caller answers it). */
export function serveUi(path: string, response: ServerResponse): boolean {
  if (path === '/' || path === '/index.html') {
    const index = join(UI_DIR, 'index.html');
    if (!existsSync(index)) return false;
    sendFile(response, index, 'no-cache');
    return true;
  }
  if (path.startsWith('/static-files/')) {
    const name = path.slice('/static-files/'.length);
    if (!assetNames().has(name)) return false;
    sendFile(response, join(ASSETS_DIR, name), 'public, max-age=31536000, immutable');
    return true;
  }
  return false;
}

/** Histogram bounds of the health page, in µs (50 µs to 30 s). */
const HISTOGRAM_BOUNDS_US = [
  50, 100, 250, 500, 1000, 2500, 5000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1e6, 2.5e6, 5e6, 10e6, 30e6,
];

/** `GET /api/2.0/flowhost/status`: every plugin instance of this server's host, with its latency histogram. */
export async function sendStatus(response: ServerResponse, flowhost: Flowhost): Promise<void> {
  const instances = await flowhost.instanceStatus(HISTOGRAM_BOUNDS_US);
  sendJson(response, 200, { instances });
}
