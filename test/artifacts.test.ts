/**
 * Artifact repositories, functionally: the built-in local repository writes MLflow's layout at a
 * run's artifact URI, the host's MLflow API on top (log, list, download, delete, text, dict,
 * streams), MLflow's destination rules and messages, the `file-plugin` scheme, every traversal
 * form refused before a plugin sees it, and listings that name paths outside refused.
 */
import test from 'ava';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { artifactRepository, bindInProcess, isMlflowError, type ArtifactRepository } from '@flowhost/sdk';
import { ArtifactTransferError, runArtifactRepository } from '../host/client/artifacts.js';
import { Fluent } from '../host/client/fluent.js';
import { TrackingClient } from '../host/client/tracking-client.js';
import { isPluginFailure } from '../host/errors.js';
import { repoRoot, testHost } from './helpers/hosts.js';
import { rejection } from './helpers/rejection.js';
import { tempDir } from './helpers/temp-dir.js';

const filePlugin = `${repoRoot}sample-plugins/file-plugin`;

/** Every file below `dir`, as relative POSIX paths, sorted. */
function tree(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[])
    .filter((p) => !statSync(join(dir, p)).isDirectory())
    .sort();
}

function errorOf(t: { fail(message: string): void }, value: unknown): { errorCode: string; message: string } {
  if (!isMlflowError(value)) t.fail(`expected an MlflowError, got ${String(value)}`);
  return value as { errorCode: string; message: string };
}

test('the built-in repository writes where MLflow writes: <experiment artifact location>/<run id>/artifacts/<path>', async (t) => {
  const dir = tempDir(t);
  const store = join(dir, 'mlruns');
  const local = join(dir, 'local');
  mkdirSync(join(local, 'data/nested'), { recursive: true });
  writeFileSync(join(local, 'model.txt'), 'weights');
  writeFileSync(join(local, 'data/a.csv'), 'a,b\n1,2\n');
  writeFileSync(join(local, 'data/nested/b.bin'), Buffer.alloc(3000, 7));
  const { host } = testHost();
  try {
    const tracking = new TrackingClient(await host.trackingStore(store), store);
    const run = await tracking.createRun('0');
    t.is(run.info.artifactUri, `file://${store}/0/${run.info.runId}/artifacts`);
    const repo = await runArtifactRepository(host, tracking, run.info.runId);
    await repo.logArtifact(join(local, 'model.txt'));
    await repo.logArtifact(join(local, 'model.txt'), 'models/v1');
    await repo.logArtifacts(join(local, 'data'), 'dataset');
    await repo.logArtifacts(join(local, 'data'));

    const root = join(store, '0', run.info.runId, 'artifacts');
    t.deepEqual(tree(root), [
      'a.csv',
      'dataset/a.csv',
      'dataset/nested/b.bin',
      'model.txt',
      'models/v1/model.txt',
      'nested/b.bin',
    ]);
    t.is(readFileSync(join(root, 'dataset/nested/b.bin')).length, 3000);
    t.is(readFileSync(join(root, 'models/v1/model.txt'), 'utf8'), 'weights');

    t.deepEqual(await repo.listArtifacts(), [
      { path: 'a.csv', isDir: false, fileSize: 8 },
      { path: 'dataset', isDir: true, fileSize: null },
      { path: 'model.txt', isDir: false, fileSize: 7 },
      { path: 'models', isDir: true, fileSize: null },
      { path: 'nested', isDir: true, fileSize: null },
    ]);
    t.deepEqual(await repo.listArtifacts('dataset'), [
      { path: 'dataset/a.csv', isDir: false, fileSize: 8 },
      { path: 'dataset/nested', isDir: true, fileSize: null },
    ]);
    t.deepEqual(
      await repo.listArtifacts('dataset/nested/'),
      [{ path: 'dataset/nested/b.bin', isDir: false, fileSize: 3000 }],
      'a trailing slash is normalised away',
    );
    t.deepEqual(await repo.listArtifacts('model.txt'), [], 'a file lists as nothing, as in MLflow');
    t.deepEqual(await repo.listArtifacts('missing'), [], 'a missing path lists as nothing');
  } finally {
    await host.close();
  }
});

test("logText and logDict write MLflow's formats: UTF-8 text, YAML for .yaml/.yml, indented JSON otherwise", async (t) => {
  const dir = tempDir(t);
  const { host } = testHost();
  try {
    const repo = await host.artifactRepository(`file://${dir}`);
    await repo.logText('héllo\nwörld', 'notes/readme.txt');
    const dict = {
      name: 'model',
      params: { alpha: 0.5, layers: [64, 32] },
      flags: ['yes', 'on', '1.0'],
      empty: {},
      none: null,
    };
    await repo.logDict(dict, 'config.yaml');
    await repo.logDict(dict, 'config.json');
    await repo.logDict({ é: 'ü' }, 'sub/ascii');
    t.is(readFileSync(join(dir, 'notes/readme.txt'), 'utf8'), 'héllo\nwörld');
    t.is(
      readFileSync(join(dir, 'config.yaml'), 'utf8'),
      [
        'empty: {}',
        'flags:',
        "- 'yes'",
        "- 'on'",
        "- '1.0'",
        'name: model',
        'none: null',
        'params:',
        '  alpha: 0.5',
        '  layers:',
        '  - 64',
        '  - 32',
        '',
      ].join('\n'),
    );
    t.deepEqual(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')), dict);
    t.is(
      readFileSync(join(dir, 'config.json'), 'utf8').split('\n')[1],
      '  "name": "model",',
      'indented by 2, as json.dump(indent=2)',
    );
    t.is(readFileSync(join(dir, 'sub/ascii'), 'utf8'), '{\n  "\\u00e9": "\\u00fc"\n}', 'ensure_ascii, as Python');
  } finally {
    await host.close();
  }
});

test('downloadArtifacts follows MLflow: recursive, into an existing directory, returns <dst>/<path>, empty directories kept', async (t) => {
  const dir = tempDir(t);
  const repoDir = join(dir, 'repo');
  mkdirSync(join(repoDir, 'a/b'), { recursive: true });
  mkdirSync(join(repoDir, 'a/empty'), { recursive: true });
  writeFileSync(join(repoDir, 'a/one.txt'), 'one');
  writeFileSync(join(repoDir, 'a/b/two.txt'), 'two');
  writeFileSync(join(repoDir, 'top.txt'), 'top');
  const { host } = testHost();
  try {
    const repo = await host.artifactRepository(repoDir);
    const dst = join(dir, 'dst');
    mkdirSync(dst);
    t.is(await repo.downloadArtifacts('a', dst), `${dst}/a`);
    t.deepEqual(tree(dst), ['a/b/two.txt', 'a/one.txt']);
    t.true(existsSync(join(dst, 'a/empty')), 'an empty directory is created, as MLflow does');
    t.is(await repo.downloadArtifacts('top.txt', dst), `${dst}/top.txt`);
    t.is(readFileSync(join(dst, 'top.txt'), 'utf8'), 'top');
    const all = join(dir, 'all');
    mkdirSync(all);
    t.is(await repo.downloadArtifacts('', all), `${all}/`, "os.path.join(dst, '')");
    t.deepEqual(tree(all), ['a/b/two.txt', 'a/one.txt', 'top.txt']);

    // MLflow's destination rules and messages.
    const missing = errorOf(t, await rejection(repo.downloadArtifacts('a', join(dir, 'nope'))));
    t.is(missing.errorCode, 'RESOURCE_DOES_NOT_EXIST');
    t.is(
      missing.message,
      `The destination path for downloaded artifacts does not exist! Destination path: ${join(dir, 'nope')}`,
    );
    const notDir = errorOf(t, await rejection(repo.downloadArtifacts('a', join(repoDir, 'top.txt'))));
    t.is(notDir.errorCode, 'INVALID_PARAMETER_VALUE');
    t.is(
      notDir.message,
      `The destination path for downloaded artifacts must be a directory! Destination path: ${join(repoDir, 'top.txt')}`,
    );

    // No destination: the built-in local repository returns the artifact's own path, as MLflow's does.
    t.is(await repo.downloadArtifacts('a/one.txt'), join(repoDir, 'a/one.txt'));
    const gone = errorOf(t, await rejection(repo.downloadArtifacts('gone.txt')));
    t.is(gone.errorCode, 'RESOURCE_DOES_NOT_EXIST');
    t.is(gone.message, `No such file or directory: '${join(repoDir, 'gone.txt')}'`);

    // A missing file with a destination: MLflow's aggregated message, the file's own error kept.
    const failed = await rejection(repo.downloadArtifacts('gone.txt', dst));
    t.true(failed instanceof ArtifactTransferError);
    t.is(
      (failed as Error).message,
      `The following failures occurred while downloading one or more artifacts from ${repoDir}:\n##### File gone.txt #####\nNo such file or directory: 'gone.txt'`,
    );
    t.is((failed as ArtifactTransferError).failures[0].error.errorCode, 'RESOURCE_DOES_NOT_EXIST');
    t.false(existsSync(join(dst, 'gone.txt')));
    t.deepEqual(
      readdirSync(dst).filter((n) => n.startsWith('.')),
      [],
      'no temporary file is left behind',
    );
  } finally {
    await host.close();
  }
});

test('deleteArtifacts removes a file, a tree, or everything', async (t) => {
  const dir = tempDir(t);
  const { host } = testHost();
  try {
    const repo = await host.artifactRepository(`file://${dir}/r`);
    await repo.logText('1', 'a/x.txt');
    await repo.logText('2', 'a/y.txt');
    await repo.logText('3', 'b/z.txt');
    await repo.deleteArtifacts('a/x.txt');
    t.deepEqual(
      (await repo.listArtifacts('a')).map((f) => f.path),
      ['a/y.txt'],
    );
    await repo.deleteArtifacts('a');
    t.deepEqual(
      (await repo.listArtifacts()).map((f) => f.path),
      ['b'],
    );
    await repo.deleteArtifacts();
    t.deepEqual(await repo.listArtifacts(), []);
    t.false(existsSync(join(dir, 'r')));
  } finally {
    await host.close();
  }
});

test("the file-plugin package serves the file-plugin scheme, from its own worker, with MLflow's layout at the URI's path", async (t) => {
  const dir = tempDir(t);
  const { host } = testHost({ discovery: { pluginDirs: [filePlugin] } });
  try {
    const repo = await host.artifactRepository(`file-plugin:${dir}/store`, { trackingUri: 'file-plugin:x' });
    await repo.logText('through the plugin', 'p/q.txt');
    t.is(readFileSync(join(dir, 'store/p/q.txt'), 'utf8'), 'through the plugin');
    const stats = await host.stats();
    t.true(
      stats.some((s) => s.group === 'artifact_repository' && s.plugin.includes('flowhost-file-plugin')),
      JSON.stringify(stats.map((s) => s.plugin)),
    );
    // Not the built-in: without a destination it downloads into a new temporary directory.
    const local = await repo.downloadArtifacts('p');
    t.teardown(() => rmSync(local.replace(/\/p$/, ''), { recursive: true, force: true }));
    t.true(local.startsWith(tmpdir()));
    t.is(readFileSync(join(local, 'q.txt'), 'utf8'), 'through the plugin');
  } finally {
    await host.close();
  }
});

test("an unknown scheme gets MLflow's message listing the registered schemes", async (t) => {
  const { host } = testHost();
  try {
    const error = errorOf(t, await rejection(host.artifactRepository('gs://bucket/path')));
    t.is(error.errorCode, 'INTERNAL_ERROR');
    t.regex(
      error.message,
      /^Could not find a registered artifact repository for: gs:\/\/bucket\/path\. Currently registered schemes are: \['', 'artifacts-crashes', .*'file', .*'s3'.*\]$/,
    );
  } finally {
    await host.close();
  }
});

const TRAVERSALS = [
  '..',
  '../x',
  'a/../../x',
  'a/..',
  '/etc/passwd',
  '//server/share',
  'C:/Windows',
  'c:relative',
  'C:\\Windows',
  'a\\b',
  '..\\x',
  '\\\\server\\share',
  'a#b',
  '#',
  '%2e%2e/x',
  'a/%2e%2e/%2e%2e/x',
  '%252e%252e/x',
  '%2fetc/passwd',
  '%5c..%5cx',
  'file:///etc/passwd',
  'a/\0b',
];

test('every traversal form is refused with INVALID_PARAMETER_VALUE before any plugin sees it', async (t) => {
  const dir = tempDir(t);
  const local = join(dir, 'f.txt');
  writeFileSync(local, 'x');
  const { host } = testHost();
  try {
    const repo = await host.artifactRepository(`file://${dir}/repo`);
    const attempts: [string, (p: string) => Promise<unknown>][] = [
      ['logArtifact', (p) => repo.logArtifact(local, p)],
      ['logArtifacts', (p) => repo.logArtifacts(dir, p)],
      ['listArtifacts', (p) => repo.listArtifacts(p)],
      ['downloadArtifacts', (p) => repo.downloadArtifacts(p, dir)],
      ['downloadArtifacts (no dst)', (p) => repo.downloadArtifacts(p)],
      ['deleteArtifacts', (p) => repo.deleteArtifacts(p)],
      ['logText', (p) => repo.logText('x', p)],
      ['logDict', (p) => repo.logDict({}, p)],
      ['openArtifactReadStream', (p) => repo.openArtifactReadStream(p)],
      ['openArtifactWriteStream', (p) => repo.openArtifactWriteStream(p)],
    ];
    for (const path of TRAVERSALS) {
      for (const [name, attempt] of attempts) {
        const error = await rejection(attempt(path));
        t.true(isMlflowError(error), `${name}(${JSON.stringify(path)}): ${String(error)}`);
        t.is((error as { errorCode: string }).errorCode, 'INVALID_PARAMETER_VALUE', `${name}(${JSON.stringify(path)})`);
        t.is((error as Error).message, 'Invalid path', `${name}(${JSON.stringify(path)})`);
      }
    }
    const [stats] = (await host.stats()).filter((s) => s.group === 'artifact_repository');
    t.is(stats.calls, 0, 'the plugin was never called');
    t.false(existsSync(join(dir, 'repo')), 'nothing was written');
    t.false(existsSync(join(dir, 'x')));
  } finally {
    await host.close();
  }
});

test('a local file whose name MLflow cannot store (#, backslash) is refused before anything moves', async (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'src'));
  writeFileSync(join(dir, 'src/good.txt'), 'good');
  writeFileSync(join(dir, 'src/bad#name.txt'), 'bad');
  const { host } = testHost();
  try {
    const repo = await host.artifactRepository(join(dir, 'repo'));
    const error = errorOf(t, await rejection(repo.logArtifacts(join(dir, 'src'))));
    t.is(error.errorCode, 'INVALID_PARAMETER_VALUE');
    t.regex(error.message, /^Invalid path: the local file '.*bad#name\.txt' would be stored as 'bad#name\.txt'$/);
    t.false(existsSync(join(dir, 'repo')), 'not even the good file was uploaded');
  } finally {
    await host.close();
  }
});

test('logArtifacts follows links to files, not links to directories (as os.walk)', async (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'src/inner'), { recursive: true });
  mkdirSync(join(dir, 'elsewhere'));
  writeFileSync(join(dir, 'elsewhere/secret.txt'), 'outside');
  writeFileSync(join(dir, 'src/inner/real.txt'), 'real');
  symlinkSync(join(dir, 'src/inner/real.txt'), join(dir, 'src/link.txt'));
  symlinkSync(join(dir, 'elsewhere'), join(dir, 'src/dirlink'));
  const { host } = testHost();
  try {
    const repo = await host.artifactRepository(join(dir, 'repo'));
    await repo.logArtifacts(join(dir, 'src'));
    t.deepEqual(tree(join(dir, 'repo')), ['inner/real.txt', 'link.txt']);
  } finally {
    await host.close();
  }
});

const ESCAPING_LISTINGS = [
  'parent',
  'parent-deep',
  'absolute',
  'sibling',
  'grandchild',
  'dotdot',
  'encoded',
  'double-encoded',
  'backslash',
  'drive',
  'empty',
  'duplicate',
  'negative-size',
];

test('a listing naming paths outside the requested directory is a protocol violation, and nothing is downloaded', async (t) => {
  const dir = tempDir(t);
  const dst = join(dir, 'dst');
  mkdirSync(dst);
  const { host } = testHost();
  try {
    const repo = await host.artifactRepository('artifacts-escapes:x');
    t.deepEqual(await repo.listArtifacts('ok'), [{ path: 'ok/file', isDir: false, fileSize: 5 }]);
    for (const name of ESCAPING_LISTINGS) {
      for (const attempt of [() => repo.listArtifacts(name), () => repo.downloadArtifacts(name, dst)]) {
        const error = await rejection(attempt());
        t.true(isPluginFailure(error), `${name}: ${String(error)}`);
        t.is(isPluginFailure(error) && error.reason, 'protocol-violation', name);
        t.regex((error as Error).message, /protocol violation: listArtifacts of '.*' (named|gave)/, name);
      }
    }
    const endless = await rejection(repo.downloadArtifacts('endless', dst));
    t.is(isPluginFailure(endless) && endless.reason, 'protocol-violation');
    t.regex((endless as Error).message, /nests directories deeper than 256 levels/);
    const everything = await rejection(repo.downloadArtifacts('', dst));
    t.is(
      isPluginFailure(everything) && everything.reason,
      'protocol-violation',
      'the whole tree is refused before any file moves',
    );
    t.deepEqual(readdirSync(dst), [], 'nothing was downloaded');
    t.false(existsSync(join(dir, 'outside.txt')));
    // The reply was well-formed, only its meaning refused: the worker carries on.
    t.is(await repo.downloadArtifacts('ok', dst), `${dst}/ok`);
    t.is(readFileSync(join(dst, 'ok/file'), 'utf8'), 'hello');
    // The rule is the kind's: a bare remote, without the artifact client, refuses the same listings.
    const entry = host.registry.find('artifact_repository', 'artifacts-escapes')!;
    const bare = await host.remote(artifactRepository, entry, {
      artifactUri: 'artifacts-escapes:x',
      trackingUri: null,
      registryUri: null,
    });
    const sibling = await rejection(bare.listArtifacts('sibling'));
    t.is(isPluginFailure(sibling) && sibling.reason, 'protocol-violation');
    t.regex((sibling as Error).message, /protocol violation: listArtifacts of 'sibling' named/);
  } finally {
    await host.close();
  }
});

test('in-process, the listing rule holds too', async (t) => {
  const listing: Record<string, { path: string; isDir: boolean; fileSize: number | null }[]> = {
    a: [
      { path: 'a/x', isDir: false, fileSize: 1 },
      { path: 'a/x', isDir: false, fileSize: 1 },
    ],
    b: [{ path: 'b/y', isDir: false, fileSize: -1 }],
    c: [
      { path: 'c', isDir: true, fileSize: null },
      { path: 'c/z', isDir: false, fileSize: 0 },
    ],
  };
  const implementation: ArtifactRepository = {
    writeArtifact: () => undefined,
    readArtifact: () => (async function* () {})(),
    listArtifacts: (path) => listing[path ?? ''] ?? [],
  };
  const repo = bindInProcess(artifactRepository, implementation);
  await t.throwsAsync(repo.listArtifacts('a'), {
    message: 'protocol violation: listArtifacts of \'a\' named "a/x" twice',
  });
  await t.throwsAsync(repo.listArtifacts('b'), {
    message: 'protocol violation: listArtifacts of \'b\' gave "b/y" a negative size',
  });
  t.is((await repo.listArtifacts('c')).length, 2, 'the folder itself may be listed');
});

test('streaming handles: Node streams and web streams, each way', async (t) => {
  const dir = tempDir(t);
  const { host } = testHost();
  try {
    const repo = await host.artifactRepository(dir);
    const data = Buffer.alloc(5 * 1024 * 1024 + 17);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff;

    // Node: a pipeline into the write stream; the artifact exists once the pipeline resolves.
    const chunks = Array.from({ length: Math.ceil(data.length / 65536) }, (_, i) =>
      data.subarray(i * 65536, (i + 1) * 65536),
    );
    await pipeline(Readable.from(chunks), await repo.openArtifactWriteStream('node/data.bin'));
    t.true(readFileSync(join(dir, 'node/data.bin')).equals(data));

    const read: Buffer[] = [];
    await pipeline(
      await repo.openArtifactReadStream('node/data.bin'),
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          read.push(chunk);
          callback();
        },
      }),
    );
    t.true(Buffer.concat(read).equals(data));

    // Web: a WritableStream writer and a ReadableStream reader.
    const writable = (await repo.openArtifactWriteStream('web/data.bin')).toWeb();
    const writer = writable.getWriter();
    for (const chunk of chunks) await writer.write(chunk);
    await writer.close();
    t.true(readFileSync(join(dir, 'web/data.bin')).equals(data));
    const reader = (await repo.openArtifactReadStream('web/data.bin')).toWeb().getReader();
    const parts: Uint8Array[] = [];
    for (let r = await reader.read(); !r.done; r = await reader.read()) parts.push(r.value);
    t.true(Buffer.concat(parts).equals(data));

    const missing = errorOf(t, await rejection(repo.openArtifactReadStream('nope.bin')));
    t.is(missing.errorCode, 'RESOURCE_DOES_NOT_EXIST');
    t.is(missing.message, "No such file or directory: 'nope.bin'");
  } finally {
    await host.close();
  }
});

test("the fluent API logs to the active run and reads back through the tracking store's artifact URI", async (t) => {
  const dir = tempDir(t);
  const store = join(dir, 'mlruns');
  writeFileSync(join(dir, 'out.txt'), 'output');
  const fluent = new Fluent({ discovery: { nodeModules: [], env: {} } });
  fluent.setTrackingUri(store);
  t.teardown(() => {
    delete process.env.MLFLOW_TRACKING_URI;
  });
  try {
    const run = await fluent.startRun();
    await fluent.logArtifact(join(dir, 'out.txt'), 'results');
    await fluent.logText('t', 'text.txt');
    await fluent.logDict({ a: 1 }, 'dict.json');
    t.is(await fluent.getArtifactUri(), run.info.artifactUri);
    t.is(await fluent.getArtifactUri('results/out.txt'), `${run.info.artifactUri}/results/out.txt`);
    t.deepEqual(
      (await fluent.listArtifacts()).map((f) => f.path),
      ['dict.json', 'results', 'text.txt'],
    );
    await fluent.endRun();
    t.is(readFileSync(join(store, '0', run.info.runId, 'artifacts/results/out.txt'), 'utf8'), 'output');
    const dst = join(dir, 'dst');
    mkdirSync(dst);
    t.is(
      await fluent.downloadArtifacts({ runId: run.info.runId, artifactPath: 'results', dstPath: dst }),
      `${dst}/results`,
    );
    t.is(readFileSync(join(dst, 'results/out.txt'), 'utf8'), 'output');
    const noRun = errorOf(t, await rejection(fluent.listArtifacts()));
    t.is(noRun.errorCode, 'INVALID_PARAMETER_VALUE');
  } finally {
    await fluent.shutdown();
  }
});

test('statistics count the bytes an instance streamed, both ways', async (t) => {
  const { host } = testHost();
  const root = tempDir(t, 'flowhost-bytes-');
  try {
    const repo = await host.artifactRepository(join(root, 'artifacts'));
    const file = join(root, 'payload.bin');
    writeFileSync(file, Buffer.alloc(3 * 1024 * 1024 + 5, 7));
    await repo.logArtifact(file);
    const download = join(root, 'back');
    mkdirSync(download);
    await repo.downloadArtifacts('payload.bin', download);
    const [stats] = await host.stats();
    t.is(stats.bytesStreamed, 2 * (3 * 1024 * 1024 + 5));
  } finally {
    await host.close();
  }
});
