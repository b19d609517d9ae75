/**
 * Grants come from the operator, not from whoever picks the URI (host/policy.ts `storeRoots`): a
 * `$storeRoot` grant must lie in a store root the operator configured, after percent-decoding,
 * `..` and links. URIs that try to widen it (raw and percent-encoded `..`, an encoded `/`, `/`
 * itself, a link inside a store root leading out) are refused with INVALID_PARAMETER_VALUE naming
 * the allowed roots, before any isolate starts; an untrusted plugin on a host without store roots
 * gets no `$storeRoot` at all; a manifest cannot name its way out with `$storeRoot/..` or
 * `$packageDir/..`. Checked on the policy itself and end to end at every level.
 */
import {
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  symlinkSync,
  chmodSync,
  chownSync,
  existsSync,
  readFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { isMlflowError } from '@flowhost/sdk';
import { discoverPlugins, type PluginEntry } from '../host/discovery.js';
import { Flowhost } from '../host/flowhost.js';
import { resolvePolicy, type HostPolicy } from '../host/policy.js';
import { repoRoot } from './helpers/hosts.js';

const wallsPlugins = `${repoRoot}sample-plugins/hostile-walls`;

function wallsEntry(): PluginEntry {
  const entry = discoverPlugins({ nodeModules: [], pluginDirs: [wallsPlugins], env: {} }).entries.find(
    (e) => e.name === 'walls-fs',
  );
  if (!entry) throw new Error('walls-fs is not discovered');
  return entry;
}

/** The same plugin, with a manifest requesting `fs` as given. */
function withRequests(fs: { path: string; access: 'read' | 'write' }[]): PluginEntry {
  const entry = wallsEntry();
  return { ...entry, manifest: { ...entry.manifest, capabilities: { fs, net: [], env: [] } } };
}

interface Layout {
  readonly base: string;
  /** The operator's store root. */
  readonly stores: string;
  readonly cleanup: () => void;
}

function layout(): Layout {
  const base = realpathSync(mkdtempSync(join(tmpdir(), 'flowhost-walls-grants-')));
  const stores = join(base, 'stores');
  mkdirSync(join(stores, 'tenant-a'), { recursive: true });
  mkdirSync(join(base, 'secret'));
  symlinkSync(join(base, 'secret'), join(stores, 'link-out'));
  symlinkSync(stores, join(base, 'stores-link'));
  return { base, stores, cleanup: () => rmSync(base, { recursive: true, force: true }) };
}

const context = (storeUri: string) => ({ storeUri, artifactUri: null });
const policy = (stores: string): HostPolicy => ({ grant: { fs: true }, storeRoots: [stores] });

/** URIs that try to widen the grant beyond `stores`, each with what it is. */
function widening(l: Layout): [string, string][] {
  const encodedStores = l.stores.replaceAll('/', '%2F');
  return [
    ['a raw ..', `walls-fs:${l.stores}/../secret`],
    ['a percent-encoded ..', `walls-fs:${l.stores}/%2e%2e/secret`],
    ['an upper-case percent-encoded ..', `walls-fs:${l.stores}/%2E%2E/%2E%2E/%2E%2E`],
    ['an encoded / and ..', `walls-fs:${l.stores}%2F..%2F..%2Fsecret`],
    ['/ itself', 'walls-fs:/'],
    ['an encoded /', 'walls-fs:%2F'],
    ['a fully encoded path outside', `walls-fs:${encodedStores}%2F..%2Fsecret`],
    ['a link inside the store root leading out', `walls-fs:${l.stores}/link-out`],
    ['a path below a link leading out', `walls-fs:${l.stores}/link-out/deeper`],
    ['a triple-slash URI outside', `walls-fs://${l.base}/secret`],
    ['a relative path', 'walls-fs:relative/elsewhere'],
  ];
}

/** URIs that are malformed rather than outside. */
function malformed(l: Layout): [string, string][] {
  return [['an encoded NUL', `walls-fs:${l.stores}/tenant-a%00.txt`]];
}

const REFUSED = (l: Layout) =>
  new RegExp(
    `outside the store roots this host allows \\(${l.stores.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)\\. Use a URI under one of them`,
  );

test("the policy grants $storeRoot only inside the operator's store roots; every widening URI is refused naming them", (t) => {
  const l = layout();
  try {
    const entry = wallsEntry();
    const inside = resolvePolicy(policy(l.stores), entry, 'default', context(`walls-fs:${l.stores}/tenant-a`), {});
    t.deepEqual(inside.capabilities.fs, [{ root: `${l.stores}/tenant-a`, access: 'write' }]);
    const encodedInside = resolvePolicy(
      policy(l.stores),
      entry,
      'default',
      context(`walls-fs:${l.stores}/tenant%2Da/new%20folder`),
      {},
    );
    t.deepEqual(
      encodedInside.capabilities.fs,
      [{ root: `${l.stores}/tenant-a/new folder`, access: 'write' }],
      'decoded, and not yet existing',
    );
    const viaLinkedRoot = resolvePolicy(
      { grant: { fs: true }, storeRoots: [join(l.base, 'stores-link')] },
      entry,
      'default',
      context(`walls-fs:${l.base}/stores-link/tenant-a`),
      {},
    );
    t.deepEqual(
      viaLinkedRoot.capabilities.fs,
      [{ root: `${l.stores}/tenant-a`, access: 'write' }],
      'a store root given through a link is its real folder',
    );
    for (const [what, uri] of widening(l)) {
      const error = t.throws(
        () => resolvePolicy(policy(l.stores), entry, 'default', context(uri), {}),
        undefined,
        what,
      );
      t.true(isMlflowError(error) && error.errorCode === 'INVALID_PARAMETER_VALUE', `${what}: ${String(error)}`);
      t.regex(error?.message ?? '', REFUSED(l), what);
    }
    for (const [what, uri] of malformed(l)) {
      t.throws(
        () => resolvePolicy(policy(l.stores), entry, 'default', context(uri), {}),
        { message: /decodes to a path with a NUL byte/ },
        what,
      );
    }
  } finally {
    l.cleanup();
  }
});

test("without store roots, an untrusted plugin gets no $storeRoot; a trusted host (its user picks the URI) keeps the URI's folder", (t) => {
  const l = layout();
  try {
    const entry = wallsEntry();
    const untrusted = resolvePolicy({ grant: { fs: true } }, entry, 'default', context('walls-fs:/'), {});
    t.deepEqual(untrusted.capabilities.fs, []);
    t.deepEqual(untrusted.capabilities.refused.fs, ['$storeRoot (write)']);
    const emptyRoots = resolvePolicy(
      { grant: { fs: true }, thirdParty: 'trusted', storeRoots: [] },
      entry,
      'default',
      context(`walls-fs:${l.stores}`),
      {},
    );
    t.deepEqual(emptyRoots.capabilities.fs, [], 'an empty list allows no store root, trusted or not');
    const trusted = resolvePolicy(undefined, entry, 'default', context(`walls-fs:${l.stores}/tenant-a`), {});
    t.deepEqual(trusted.capabilities.fs, [{ root: `${l.stores}/tenant-a`, access: 'write' }]);
    t.throws(
      () =>
        resolvePolicy(
          { grant: { fs: true }, storeRoots: ['relative/root'] },
          entry,
          'default',
          context(`walls-fs:${l.stores}`),
          {},
        ),
      { message: /storeRoots: "relative\/root" is not an absolute path/ },
    );
  } finally {
    l.cleanup();
  }
});

test('a manifest cannot widen its grant with $storeRoot/.. or $packageDir/..', (t) => {
  const l = layout();
  try {
    const up = withRequests([{ path: '$storeRoot/../..', access: 'write' }]);
    t.throws(() => resolvePolicy(policy(l.stores), up, 'default', context(`walls-fs:${l.stores}/tenant-a`), {}), {
      message: REFUSED(l),
    });
    const outOfPackage = withRequests([
      { path: '$packageDir/../..', access: 'read' },
      { path: '$packageDir/dist', access: 'read' },
    ]);
    const resolved = resolvePolicy(
      policy(l.stores),
      outOfPackage,
      'default',
      context(`walls-fs:${l.stores}/tenant-a`),
      {},
    );
    t.deepEqual(resolved.capabilities.fs, [{ root: `${realpathSync(wallsPlugins)}/dist`, access: 'read' }]);
    t.deepEqual(resolved.capabilities.refused.fs, ['$packageDir/../.. (read)']);
  } finally {
    l.cleanup();
  }
});

for (const level of ['worker', 'sandbox', 'process'] as const) {
  test.serial(
    `${level}: a URI outside the store roots is refused before any isolate starts; one inside works`,
    async (t) => {
      const l = layout();
      chmodSync(l.base, 0o755);
      chmodSync(l.stores, 0o755);
      if (process.getuid?.() === 0) chownSync(join(l.stores, 'tenant-a'), 65534, 65534);
      const host = new Flowhost({
        discovery: { nodeModules: [], pluginDirs: [wallsPlugins], env: {} },
        policy: {
          thirdParty: 'untrusted',
          isolation: level,
          grant: { fs: true },
          storeRoots: [l.stores],
          limits: { startupTimeoutMs: 60_000, callTimeoutMs: 60_000 },
        },
        onOutput: () => {},
      });
      try {
        for (const [what, uri] of widening(l)) {
          const error = await t.throwsAsync(host.trackingStore(uri), undefined, what);
          t.true(isMlflowError(error) && error.errorCode === 'INVALID_PARAMETER_VALUE', `${what}: ${String(error)}`);
          t.regex(error?.message ?? '', REFUSED(l), what);
        }
        t.is(host.liveWorkers(), 0, 'no isolate was started for a refused URI');
        const store = await host.trackingStore(`walls-fs:${l.stores}/tenant-a`);
        const detail = (
          await store.getExperiment(
            `attack:${JSON.stringify({ op: 'write', path: `${l.stores}/tenant-a/kept.txt`, data: 'inside' })}`,
          )
        ).tags.detail;
        t.is(detail, 'ok: written');
        t.is(readFileSync(join(l.stores, 'tenant-a', 'kept.txt'), 'utf8'), 'inside');
        t.false(existsSync(join(l.base, 'secret', 'kept.txt')));
      } finally {
        await host.close();
        l.cleanup();
      }
    },
  );
}
