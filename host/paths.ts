/** Where the built files flowhost starts in workers live, relative to this module once built into dist/. */
import { fileURLToPath } from 'node:url';

export function bootstrapPath(): string {
  return fileURLToPath(new URL('../workers/bootstrap.js', import.meta.url));
}

export function builtinPluginPath(name: string): string {
  return fileURLToPath(new URL(`../builtins/${name}.js`, import.meta.url));
}

/** The folder flowhost is installed in (its package root), found from this built module. */
export function flowhostRoot(): string {
  return fileURLToPath(new URL('../../', import.meta.url));
}
