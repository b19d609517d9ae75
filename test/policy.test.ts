/**
 * Manifest and policy: what a manifest may request, what the operator's policy grants
 * (per plugin, per tenant, most specific rule first), the defaults (untrusted: sandbox and nothing
 * granted; built-ins at worker; a host with no policy trusts what its user installed), and a
 * plugin's view of it: the same plugin, keeping to `capabilities`, works at every level within its
 * grants and gets an error naming the capability outside them.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { chmodSync, chownSync, realpathSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { artifactRepository, isMlflowError } from '@flowhost/sdk';
import { BUILTIN_PLUGINS } from '../host/builtin-plugins.js';
import { discoverPlugins, type PluginEntry } from '../host/discovery.js';
import { Flowhost } from '../host/flowhost.js';
import { DEFAULT_LIMITS } from '../host/limits.js';
import { quotaOf, resolvePolicy, type HostPolicy } from '../host/policy.js';
import { repoRoot, timed } from './helpers/hosts.js';

const hostilePlugins = `${repoRoot}sample-plugins/hostile`;

function entryOf(name: string): PluginEntry {
  const { entries } = discoverPlugins({ nodeModules: [], pluginDirs: [hostilePlugins], env: {} });
  const entry = entries.find((e) => e.name === name);
  if (!entry) throw new Error(`no ${name}`);
  return entry;
}

// --- the manifest

test('the manifest requests folders, hosts and variables; anything malformed is reported and never requested', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'flowhost-manifest-'));
  try {
    await writeFile(join(dir, 'plugin.js'), 'export default null;');
    await writeFile(
      join(dir, 'package.json'),
      JSON.stringify({
        name: 'asking-plugin',
        flowhost: {
          entryPoints: { tracking_store: { asking: './plugin.js' } },
          manifest: {
            env: ['OLD_SPELLING'],
            capabilities: {
              fs: [
                { path: '$storeRoot', access: 'write' },
                '/etc/ssl/certs',
                { path: 'relative/path', access: 'read' },
                { path: '/data', access: 'everything' },
                { path: '$home' },
              ],
              net: [
                'api.example.com',
                '*.blob.example.net',
                '127.0.0.1:8080',
                'localhost:*',
                '[::1]:443',
                'http://no-scheme.example',
                'bad host',
              ],
              env: ['TOKEN', 'not a name'],
              exec: ['/bin/sh'],
            },
          },
        },
      }),
    );
    const { entries, problems } = discoverPlugins({ nodeModules: [], pluginDirs: [dir], env: {} });
    t.deepEqual(entries[0].manifest.capabilities, {
      fs: [
        { path: '$storeRoot', access: 'write' },
        { path: '/etc/ssl/certs', access: 'read' },
      ],
      net: ['api.example.com', '*.blob.example.net', '127.0.0.1:8080', 'localhost:*', '[::1]:443'],
      env: ['OLD_SPELLING', 'TOKEN'],
    });
    t.deepEqual(entries[0].manifest.env, ['OLD_SPELLING', 'TOKEN'], 'both spellings of env');
    const reasons = problems.map((p) => p.reason).join('\n');
    t.regex(
      reasons,
      /capabilities\.fs: \{"path":"relative\/path","access":"read"\} must name an absolute path, \$storeRoot or \$packageDir/,
    );
    t.regex(reasons, /the access of \/data must be "read" or "write"/);
    t.regex(reasons, /\{"path":"\$home"\} must name an absolute path/);
    t.regex(reasons, /"http:\/\/no-scheme\.example" is not a host/);
    t.regex(reasons, /"bad host" is not a host/);
    t.regex(reasons, /"not a name" is not an environment variable name/);
    t.regex(reasons, /unknown capability 'exec' \(known: fs, net, env\)/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

// --- the policy

const context = (root: string) => ({ storeUri: `hostile-capabilities-probe:${root}`, artifactUri: null });

test('untrusted by default: a host with a policy runs third-party plugins in a sandbox with nothing granted, and says what it refused', (t) => {
  const entry = entryOf('hostile-capabilities-probe');
  const resolved = resolvePolicy({}, entry, 'default', context('/data/store'), { FLOWHOST_PROBE_TOKEN: 'x' });
  t.is(resolved.isolation, 'sandbox');
  t.deepEqual(resolved.capabilities.fs, []);
  t.deepEqual(resolved.capabilities.net, []);
  t.deepEqual(resolved.capabilities.env, {});
  t.deepEqual(resolved.capabilities.refused, {
    fs: ['$storeRoot (write)'],
    net: ['localhost:*'],
    env: ['FLOWHOST_PROBE_TOKEN', 'FLOWHOST_PROBE_MISSING'],
  });
});

test('an untrusted manifest may tighten its limits, never loosen them; a trusted one is taken as written', (t) => {
  const entry = { ...entryOf('hostile-capabilities-probe') };
  const manifest = {
    ...entry.manifest,
    limits: { callTimeoutMs: 3000, maxOldGenerationSizeMb: 4096, maxCrashes: 1000, maxResultBytes: 1024 },
  };
  const asking = { ...entry, manifest };
  const untrusted = resolvePolicy({}, asking, 'default', null, {}).limits;
  t.is(untrusted.callTimeoutMs, 3000, 'a shorter deadline is taken');
  t.is(untrusted.maxResultBytes, 1024);
  t.is(untrusted.maxOldGenerationSizeMb, DEFAULT_LIMITS.maxOldGenerationSizeMb, 'a bigger heap is not');
  t.is(untrusted.maxCrashes, DEFAULT_LIMITS.maxCrashes, 'a looser crash budget is not');
  const trusted = resolvePolicy({ thirdParty: 'trusted' }, asking, 'default', null, {}).limits;
  t.is(trusted.maxOldGenerationSizeMb, 4096);
  const operator = resolvePolicy({ limits: { callTimeoutMs: 1000 } }, asking, 'default', null, {}).limits;
  t.is(operator.callTimeoutMs, 1000, "the operator's limit wins over the manifest's");
});

test('a host built with no policy trusts what its user installed: subprocess level, everything requested granted', (t) => {
  const resolved = resolvePolicy(undefined, entryOf('hostile-capabilities-probe'), 'default', context('/data/store'), {
    FLOWHOST_PROBE_TOKEN: 'x',
  });
  t.is(resolved.isolation, 'subprocess');
  t.deepEqual(resolved.capabilities.fs, [{ root: '/data/store', access: 'write' }]);
  t.deepEqual(resolved.capabilities.net, ['localhost:*']);
  t.deepEqual(resolved.capabilities.env, { FLOWHOST_PROBE_TOKEN: 'x', FLOWHOST_PROBE_MISSING: null });
});

test('built-in plugins stay at the worker level (or in-process when asked), with their declared environment', (t) => {
  const builtin = BUILTIN_PLUGINS.find((e) => e.group === 'model_registry_store')!;
  const policy: HostPolicy = { isolation: 'process' };
  const resolved = resolvePolicy(
    policy,
    builtin,
    'default',
    { storeUri: '', trackingUri: null },
    { MLFLOW_REGISTRY_DIR: '/r' },
  );
  t.is(resolved.isolation, 'worker', 'sandbox and process apply to third-party plugins');
  t.deepEqual(resolved.capabilities.env, { MLFLOW_REGISTRY_DIR: '/r' });
  t.is(resolvePolicy({ isolation: 'in-process' }, builtin, 'default', null, {}).isolation, 'in-process');
});

test('rules layer from general to specific: host, plugin, tenant, tenant × plugin; each setting from the most specific rule that has it', (t) => {
  const entry = entryOf('hostile-capabilities-probe');
  const policy: HostPolicy = {
    isolation: 'sandbox',
    grant: { net: true },
    storeRoots: ['/data'],
    plugins: {
      'flowhost-hostile-plugins': {
        grant: { fs: [{ path: '$storeRoot', access: 'read' }] },
        limits: { callTimeoutMs: 2000 },
      },
    },
    tenants: {
      acme: { isolation: 'process', grant: { env: ['FLOWHOST_PROBE_TOKEN'] }, quota: { maxWorkers: 2 } },
      globex: { plugins: { 'flowhost-hostile-plugins': { isolation: 'worker', grant: { net: false } } } },
    },
    quota: { maxCallsInFlight: 50 },
  };
  const env = { FLOWHOST_PROBE_TOKEN: 'token' };
  const plain = resolvePolicy(policy, entry, 'default', context('/data/s'), env);
  t.is(plain.isolation, 'sandbox');
  t.deepEqual(
    plain.capabilities.fs,
    [{ root: '/data/s', access: 'read' }],
    'granted read-only although the manifest asks to write',
  );
  t.deepEqual(plain.capabilities.net, ['localhost:*']);
  t.is(plain.limits.callTimeoutMs, 2000);

  const acme = resolvePolicy(policy, entry, 'acme', context('/data/s'), env);
  t.is(acme.isolation, 'process');
  t.deepEqual(acme.capabilities.env, { FLOWHOST_PROBE_TOKEN: 'token' });
  t.deepEqual(acme.capabilities.refused.env, ['FLOWHOST_PROBE_MISSING']);
  t.deepEqual(acme.capabilities.net, ['localhost:*'], "the host's grant still applies where the tenant says nothing");

  const globex = resolvePolicy(policy, entry, 'globex', context('/data/s'), env);
  t.is(globex.isolation, 'worker');
  t.deepEqual(globex.capabilities.net, []);

  t.like(quotaOf(policy, 'acme'), { maxWorkers: 2, maxCallsInFlight: 50 });
  t.like(quotaOf(policy, 'globex'), { maxWorkers: 64, maxCallsInFlight: 50 });
});

test('$storeRoot is the folder the instance URI points at, as a real path: a link to it is resolved when granted', async (t) => {
  const dir = realpathSync(await mkdtemp(join(tmpdir(), 'flowhost-root-')));
  try {
    await mkdir(join(dir, 'real'));
    await symlink(join(dir, 'real'), join(dir, 'link'));
    const entry = entryOf('hostile-capabilities-probe');
    const resolved = resolvePolicy(
      { grant: { fs: true }, storeRoots: [dir] },
      entry,
      'default',
      context(`${dir}/link/store`),
      {},
    );
    t.deepEqual(resolved.capabilities.fs, [{ root: `${dir}/real/store`, access: 'write' }]);
    const noUri = resolvePolicy({ grant: { fs: true } }, entry, 'default', { sourceName: 'x' }, {});
    t.deepEqual(noUri.capabilities.fs, [], 'no URI, no $storeRoot');
    t.deepEqual(noUri.capabilities.refused.fs, ['$storeRoot (write)']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

// --- the plugin's view, at every level

let server: Server;
let port = 0;

test.before(async () => {
  server = createServer((request, response) => {
    if (request.url === '/big') response.end('x'.repeat(64 * 1024));
    // Never answers in full: past any fetch deadline, however loaded the machine (closed with the server).
    else if (request.url === '/slow') response.write('partial');
    else if (request.url === '/redirect-away')
      response.writeHead(302, { location: 'http://127.0.0.1:1/elsewhere' }).end();
    else response.end(`hello from ${request.url}`);
  });
  await new Promise<void>((resolve) => server.listen(0, 'localhost', resolve));
  port = (server.address() as { port: number }).port;
  process.env.FLOWHOST_PROBE_TOKEN = 'probe-token';
});

test.after.always(
  () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
);

async function eventually(condition: () => boolean, ms = 10_000): Promise<void> {
  const until = performance.now() + ms;
  while (!condition() && performance.now() < until) await new Promise((resolve) => setTimeout(resolve, 20));
}

async function storeRoot(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'flowhost-probe-store-'));
  chmodSync(dir, 0o755);
  // The process level's child runs as nobody.
  if (process.getuid?.() === 0) chownSync(dir, 65534, 65534);
  return dir;
}

/**
 * A host for the capability probe. Fetches get a deadline no loaded machine reaches unless a test
 * checks that deadline itself.
 */
function probeHost(isolation: 'worker' | 'sandbox' | 'process', grant: HostPolicy['grant'], fetchTimeoutMs = 60_000) {
  const output: string[] = [];
  const host = new Flowhost({
    discovery: { nodeModules: [], pluginDirs: [hostilePlugins], env: {} },
    policy: {
      isolation,
      grant,
      storeRoots: [tmpdir()],
      limits: { callTimeoutMs: 60_000, startupTimeoutMs: 60_000, maxFetchBytes: 16 * 1024, fetchTimeoutMs },
    },
    onOutput: (plugin, stream, line) => output.push(`${stream}: ${line}`),
  });
  return { host, output };
}

async function probe(
  host: Flowhost,
  root: string,
  params: Record<string, unknown>,
): Promise<{ detail?: string; error?: { code: string; message: string } }> {
  const store = await host.trackingStore(`hostile-capabilities-probe:${root}`);
  const { value, error } = await timed(store.getExperiment(`attack:${JSON.stringify(params)}`));
  if (error)
    return {
      error: { code: isMlflowError(error) ? error.errorCode : 'not an MlflowError', message: (error as Error).message },
    };
  return { detail: value!.tags.detail };
}

for (const level of ['worker', 'sandbox', 'process'] as const) {
  test(`${level}: a plugin keeping to its capabilities works within its grants (files, fetch, env, log, time)`, async (t) => {
    const root = await storeRoot();
    const { host, output } = probeHost(level, { fs: true, net: true, env: true });
    try {
      t.deepEqual(await probe(host, root, { op: 'write', path: `${root}/a/b.txt`, data: 'kept' }), {
        detail: 'written',
      });
      t.deepEqual(await probe(host, root, { op: 'read', path: `${root}/a/b.txt` }), { detail: 'kept' });
      t.deepEqual(await probe(host, root, { op: 'list', path: `${root}/a` }), {
        detail: '[{"name":"b.txt","type":"file"}]',
      });
      t.deepEqual(await probe(host, root, { op: 'fetch', url: `http://localhost:${port}/granted` }), {
        detail: '200 hello from /granted',
      });
      t.deepEqual(await probe(host, root, { op: 'env', name: 'FLOWHOST_PROBE_TOKEN' }), { detail: 'probe-token' });
      t.deepEqual(
        await probe(host, root, { op: 'env', name: 'FLOWHOST_PROBE_MISSING' }),
        { detail: 'undefined' },
        'granted, but the host does not have it',
      );
      t.deepEqual(await probe(host, root, { op: 'time' }), { detail: 'number true true 36' });
      t.deepEqual(await probe(host, root, { op: 'log' }), { detail: 'logged' });
      // Output travels beside replies, not with them: it may land just after.
      await eventually(() => output.includes('stdout: console.log works too'));
      t.true(output.includes('stdout: a line from {plugin: capabilities-probe} 42'), output.join('\n'));
      t.true(output.includes('stdout: console.log works too'), output.join('\n'));
      if (level !== 'worker') {
        t.deepEqual(
          await probe(host, root, { op: 'global-fetch', url: `http://localhost:${port}/web` }),
          { detail: '200 hello from /web' },
          "the web's fetch is the granted one",
        );
      }
    } finally {
      await host.close();
      await rm(root, { recursive: true, force: true });
    }
  });

  test(`${level}: outside its grants, a plugin gets PERMISSION_DENIED naming the capability and what to ask for`, async (t) => {
    const root = await storeRoot();
    const { host } = probeHost(level, { fs: false, net: false, env: false });
    try {
      const write = await probe(host, root, { op: 'write', path: `${root}/x.txt`, data: 'no' });
      t.is(write.error?.code, 'PERMISSION_DENIED');
      t.regex(
        write.error!.message,
        /no file-system access was granted to this plugin \(its manifest requests \$storeRoot \(write\), which the operator's policy did not grant\)/,
      );
      const fetched = await probe(host, root, { op: 'fetch', url: `http://localhost:${port}/` });
      t.is(fetched.error?.code, 'PERMISSION_DENIED');
      t.regex(
        fetched.error!.message,
        /no network access was granted to this plugin \(its manifest requests localhost:\*, which the operator's policy did not grant\); refused: localhost:\d+/,
      );
      const env = await probe(host, root, { op: 'env', name: 'FLOWHOST_PROBE_TOKEN' });
      t.regex(
        env.error!.message,
        /the environment variable FLOWHOST_PROBE_TOKEN was not granted to this plugin \(its manifest requests it, but the operator's policy did not grant it\)/,
      );
      const unrequested = await probe(host, root, { op: 'env', name: 'HOME' });
      t.regex(unrequested.error!.message, /HOME was not granted to this plugin \(request it in the manifest/);
    } finally {
      await host.close();
      await rm(root, { recursive: true, force: true });
    }
  });
}

test('fetch keeps to its caps: a response over maxFetchBytes, one past fetchTimeoutMs, a redirect to a host not granted', async (t) => {
  const root = await storeRoot();
  const { host } = probeHost('sandbox', { net: true });
  // The deadline under test: short, since the slow response never ends anyway.
  const { host: impatient } = probeHost('sandbox', { net: true }, 1000);
  try {
    const big = await probe(host, root, { op: 'fetch', url: `http://localhost:${port}/big` });
    t.is(big.error?.code, 'RESOURCE_EXHAUSTED');
    t.regex(big.error!.message, /over the 16384-byte limit/);
    const slow = await probe(impatient, root, { op: 'fetch', url: `http://localhost:${port}/slow` });
    t.is(slow.error?.code, 'DEADLINE_EXCEEDED');
    t.regex(slow.error!.message, /did not answer in full within 1000 ms/);
    const away = await probe(host, root, { op: 'fetch', url: `http://localhost:${port}/redirect-away` });
    t.is(away.error?.code, 'PERMISSION_DENIED');
    t.regex(away.error!.message, /127\.0\.0\.1:1 is not among the hosts granted to this plugin: localhost:\*/);
  } finally {
    await host.close();
    await impatient.close();
    await rm(root, { recursive: true, force: true });
  }
});

test('a plugin that imports Node modules cannot run in a sandbox: opening it fails with the import named and what to do', async (t) => {
  const host = new Flowhost({
    discovery: { nodeModules: [], pluginDirs: [hostilePlugins], env: {} },
    policy: {},
    onOutput: () => {},
  });
  try {
    const { error } = await timed(host.trackingStore('hostile-static-import:/tmp').then((s) => s.getExperiment('0')));
    t.true(isMlflowError(error), String(error));
    t.regex(
      (error as Error).message,
      /imports the Node module\(s\) 'node:child_process' \(imported by dist\/static-import\.js\), which plugins cannot use at the sandbox and process levels: reach files, the network and the environment through `capabilities` of @flowhost\/sdk/,
    );
  } finally {
    await host.close();
  }
});

for (const level of ['worker', 'sandbox', 'process'] as const) {
  test(`${level}: byte streams cross to and from the plugin${level === 'process' ? ' (channels on the pipe: a process has no MessagePorts)' : ''}`, async (t) => {
    const { host } = probeHost(level, {});
    try {
      const repository = await host.remote(artifactRepository, host.entry('artifact_repository', 'hostile-streams'), {
        artifactUri: 'hostile-streams:/x',
        trackingUri: null,
        registryUri: null,
      });
      const bytes = new Uint8Array(3 * 1024 * 1024).map((_, i) => i & 0xff);
      const source = (async function* () {
        for (let offset = 0; offset < bytes.length; offset += 100_000) yield bytes.subarray(offset, offset + 100_000);
      })();
      const written = await timed(repository.writeArtifact('a.bin', source));
      t.is(written.error, undefined);
      let total = 0;
      let same = true;
      for await (const chunk of (await repository.readArtifact('a.bin')) as AsyncIterable<Uint8Array>) {
        for (let i = 0; i < chunk.byteLength; i++) if (chunk[i] !== ((total + i) & 0xff)) same = false;
        total += chunk.byteLength;
      }
      t.is(total, bytes.length);
      t.true(same, 'the bytes came back unchanged');
    } finally {
      await host.close();
    }
  });
}

test('process: a download outlives its call (answered at once, read later) and keeps the host alive until it is read', async (t) => {
  // A script with nothing else to wait for: if the pipe were unref'd with the call, Node would exit
  // mid-stream (unsettled top-level await, exit code 13) instead of printing the total.
  const dir = await mkdtemp(join(tmpdir(), 'flowhost-download-'));
  const script = join(dir, 'download.mjs');
  await writeFile(
    script,
    `import { Flowhost } from ${JSON.stringify(`${repoRoot}dist/host/flowhost.js`)};
const host = new Flowhost({ discovery: { nodeModules: [], pluginDirs: [${JSON.stringify(`${repoRoot}sample-plugins/misbehaving`)}], env: {} }, policy: { isolation: 'process', thirdParty: 'trusted' }, onOutput: () => {} });
const repository = await host.artifactRepository('artifacts-null:x');
const stream = await repository.remote.readArtifact('3145728.bin');
await new Promise((resolve) => setTimeout(resolve, 50));
let total = 0;
for await (const chunk of stream) total += chunk.byteLength;
console.log('read', total);
await host.close();
`,
  );
  try {
    const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [script], { encoding: 'utf8', timeout: 60_000 }, (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
    t.is(run.code, 0, run.stderr);
    t.is(run.stdout.trim(), 'read 3145728');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
