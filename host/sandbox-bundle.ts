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
 * The host bundles as itself, before any wall applies, so the bundle reads only what the plugin's
 * package ships (docs/decisions/0008-bundling-inside-the-package.md): esbuild opens no file of its
 * own. The plugin below resolves every import and loads every file: regular files with one link,
 * under the real folder of the package (checked on the opened file), each at most
 * `MAX_MODULE_BYTES`, read without waiting (a named pipe is refused, never read), as code (.js,
 * .mjs, .cjs) or JSON only, whatever an import attribute asks. Dependencies must be bundled into the
 * plugin or shipped in its own `node_modules`. A bundle has a deadline, and the host's `close()`
 * cancels one that nobody waits for any more.
 *
 * A plugin that imports a Node module cannot run in a Compartment: the bundle fails with an error
 * naming the import and saying what to use instead, before any isolate starts.
 */
import { realpathSync, statSync } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { dirname, extname, join, resolve } from 'node:path';
import type { BuildContext, Loader, Plugin, PluginBuild } from 'esbuild';
import { inside, readPackageFile } from './package-files.js';

/** One module file of a plugin: larger ones are refused (a bundled plugin with its SDK is ~0.5 MiB). */
export const MAX_MODULE_BYTES = 16 * 1024 * 1024;
/** Every file one bundle reads, together. */
export const MAX_BUNDLE_INPUT_BYTES = 64 * 1024 * 1024;
const MAX_MANIFEST_BYTES = 1024 * 1024;

const LOADERS: Readonly<Record<string, Loader>> = { '.js': 'js', '.mjs': 'js', '.cjs': 'js', '.json': 'json' };
/** What an extensionless import may mean, in order, as Node's CommonJS resolution tries. */
const SUFFIXES = ['', '.js', '.mjs', '.cjs', '.json', '/index.js', '/index.mjs', '/index.cjs', '/index.json'];
const CONDITIONS = ['import', 'module', 'default', 'require'];
const NAMESPACE = 'flowhost-package';

const NODE_MODULE = new RegExp(
  `^(?:node:.*|(?:${builtinModules.map((name) => name.replace(/[/\\-]/g, (c) => `\\${c}`)).join('|')})(?:/.*)?)$`,
);

export class SandboxBundleError extends Error {
  override readonly name = 'SandboxBundleError';
}

export interface BundleOptions {
  /** The bundle fails when it has not finished within this (the plugin's start-up deadline). */
  readonly timeoutMs: number;
  /** Aborted: this caller stops waiting (the host closed); the bundle is cancelled once nobody waits. */
  readonly signal?: AbortSignal;
}

interface Pending {
  readonly stamp: string;
  readonly source: Promise<string>;
  waiters: number;
  readonly cancel: () => void;
}

const cache = new Map<string, Pending>();
/** Bundles esbuild is working on, in this process. */
let active = 0;

/**
 * The bundled source of the plugin module `modulePath` of the package in `packageDir`, from the
 * cache while the module's size and mtime are unchanged.
 */
export function sandboxSource(
  entry: { readonly modulePath: string; readonly packageDir: string },
  options: BundleOptions,
): Promise<string> {
  const { modulePath } = entry;
  let stamp: string;
  try {
    const info = statSync(modulePath);
    stamp = `${info.size}:${info.mtimeMs}`;
  } catch (error) {
    return Promise.reject(
      new SandboxBundleError(`the plugin module ${modulePath} cannot be read: ${(error as Error).message}`),
    );
  }
  if (options.signal?.aborted)
    return Promise.reject(new SandboxBundleError('the host was closed before the plugin was bundled'));
  let pending = cache.get(modulePath);
  if (pending?.stamp !== stamp) {
    const controller = new AbortController();
    const source = bundle(entry, options.timeoutMs, controller.signal);
    const made: Pending = { stamp, source, waiters: 0, cancel: () => controller.abort() };
    pending = made;
    cache.set(modulePath, made);
    // A failed bundle is not kept: the next open tries again (the files may have been fixed).
    source.catch(() => {
      if (cache.get(modulePath) === made) cache.delete(modulePath);
    });
  }
  return waitFor(pending, options.signal);
}

/** `pending`'s source for one caller; when the last caller stops waiting, the bundle is cancelled. */
function waitFor(pending: Pending, signal: AbortSignal | undefined): Promise<string> {
  pending.waiters++;
  if (!signal) {
    // Waits to the end: the bundle is never cancelled under it.
    pending.source.then(
      () => pending.waiters--,
      () => pending.waiters--,
    );
    return pending.source;
  }
  return new Promise<string>((resolvePromise, reject) => {
    const leave = () => {
      signal.removeEventListener('abort', onAbort);
      pending.waiters--;
    };
    const onAbort = () => {
      leave();
      if (pending.waiters === 0) pending.cancel();
      reject(new SandboxBundleError('the host was closed while the plugin was being bundled'));
    };
    signal.addEventListener('abort', onAbort);
    pending.source.then(
      (source) => {
        leave();
        resolvePromise(source);
      },
      (error: unknown) => {
        leave();
        reject(error);
      },
    );
  });
}

async function bundle(
  entry: { readonly modulePath: string; readonly packageDir: string },
  timeoutMs: number,
  cancelled: AbortSignal,
): Promise<string> {
  const { modulePath } = entry;
  let root: string;
  try {
    root = realpathSync(entry.packageDir);
  } catch (error) {
    throw new SandboxBundleError(
      `the plugin's package ${entry.packageDir} cannot be read: ${(error as Error).message}`,
    );
  }
  const imported = new Set<string>();
  const walls = packageFiles(root, imported);
  let timer: NodeJS.Timeout | undefined;
  let onCancel: (() => void) | undefined;
  let context: BuildContext | undefined;
  let stoppedEarly = false;
  let text: string;
  // Counted from the start: esbuild's process is stopped only when no bundle is at any stage.
  active++;
  const esbuild = import('esbuild');
  try {
    const stopped = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new SandboxBundleError(
              `the plugin module ${modulePath} was not bundled within ${timeoutMs} ms (its start-up deadline)`,
            ),
          ),
        timeoutMs,
      );
      // The deadline alone must not keep the host alive; esbuild's own process does while it works.
      timer.unref();
      onCancel = () => reject(new SandboxBundleError('the host was closed while the plugin was being bundled'));
      if (cancelled.aborted) onCancel();
      else cancelled.addEventListener('abort', onCancel);
    });
    stopped.catch(() => {});
    const making = (await Promise.race([esbuild, stopped])).context({
      entryPoints: [modulePath],
      bundle: true,
      write: false,
      format: 'cjs',
      platform: 'neutral',
      target: 'es2022',
      // No tsconfig.json is looked for: esbuild reads no file of the package itself.
      tsconfigRaw: '{}',
      // Comments go: SES refuses any source text that looks like `import(` or an HTML comment,
      // even inside a comment.
      minifyWhitespace: true,
      legalComments: 'none',
      logLevel: 'silent',
      plugins: [walls],
    });
    making
      .then((made) => {
        context = made;
        // Made after the bundle was given up: freed at once, or it would hold esbuild's process.
        if (stoppedEarly)
          void made
            .cancel()
            .then(() => made.dispose())
            .catch(() => {});
      })
      .catch(() => {});
    const result = await Promise.race([making.then((made) => made.rebuild()), stopped]);
    text = result.outputFiles![0].text;
  } catch (error) {
    if (error instanceof SandboxBundleError) {
      stoppedEarly = true;
      throw error;
    }
    const messages =
      (error as { errors?: { text: string }[] }).errors?.map((e) => e.text).join('; ') ?? (error as Error).message;
    throw new SandboxBundleError(`the plugin module ${modulePath} cannot be bundled for a sandbox: ${messages}`);
  } finally {
    active--;
    clearTimeout(timer);
    if (onCancel) cancelled.removeEventListener('abort', onCancel);
    if (!stoppedEarly) await context?.dispose().catch(() => {});
    else if (active === 0) {
      // Past its deadline, or nobody waits for it: esbuild's process would keep the host alive until
      // the build ends (cancel() waits for that). With no other bundle at any stage, it is stopped;
      // the next bundle starts a new one.
      await (await esbuild).stop();
    } else {
      const abandoned = context;
      void abandoned
        ?.cancel()
        .then(() => abandoned.dispose())
        .catch(() => {});
    }
  }
  if (imported.size > 0) {
    throw new SandboxBundleError(
      `the plugin imports the Node module(s) ${[...imported].join(', ')}, which plugins cannot use at the sandbox and process levels: reach files, the network and the environment through \`capabilities\` of @flowhost/sdk (granted by the operator from the manifest's requests), or have the operator run this plugin at the worker level`,
    );
  }
  return text;
}

/** The esbuild plugin that resolves and reads every file of a bundle, inside the package `root` only. */
function packageFiles(root: string, imported: Set<string>): Plugin {
  let total = 0;
  const refuse = (text: string) => ({ errors: [{ text }] });
  return {
    name: 'flowhost-package-files',
    setup(build: PluginBuild) {
      build.onResolve({ filter: /.*/ }, async (args) => {
        if (NODE_MODULE.test(args.path) && args.kind !== 'entry-point') {
          imported.add(`'${args.path}' (imported by ${args.importer.split('/').slice(-2).join('/')})`);
          return { path: args.path, external: true };
        }
        const attributes = Object.entries(args.with ?? {});
        if (
          attributes.length > 0 &&
          !(attributes.length === 1 && attributes[0][0] === 'type' && attributes[0][1] === 'json')
        ) {
          return refuse(
            `'${args.path}' is imported with { ${attributes.map(([k, v]) => `${k}: '${v}'`).join(', ')} }: a plugin bundle holds code (.js, .mjs, .cjs) and JSON only`,
          );
        }
        try {
          const path =
            args.kind === 'entry-point'
              ? await packagePath(resolve(args.path), root)
              : await resolveImport(args.path, args.resolveDir || dirname(args.importer), root);
          if (attributes.length > 0 && extname(path) !== '.json')
            return refuse(`'${args.path}' is imported as JSON but is ${path}`);
          return { path, namespace: NAMESPACE };
        } catch (error) {
          return refuse((error as Error).message);
        }
      });
      build.onLoad({ filter: /.*/, namespace: NAMESPACE }, async (args) => {
        const loader = LOADERS[extname(args.path)];
        if (!loader) return refuse(`${args.path}: a plugin bundle holds code (.js, .mjs, .cjs) and JSON only`);
        try {
          const contents = await readPackageFile(
            args.path,
            root,
            Math.min(MAX_MODULE_BYTES, MAX_BUNDLE_INPUT_BYTES - total),
          );
          total += contents.byteLength;
          // As text: esbuild took 2–3x longer to bundle the same module handed over as a Buffer.
          return { contents: contents.toString('utf8'), loader, resolveDir: dirname(args.path) };
        } catch (error) {
          return refuse(
            total >= MAX_BUNDLE_INPUT_BYTES
              ? `the plugin's files passed ${MAX_BUNDLE_INPUT_BYTES} bytes together`
              : (error as Error).message,
          );
        }
      });
    },
  };
}

/** The real path of `path`, which must lie in the package `root`. */
async function packagePath(path: string, root: string): Promise<string> {
  let real: string;
  try {
    real = await realpath(path);
  } catch (error) {
    throw new SandboxBundleError(
      `${path} cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  if (!inside(real, root))
    throw new SandboxBundleError(
      `${path} leads to ${real}, outside the plugin's package ${root}: a plugin bundle reads only what its package ships`,
    );
  return real;
}

/** The file an import names: a path, or a package in a `node_modules` folder inside the plugin's package. */
async function resolveImport(specifier: string, fromDir: string, root: string): Promise<string> {
  if (
    specifier.startsWith('/') ||
    specifier === '.' ||
    specifier === '..' ||
    specifier.startsWith('./') ||
    specifier.startsWith('../')
  ) {
    return resolveFile(resolve(fromDir, specifier), specifier, root);
  }
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(specifier))
    throw new SandboxBundleError(`'${specifier}': a plugin bundle reads only files its package ships, not URLs`);
  const parts = specifier.split('/');
  const nameLength = specifier.startsWith('@') ? 2 : 1;
  const name = parts.slice(0, nameLength).join('/');
  const subpath = parts.slice(nameLength).join('/');
  for (let dir = fromDir; inside(dir, root); dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    const info = await stat(candidate).catch(() => null);
    if (info?.isDirectory()) return resolvePackage(await packagePath(candidate, root), subpath, specifier, root);
    if (dir === root) break;
  }
  throw new SandboxBundleError(
    `'${specifier}' is not in the plugin's package ${root}: bundle the plugin's dependencies into its modules (as flowhost init-plugin's build does), or ship them in the package's own node_modules`,
  );
}

/** The module of package `dir` that `subpath` (or its main entry) names, from its package.json. */
async function resolvePackage(dir: string, subpath: string, specifier: string, root: string): Promise<string> {
  let manifest: { exports?: unknown; module?: unknown; main?: unknown } = {};
  const manifestPath = join(dir, 'package.json');
  if (await stat(manifestPath).catch(() => null)) {
    try {
      manifest = JSON.parse(
        (await readPackageFile(manifestPath, root, MAX_MANIFEST_BYTES)).toString('utf8'),
      ) as typeof manifest;
    } catch (error) {
      throw new SandboxBundleError(`'${specifier}': ${manifestPath} cannot be used: ${(error as Error).message}`);
    }
  }
  const key = subpath ? `./${subpath}` : '.';
  let target = exported(manifest.exports, key);
  if (target === undefined && manifest.exports === undefined) {
    target =
      subpath ||
      [manifest.module, manifest.main].find((value): value is string => typeof value === 'string') ||
      'index.js';
  }
  if (target === undefined) throw new SandboxBundleError(`'${specifier}': ${manifestPath} exports no '${key}'`);
  return resolveFile(join(dir, target), specifier, root);
}

/** `exports[key]` of a package.json, conditions picked as a neutral-platform ESM import. */
function exported(exports: unknown, key: string): string | undefined {
  if (exports === undefined || exports === null) return undefined;
  const pick = (value: unknown): string | undefined => {
    if (typeof value === 'string') return value;
    if (Array.isArray(value)) return value.map(pick).find((found) => found !== undefined);
    if (typeof value === 'object' && value !== null) {
      for (const condition of CONDITIONS)
        if (Object.hasOwn(value, condition)) return pick((value as Record<string, unknown>)[condition]);
    }
    return undefined;
  };
  if (typeof exports === 'string' || Array.isArray(exports)) return key === '.' ? pick(exports) : undefined;
  if (typeof exports !== 'object') return undefined;
  const subpaths = Object.keys(exports).some((name) => name.startsWith('.'));
  if (!subpaths) return key === '.' ? pick(exports) : undefined;
  return Object.hasOwn(exports, key) ? pick((exports as Record<string, unknown>)[key]) : undefined;
}

/** The first of `path`'s candidate files (as written, with an extension, an index) that exists. */
async function resolveFile(path: string, specifier: string, root: string): Promise<string> {
  for (const suffix of SUFFIXES) {
    const candidate = path + suffix;
    const info = await stat(candidate).catch(() => null);
    if (!info || info.isDirectory()) continue;
    if (!info.isFile())
      throw new SandboxBundleError(
        `'${specifier}' is ${candidate}, which is not a regular file (a named pipe, a device or a socket): a plugin bundle reads regular files only`,
      );
    return packagePath(candidate, root);
  }
  throw new SandboxBundleError(
    `'${specifier}' names no file (tried ${path} with .js, .mjs, .cjs, .json and index files)`,
  );
}
