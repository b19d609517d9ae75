/**
 * `flowhost init-plugin --kind KIND NAME [--dir DIR]`: creates a plugin package that builds on its
 * own (esbuild), passes its tests (for a tracking store, flowhost's conformance kit) and is found by
 * discovery once installed. Kind-specific sources are in plugin-templates.ts; this file holds the
 * package around them, the checks on the command's input, and the writing.
 *
 * How the package gets `@flowhost/sdk`: flowhost is not on npm, so by default the package depends
 * on the SDK folder of the flowhost that created it (`file:/…/flowhost/sdk`, an absolute path so
 * the plugin folder can move). npm links that folder, offline. The built plugin bundles its copy
 * of the SDK, so the dependency is needed to build and test, never by a host at run time.
 * `--sdk SPEC` writes another spec (a version range, once the SDK is published).
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { MlflowError, PLUGIN_GROUPS, type PluginGroup } from '@flowhost/sdk';
import { BUILTIN_PLUGINS } from '../builtin-plugins.js';
import { flowhostRoot } from '../paths.js';
import type { Command } from './command.js';
import { TEMPLATES, type KindTemplate, type TemplateInput } from './plugin-templates.js';

/**
 * An entry-point name is the scheme users type (`NAME:/path`), or a backend or target name that
 * MLflow parses the same way. Python's `urlparse` takes a scheme only when it starts with a letter
 * and holds letters, digits, `+`, `-` and `.`, and lower-cases it; flowhost looks schemes up
 * lower-cased too (host/registry.ts), so an upper-case name could never be reached.
 */
const ENTRY_POINT_NAME = /^[a-z][a-z0-9+.-]*$/;

/** npm's rules for a package name, in short: lower case, URL-safe, an optional `@scope/`. */
const PACKAGE_NAME = /^(?:@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/;

/** Kinds init-plugin can scaffold: a template exists and this SDK declares the kind's shape. */
export function supportedKinds(): PluginGroup[] {
  return PLUGIN_GROUPS.filter((group) => TEMPLATES[group] !== undefined);
}

/** Why `name` cannot be an entry-point name, or null when it can. */
export function entryPointNameProblem(name: string): string | null {
  if (ENTRY_POINT_NAME.test(name)) return null;
  const lowered = name.toLowerCase();
  const hint = lowered !== name && ENTRY_POINT_NAME.test(lowered) ? ` Did you mean '${lowered}'?` : '';
  return (
    `'${name}' cannot be an entry-point name. The name is the URI scheme users type (NAME:/some/path), ` +
    `so it follows the rules for URI schemes: it starts with a letter and holds only letters, digits, '+', '-' and '.'; ` +
    `and it must be lower case, because schemes are matched lower-cased (as MLflow does), so an upper-case name could never be reached.${hint}`
  );
}

export interface ScaffoldOptions {
  readonly kind: PluginGroup;
  readonly name: string;
  /** The package folder to create; must be missing or empty. */
  readonly dir: string;
  /** npm package name; default `flowhost-NAME`. */
  readonly packageName?: string;
  /** The `@flowhost/sdk` dependency spec; default `file:<this flowhost's sdk folder>`. */
  readonly sdk?: string;
}

export interface ScaffoldResult {
  readonly dir: string;
  readonly packageName: string;
  /** Paths relative to `dir`, in the order written. */
  readonly files: string[];
  readonly sdk: string;
  readonly template: KindTemplate;
}

/** What this flowhost knows about itself: where its SDK is, and the tool versions it builds with. */
interface Toolchain {
  readonly sdkDir: string | null;
  readonly sdkVersion: string | null;
  readonly sdkDependencies: Readonly<Record<string, string>>;
  readonly devDependencies: Readonly<Record<string, string>>;
  readonly authoringDoc: string | null;
}

function readJson(path: string): Record<string, unknown> | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch {
    return null;
  }
}

/** The versions a scaffold falls back to when flowhost's own package.json does not name them. */
const FALLBACK_TOOLS: Record<string, string> = {
  '@types/node': '^20.19.0',
  ava: '^7.0.0',
  esbuild: '^0.28.2',
  typescript: '^5.9.3',
};

function toolchain(): Toolchain {
  const root = flowhostRoot();
  const sdkDir = join(root, 'sdk');
  const sdk = readJson(join(sdkDir, 'package.json'));
  const own = readJson(join(root, 'package.json'));
  const ownDev = (own?.devDependencies ?? {}) as Record<string, string>;
  // The same tools, at the same versions, as flowhost builds and tests itself with: known to work together.
  const devDependencies = Object.fromEntries(
    Object.keys(FALLBACK_TOOLS).map((tool) => [tool, ownDev[tool] ?? FALLBACK_TOOLS[tool]]),
  );
  const isSdk = sdk?.name === '@flowhost/sdk';
  const doc = join(root, 'docs', 'authoring.md');
  return {
    sdkDir: isSdk ? sdkDir : null,
    sdkVersion: isSdk && typeof sdk.version === 'string' ? sdk.version : null,
    sdkDependencies: (isSdk ? (sdk.dependencies ?? {}) : {}) as Record<string, string>,
    devDependencies,
    authoringDoc: existsSync(doc) ? doc : null,
  };
}

/** Creates the plugin package. Throws an MlflowError naming what to fix; writes nothing then. */
export function scaffoldPlugin(options: ScaffoldOptions): ScaffoldResult {
  const template = TEMPLATES[options.kind];
  if (!template || !supportedKinds().includes(options.kind)) {
    throw MlflowError.invalidParameterValue(
      `Unknown plugin kind '${options.kind}'. Supported kinds: ${supportedKinds().join(', ')}.`,
    );
  }
  const nameProblem = entryPointNameProblem(options.name);
  if (nameProblem) throw MlflowError.invalidParameterValue(nameProblem);
  const packageName = options.packageName ?? `flowhost-${options.name.replace(/\+/g, '-')}`;
  if (!PACKAGE_NAME.test(packageName) || packageName.length > 214) {
    throw MlflowError.invalidParameterValue(
      `'${packageName}' is not a valid npm package name: lower-case letters, digits, '-', '.', '_' and '~', optionally '@scope/' first, at most 214 characters.`,
    );
  }
  const tools = toolchain();
  const sdk = options.sdk ?? (tools.sdkDir ? `file:${tools.sdkDir}` : null);
  if (sdk === null) {
    throw MlflowError.invalidParameterValue(
      `This flowhost has no SDK folder at ${join(flowhostRoot(), 'sdk')} to depend on; say where @flowhost/sdk comes from with --sdk (a version range or a file: path).`,
    );
  }

  const dir = resolve(options.dir);
  const existed = existsSync(dir);
  if (existed) {
    if (!statSync(dir).isDirectory())
      throw MlflowError.invalidParameterValue(
        `${dir} exists and is not a folder; init-plugin creates a new package folder: pick another --dir.`,
      );
    const present = readdirSync(dir);
    if (present.length > 0) {
      throw new MlflowError(
        `${dir} is not empty (${present.slice(0, 3).join(', ')}${present.length > 3 ? ', …' : ''}); init-plugin never overwrites files: pick another --dir, or empty that folder.`,
        'RESOURCE_ALREADY_EXISTS',
      );
    }
  }

  const input: TemplateInput = { name: options.name, packageName };
  const files: [string, string][] = [
    ['package.json', packageJson(template, input, sdk, tools)],
    ['tsconfig.json', TSCONFIG],
    ['build.mjs', BUILD_MJS],
    ['.gitignore', 'node_modules/\ndist/\n'],
    [`src/${template.module}.ts`, template.source(input)],
    [`test/${template.test.file}`, template.test.source(input)],
    ['README.md', readme(template, input, sdk, dir, tools)],
  ];

  const written: string[] = [];
  try {
    for (const [file, text] of files) {
      const path = join(dir, file);
      mkdirSync(join(path, '..'), { recursive: true });
      // 'wx': never replace a file, even one that appeared after the emptiness check.
      writeFileSync(path, text, { flag: 'wx' });
      written.push(file);
    }
  } catch (error) {
    // Leave nothing half-made behind: remove what this call wrote, then the folders it made if
    // they are empty again (rmdir, not a recursive delete: never anything someone else put there).
    for (const file of written) rmSync(join(dir, file), { force: true });
    for (const folder of ['src', 'test', ...(existed ? [] : ['.'])]) {
      try {
        rmdirSync(join(dir, folder));
      } catch {
        /* not empty, or never made */
      }
    }
    throw error;
  }
  return { dir, packageName, files: written, sdk, template };
}

function packageJson(template: KindTemplate, input: TemplateInput, sdk: string, tools: Toolchain): string {
  const dependencies: Record<string, string> = { '@flowhost/sdk': sdk };
  for (const needed of template.needs ?? []) dependencies[needed] = tools.sdkDependencies[needed] ?? '*';
  const pkg = {
    name: input.packageName,
    version: '0.1.0',
    description: `A flowhost ${template.group} plugin: the '${input.name}' ${template.nameMeans}.`,
    type: 'module',
    // The SDK dependency points into a local flowhost checkout: publishing this would break for
    // everyone else. Remove once it names a published @flowhost/sdk version.
    private: true,
    engines: { node: '>=20' },
    scripts: {
      build: 'node build.mjs',
      typecheck: 'tsc --noEmit',
      test: 'node build.mjs && ava',
    },
    dependencies,
    devDependencies: tools.devDependencies,
    ava: {
      files: ['dist/test/**/*.test.js'],
      nodeArguments: ['--enable-source-maps'],
      timeout: '2m',
    },
    flowhost: {
      entryPoints: { [template.group]: { [input.name]: `./dist/${template.module}.js` } },
      manifest: {
        // flowhost's defaults, written out to be tuned: a call's deadline (a caller may shorten
        // it), the time to start a worker and answer the handshake, and the worker's heap cap.
        limits: { callTimeoutMs: 30000, startupTimeoutMs: 10000, maxOldGenerationSizeMb: 256 },
        // Host environment variables the worker may see; it sees none otherwise.
        env: [] as string[],
      },
    },
  };
  return `${JSON.stringify(pkg, null, 2)}\n`;
}

/** The same compiler settings flowhost checks itself with: the SDK's TypeScript source is checked under them too. */
const TSCONFIG = `{
  // "types" in @flowhost/sdk's exports point at its TypeScript source, which tsc checks with these
  // options: stricter ones (noUncheckedIndexedAccess, …) would report errors in the SDK, not here.
  "compilerOptions": {
    "target": "ES2022",
    "module": "NodeNext",
    "moduleResolution": "NodeNext",
    "strict": true,
    "noImplicitOverride": true,
    "noFallthroughCasesInSwitch": true,
    "esModuleInterop": true,
    "skipLibCheck": true,
    "resolveJsonModule": true,
    "isolatedModules": true,
    "verbatimModuleSyntax": true,
    "lib": ["ES2023"],
    "types": ["node"],
    "noEmit": true
  },
  "include": ["src/**/*.ts", "test/**/*.ts"]
}
`;

const BUILD_MJS = `// Builds the plugin with esbuild (type checking is \`npm run typecheck\`).
//
//  - src/*.ts        → dist/*.js: each top-level module is one entry point, bundled into one file
//                      with its copy of @flowhost/sdk. A worker starts faster from one file, and
//                      the bundle carries the SDK's protocol version (the host's start-up
//                      handshake checks it).
//  - test/*.test.ts  → dist/test/*.test.js, bundled the same way, ava left outside: ava runs them.
//
// A dependency that cannot be bundled (a native addon, or CommonJS that require()s Node's
// built-ins) goes in \`external\` below and in package.json's dependencies: the worker then loads
// it from this package's node_modules.
import { build } from 'esbuild';
import { readdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));
const modules = (dir, suffix) =>
  readdirSync(root + dir)
    .filter((name) => name.endsWith(suffix) && !name.endsWith('.d.ts'))
    .map((name) => root + dir + '/' + name);

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: 'linked',
  logLevel: 'warning',
  // The SDK's TypeScript source (its "source" export condition): no need to build the SDK first.
  conditions: ['source'],
  mainFields: ['module', 'main'],
};

rmSync(root + 'dist', { recursive: true, force: true });
await Promise.all([
  build({ ...common, entryPoints: modules('src', '.ts'), outdir: root + 'dist' }),
  build({ ...common, entryPoints: modules('test', '.test.ts'), outdir: root + 'dist/test', external: ['ava'] }),
]);
`;

function readme(template: KindTemplate, input: TemplateInput, sdk: string, dir: string, tools: Toolchain): string {
  const { name, packageName } = input;
  const module = template.module;
  const authoring = tools.authoringDoc
    ? `flowhost's authoring guide (\`${tools.authoringDoc}\`)`
    : "flowhost's authoring guide (docs/authoring.md)";
  const testLine =
    template.group === 'tracking_store'
      ? `- \`test/${template.test.file}\`: flowhost's tracking-store conformance kit against the plugin: MLflow's FileStore behaviour, error codes and messages, case by case.`
      : `- \`test/${template.test.file}\`: the plugin's behaviour, through the same argument and result checks a worker call gets.`;
  const required = Object.entries(template.kind.methods)
    .filter(([, m]) => m.required)
    .map(([method]) => `\`${method}\``);
  return `# ${packageName}

A flowhost \`${template.group}\` plugin: the \`${name}\` ${template.nameMeans}. Created by
\`flowhost init-plugin\`; it builds, passes its tests and is found by flowhost once installed, as it is.
The walk from here to a plugin in use is ${authoring}.

## Build and test

\`\`\`sh
npm install          # @flowhost/sdk (see below), esbuild, ava, typescript
npm run build        # esbuild: src/${module}.ts → dist/${module}.js, one file with its SDK copy
npm test             # build, then ava
npm run typecheck    # tsc --noEmit
\`\`\`

## What is where

- \`src/${module}.ts\`: the plugin, the default export of \`define…\` from \`@flowhost/sdk\`. Comments mark
  where your own backend goes. Required methods: ${required.join(', ')}.
${testLine}
- \`package.json\`, field \`flowhost\`: the entry point (\`${template.group}\` → \`${name}\` → \`./dist/${module}.js\`, which
  must exist: build before installing) and the manifest: \`limits\` (deadline of a call, start-up
  time, heap) and \`env\` (host environment variables the plugin may read; it sees none otherwise).
- \`build.mjs\`: the esbuild bundling.

## Use it

Install it where flowhost runs (\`npm install ${dir}\` in that project), then check it:
\`flowhost plugins list\` shows it, \`flowhost plugins doctor ${name}\` starts it in a worker and runs the
handshake. Then:

${template.usage(input)}

${
  template.usesNode
    ? `It uses Node's file system (through the SDK's libraries), so it runs at flowhost's \`subprocess\` isolation
level (a child process with all of Node). Hosts built without a policy (the CLI, the fluent API, scripts) run
installed plugins so; a host given a policy runs third-party plugins in the \`sandbox\`, where only the SDK's
\`capabilities\` reach the outside, unless it trusts this one: \`policy: { plugins: { '${packageName}': { isolation: 'subprocess' } } }\`.`
    : `It uses nothing but the SDK, so it also runs in flowhost's \`sandbox\`, where hosts given a policy put
third-party plugins; reach files, the network or the environment only through the SDK's
\`capabilities\` to keep it so.`
}

## How this package gets @flowhost/sdk

\`package.json\` says \`"@flowhost/sdk": "${sdk}"\`${
    sdk.startsWith('file:')
      ? `: the SDK folder of the flowhost that created the package,
because flowhost is not published to npm. \`npm install\` links that folder (no network needed for
it). If that flowhost moves, change the path and run \`npm install\` again; once the SDK is published,
replace it with a version (\`npm install @flowhost/sdk${tools.sdkVersion ? `@^${tools.sdkVersion}` : ''}\`) and drop \`"private": true\`.`
      : '.'
  }

The build bundles the SDK into \`dist/${module}.js\`, so a host never loads this package's SDK at run time.
The bundle does carry the SDK's protocol version: a host that speaks another version refuses the
plugin at start-up with a message saying so. Rebuild against the SDK of the flowhost that runs it.
`;
}

export const initPluginCommands: Command[] = [
  {
    path: ['init-plugin'],
    summary:
      'Create a plugin package (source, build, tests, manifest) that builds, passes its tests, and is found once installed.',
    positionals: ['NAME'],
    options: {
      kind: {
        type: 'string',
        required: true,
        description: `plugin kind (entry-point group): ${supportedKinds().join(', ')}`,
      },
      dir: { type: 'string', description: 'the package folder to create, missing or empty (default: ./NAME)' },
      package: { type: 'string', description: 'npm package name (default: flowhost-NAME)' },
      sdk: { type: 'string', description: "the @flowhost/sdk dependency (default: file:<this flowhost's sdk folder>)" },
    },
    async run(context) {
      if (context.positionals.length > 1)
        throw MlflowError.invalidParameterValue(
          `init-plugin takes one NAME, got ${context.positionals.length}: ${context.positionals.join(' ')}.`,
        );
      const name = context.positionals[0];
      const result = scaffoldPlugin({
        kind: context.values.kind as PluginGroup,
        name,
        dir: (context.values.dir as string | undefined) ?? name,
        packageName: context.values.package as string | undefined,
        sdk: context.values.sdk as string | undefined,
      });
      const { template, dir } = result;
      const shown = relative(process.cwd(), dir);
      const cd = shown === '' ? '.' : shown.startsWith('..') || isAbsolute(shown) ? dir : shown;
      context.out(
        `Created ${result.packageName} in ${dir}: a ${template.group} plugin, the '${name}' ${template.nameMeans}.`,
      );
      for (const file of result.files) context.out(`  ${file}`);
      const builtin = BUILTIN_PLUGINS.find((entry) => entry.group === template.group && entry.name === name);
      if (builtin)
        context.out(`Note: '${name}' is also a built-in ${template.group}; once installed, this plugin takes it over.`);
      context.out('');
      context.out('Next:');
      context.out(`  cd ${cd.includes(' ') ? JSON.stringify(cd) : cd}`);
      context.out(`  npm install       # @flowhost/sdk from ${result.sdk}, esbuild, ava, typescript`);
      context.out(
        `  npm test          # build, then ${template.group === 'tracking_store' ? "flowhost's tracking-store conformance kit" : 'the plugin test'}`,
      );
      context.out(
        `Then install it into a project (npm install ${dir.includes(' ') ? JSON.stringify(dir) : dir}) and check it: flowhost plugins doctor ${name}`,
      );
      const doc = join(flowhostRoot(), 'docs', 'authoring.md');
      if (existsSync(doc)) context.out(`The whole walk: ${doc}`);
    },
  },
];
