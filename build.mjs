// Builds flowhost with esbuild (type checking is `tsc --noEmit`, run by `npm test` before this).
//
//  - sdk/**.ts                      → sdk/dist/**.js  (the SDK is its own package, resolved by name)
//  - host, workers, wire, test, bench, examples → dist/**.js (one file each, imports kept)
//  - workers/{,sandbox-,process-}bootstrap.ts → dist/workers/*.js, one bundle each: an isolate starts
//                                     faster loading one file than walking an import graph;
//                                     process-bootstrap.ts also → subprocess-bootstrap.js, without SES
//  - host/builtins/*.ts             → dist/builtins/*.js, bundled like any third-party plugin
//  - sample-plugins/*/src/*.ts      → sample-plugins/*/dist/*.js, each plugin bundled with its SDK copy
import { build } from 'esbuild';
import { readdirSync, readFileSync, statSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('.', import.meta.url).pathname;
const common = { platform: 'node', target: 'node20', format: 'esm', logLevel: 'error', sourcemap: 'linked' };

function tsFiles(dir, { recursive = true } = {}) {
  const out = [];
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      if (recursive) out.push(...tsFiles(path));
    } else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

const clean = process.argv.includes('--clean');
if (clean) for (const dir of ['dist', 'sdk/dist']) rmSync(join(root, dir), { recursive: true, force: true });

const jobs = [];

// The SDK package.
jobs.push(
  build({
    ...common,
    entryPoints: tsFiles(join(root, 'sdk')),
    outdir: join(root, 'sdk/dist'),
    outbase: join(root, 'sdk'),
  }),
);

// What starts an isolate, one bundle each (below): the thread of the `worker` level, the thread of
// the `sandbox` level (with SES), and the child of the `process` level, which may read no file but
// its own entry (Node's permission flags), so it must be self-contained.
const isolateEntries = ['bootstrap', 'sandbox-bootstrap', 'process-bootstrap'].map((name) =>
  join(root, `workers/${name}.ts`),
);

// Host-side code, tests, benchmarks, examples: transpiled file by file.
const builtinsDir = join(root, 'host/builtins');
const sources = ['host', 'workers', 'wire', 'test', 'bench', 'examples']
  .flatMap((d) => tsFiles(join(root, d)))
  .filter((f) => !f.startsWith(builtinsDir + '/') && !isolateEntries.includes(f));
jobs.push(build({ ...common, entryPoints: sources, outdir: join(root, 'dist'), outbase: root }));

// What runs inside a worker: the runtime, and the first-party plugins, each one bundle.
// Bundles import no Node module of their own making: at the sandbox and process levels a plugin
// bundle must be self-contained (host/sandbox-bundle.ts refuses Node imports).
// better-sqlite3 is a native addon (loaded from node_modules at run time); pg-native is pg's optional native binding.
const bundle = {
  ...common,
  bundle: true,
  external: ['msgpackr-extract', 'better-sqlite3', 'pg-native'],
  mainFields: ['module', 'main'],
  conditions: ['source'],
};
jobs.push(build({ ...bundle, entryPoints: isolateEntries, outdir: join(root, 'dist/workers') }));
// The `subprocess` level's child: the `process` child's entry without the sandbox (SES), which a
// child started with `--import-plugin` never loads: 300 kB less to compile at every start.
const withoutSandbox = {
  name: 'without-sandbox',
  setup(b) {
    b.onResolve({ filter: /^\.\/sandbox\.js$/ }, () => ({ path: 'sandbox', namespace: 'without-sandbox' }));
    b.onLoad({ filter: /.*/, namespace: 'without-sandbox' }, () => ({
      contents:
        "export function loadSandboxed() { throw new Error('this child imports plugins (--import-plugin): it has no sandbox'); }",
      loader: 'js',
    }));
  },
};
jobs.push(
  build({
    ...bundle,
    entryPoints: { 'subprocess-bootstrap': join(root, 'workers/process-bootstrap.ts') },
    outdir: join(root, 'dist/workers'),
    plugins: [withoutSandbox],
  }),
);
const builtins = tsFiles(builtinsDir, { recursive: false });
// Built-ins run where Node's modules are allowed (never sandboxed), so they may bundle CommonJS
// packages (pg, the AWS SDK of the S3 repository) that require Node's modules: `require` is
// provided for them.
const cjsRequire =
  "import { createRequire as __flowhostCreateRequire } from 'node:module'; const require = __flowhostCreateRequire(import.meta.url);";
if (builtins.length)
  jobs.push(
    build({ ...bundle, banner: { js: cjsRequire }, entryPoints: builtins, outdir: join(root, 'dist/builtins') }),
  );

// Sample plugin packages: every top-level src/*.ts is one entry point module.
const pluginsDir = join(root, 'sample-plugins');
for (const name of existsSync(pluginsDir) ? readdirSync(pluginsDir) : []) {
  const dir = join(pluginsDir, name);
  const entries = tsFiles(join(dir, 'src'), { recursive: false });
  if (entries.length) jobs.push(build({ ...bundle, entryPoints: entries, outdir: join(dir, 'dist') }));
}

// The web UI (ui/): one bundle for the page, one for its data worker, and their CSS, named by
// content hash so the server can let browsers cache them for good; index.html is written last with
// those names (the server sends it uncached).
const uiDir = join(root, 'ui');
const uiOut = join(root, 'dist/ui');
jobs.push(
  build({
    entryPoints: { app: join(uiDir, 'src/main.tsx'), 'data-worker': join(uiDir, 'src/data-worker.ts') },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome110', 'firefox115', 'safari16'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    sourcemap: 'linked',
    entryNames: '[name]-[hash]',
    outdir: join(uiOut, 'static-files'),
    metafile: true,
    logLevel: 'error',
  }).then((result) => {
    const outputs = Object.entries(result.metafile.outputs);
    const named = (entry, ext) =>
      outputs.find(([file, o]) => file.endsWith(ext) && (o.entryPoint ?? '').endsWith(entry))?.[0];
    const cssOf = outputs.find(([file]) => file.endsWith('.css'))?.[0];
    const base = (file) => file.split('/').pop();
    const html = readFileSync(join(uiDir, 'index.html'), 'utf8')
      .replace('__JS__', base(named('src/main.tsx', '.js')))
      .replace('__CSS__', base(cssOf))
      .replace('__WORKER__', base(named('src/data-worker.ts', '.js')));
    writeFileSync(join(uiOut, 'index.html'), html);
  }),
);

const started = Date.now();
// Every job runs to the end even when one fails, so one broken file does not hide the others' output.
const failed = (await Promise.allSettled(jobs)).filter((r) => r.status === 'rejected');
console.log(
  `build: ${jobs.length - failed.length}/${jobs.length} esbuild jobs in ${Date.now() - started} ms (${relative(process.cwd(), root) || '.'})`,
);
if (failed.length) process.exitCode = 1;
