/**
 * Turns a plugin's entry module into what a SES Compartment can evaluate: one self-contained script
 * (CommonJS shape, no imports left), bundled by esbuild when the plugin is first used at the
 * `sandbox` or `process` level, and cached while the file is unchanged.
 *
 * Why at load time, in the host: plugins stay ordinary ESM packages (built by their authors as for
 * the `worker` level; the sample packages by build.mjs), so one build serves every level, and the
 * bundle the isolate evaluates is made by the host from the files on disk, not trusted from the
 * package. It costs one esbuild run per plugin module (~20–40 ms, measured in bench/isolation.ts),
 * which is why esbuild is a runtime dependency.
 *
 * A plugin that imports a Node module cannot run in a Compartment: the bundle fails with an error
 * naming the import and saying what to use instead, before any isolate starts.
 */
import { statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import type { Plugin } from 'esbuild';

const cache = new Map<string, { readonly stamp: string; readonly source: Promise<string> }>();

const NODE_MODULE = new RegExp(`^(?:node:.*|(?:${builtinModules.map((name) => name.replace(/[/\\-]/g, (c) => `\\${c}`)).join('|')})(?:/.*)?)$`);

export class SandboxBundleError extends Error {
  override readonly name = 'SandboxBundleError';
}

/** The bundled source of `modulePath`, from the cache while the file's size and mtime are unchanged. */
export function sandboxSource(modulePath: string): Promise<string> {
  let stamp: string;
  try {
    const info = statSync(modulePath);
    stamp = `${info.size}:${info.mtimeMs}`;
  } catch (error) {
    return Promise.reject(new SandboxBundleError(`the plugin module ${modulePath} cannot be read: ${(error as Error).message}`));
  }
  const cached = cache.get(modulePath);
  if (cached?.stamp === stamp) return cached.source;
  const source = bundle(modulePath);
  cache.set(modulePath, { stamp, source });
  return source;
}

async function bundle(modulePath: string): Promise<string> {
  const imported = new Set<string>();
  const refuseNode: Plugin = {
    name: 'flowhost-refuse-node-modules',
    setup(build) {
      build.onResolve({ filter: NODE_MODULE }, (args) => {
        imported.add(`'${args.path}' (imported by ${args.importer.split('/').slice(-2).join('/')})`);
        return { path: args.path, external: true };
      });
    },
  };
  const { build } = await import('esbuild');
  let text: string;
  try {
    const result = await build({
      entryPoints: [modulePath],
      bundle: true,
      write: false,
      format: 'cjs',
      platform: 'neutral',
      target: 'es2022',
      mainFields: ['module', 'main'],
      conditions: ['import', 'default'],
      // Comments go: SES refuses any source text that looks like `import(` or an HTML comment,
      // even inside a comment.
      minifyWhitespace: true,
      legalComments: 'none',
      logLevel: 'silent',
      plugins: [refuseNode],
    });
    text = result.outputFiles[0].text;
  } catch (error) {
    const messages = (error as { errors?: { text: string }[] }).errors?.map((e) => e.text).join('; ') ?? (error as Error).message;
    throw new SandboxBundleError(`the plugin module ${modulePath} cannot be bundled for a sandbox: ${messages}`);
  }
  if (imported.size > 0) {
    throw new SandboxBundleError(
      `the plugin imports the Node module(s) ${[...imported].join(', ')}, which plugins cannot use at the sandbox and process levels: reach files, the network and the environment through \`capabilities\` of @flowhost/sdk (granted by the operator from the manifest's requests), or have the operator run this plugin at the worker level`,
    );
  }
  return text;
}
