/** Where the built files flowhost starts in workers live, relative to this module once built into dist/. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function bootstrapPath(): string {
  return fileURLToPath(new URL('../workers/bootstrap.js', import.meta.url));
}

/** The `sandbox` level's worker entry: bootstrap.ts's twin with SES (workers/sandbox-bootstrap.ts). */
export function sandboxBootstrapPath(): string {
  return fileURLToPath(new URL('../workers/sandbox-bootstrap.js', import.meta.url));
}

/** The `process` level's child entry (workers/process-bootstrap.ts), one self-contained file. */
export function processBootstrapPath(): string {
  return fileURLToPath(new URL('../workers/process-bootstrap.js', import.meta.url));
}

/** The `subprocess` level's child entry: process-bootstrap.ts built without the sandbox (build.mjs). */
export function subprocessBootstrapPath(): string {
  return fileURLToPath(new URL('../workers/subprocess-bootstrap.js', import.meta.url));
}

export function builtinPluginPath(name: string): string {
  return fileURLToPath(new URL(`../builtins/${name}.js`, import.meta.url));
}

/** The folder flowhost is installed in (its package root), found from this built module. */
export function flowhostRoot(): string {
  return fileURLToPath(new URL('../../', import.meta.url));
}

let version: string | undefined;

/** flowhost's version, read once from its package.json: the one place it is written. */
export function flowhostVersion(): string {
  return (version ??= (JSON.parse(readFileSync(join(flowhostRoot(), 'package.json'), 'utf8')) as { version: string })
    .version);
}
