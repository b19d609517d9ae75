/**
 * `flowhost artifacts log-artifact | log-artifacts | list | download`: MLflow's command and flag
 * names, outputs, errors, and the progress bar for large transfers.
 */
import test from 'ava';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LARGE_TRANSFER_BYTES, formatBytes, progressBar } from '../host/cli/artifact-commands.js';
import { TrackingClient } from '../host/client/tracking-client.js';
import { Flowhost } from '../host/flowhost.js';
import { cliLines as cli } from './helpers/cli.js';

/** A file store with one run, and a local folder to log from. */
async function setUp(t: { teardown(fn: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'flowhost-artifacts-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const store = join(dir, 'mlruns');
  const host = new Flowhost({ discovery: { nodeModules: [] } });
  try {
    const run = await new TrackingClient(await host.trackingStore(store), store).createRun('0');
    mkdirSync(join(dir, 'local/sub'), { recursive: true });
    writeFileSync(join(dir, 'local/model.pkl'), 'pickle');
    writeFileSync(join(dir, 'local/sub/notes.md'), '# notes');
    return { dir, store, runId: run.info.runId, artifacts: join(store, '0', run.info.runId, 'artifacts') };
  } finally {
    await host.close();
  }
}

test("log-artifact, log-artifacts, list and download, with MLflow's flags and messages", async (t) => {
  const { dir, store, runId, artifacts } = await setUp(t);
  const common = ['--run-id', runId, '--tracking-uri', store];

  const one = await cli('artifacts', 'log-artifact', '--local-file', join(dir, 'local/model.pkl'), ...common);
  t.is(one.code, 0, one.err.join('\n'));
  t.deepEqual(one.out, [`Logged artifact from local file ${join(dir, 'local/model.pkl')} to artifact_path=None`]);
  const many = await cli(
    'artifacts',
    'log-artifacts',
    '-l',
    join(dir, 'local'),
    '-r',
    runId,
    '-a',
    'bundle',
    '--tracking-uri',
    store,
  );
  t.is(many.code, 0, many.err.join('\n'));
  t.deepEqual(many.out, [`Logged artifact from local dir ${join(dir, 'local')} to artifact_path=bundle`]);
  t.is(readFileSync(join(artifacts, 'bundle/sub/notes.md'), 'utf8'), '# notes');
  t.is(readFileSync(join(artifacts, 'model.pkl'), 'utf8'), 'pickle');

  const list = await cli('artifacts', 'list', ...common);
  t.is(list.code, 0);
  t.regex(list.out[0], /^Path\s+Type\s+Size\nbundle\/\s+dir\s*\nmodel\.pkl\s+file\s+6 B$/);
  const json = await cli('artifacts', 'list', ...common, '--artifact-path', 'bundle', '--json');
  t.deepEqual(JSON.parse(json.out[0]), [
    { path: 'bundle/model.pkl', is_dir: false, file_size: 6 },
    { path: 'bundle/sub', is_dir: true },
  ]);
  t.deepEqual((await cli('artifacts', 'list', ...common, '-a', 'nothing-here')).out, ['No artifacts.']);

  const dst = join(dir, 'dst');
  mkdirSync(dst);
  const download = await cli('artifacts', 'download', ...common, '--artifact-path', 'bundle', '--dst-path', dst);
  t.is(download.code, 0, download.err.join('\n'));
  t.deepEqual(download.out, [`${dst}/bundle`]);
  t.is(readFileSync(join(dst, 'bundle/sub/notes.md'), 'utf8'), '# notes');
  // Without a destination, the local repository's own path (MLflow's LocalArtifactRepository).
  t.deepEqual((await cli('artifacts', 'download', ...common, '-a', 'model.pkl')).out, [join(artifacts, 'model.pkl')]);
});

test('errors: MLflow codes and messages, exit code 1; usage errors exit 2', async (t) => {
  const { dir, store, runId } = await setUp(t);
  const traversal = await cli(
    'artifacts',
    'list',
    '--run-id',
    runId,
    '--tracking-uri',
    store,
    '--artifact-path',
    '../other-run',
  );
  t.is(traversal.code, 1);
  t.deepEqual(traversal.err, ['Error: INVALID_PARAMETER_VALUE: Invalid path']);
  const noRun = await cli('artifacts', 'list', '--run-id', '0123456789abcdef0123456789abcdef', '--tracking-uri', store);
  t.is(noRun.code, 1);
  t.regex(noRun.err[0], /^Error: RESOURCE_DOES_NOT_EXIST: Run '0123456789abcdef0123456789abcdef' not found/);
  const missingDst = await cli(
    'artifacts',
    'download',
    '--run-id',
    runId,
    '--tracking-uri',
    store,
    '--dst-path',
    join(dir, 'nope'),
  );
  t.is(missingDst.code, 1);
  t.deepEqual(missingDst.err, [
    `Error: RESOURCE_DOES_NOT_EXIST: The destination path for downloaded artifacts does not exist! Destination path: ${join(dir, 'nope')}`,
  ]);
  const noFile = await cli(
    'artifacts',
    'log-artifact',
    '--local-file',
    join(dir, 'absent.txt'),
    '--run-id',
    runId,
    '--tracking-uri',
    store,
  );
  t.is(noFile.code, 1);
  t.deepEqual(noFile.err, [`Error: RESOURCE_DOES_NOT_EXIST: No such file or directory: '${join(dir, 'absent.txt')}'`]);
  const usage = await cli('artifacts', 'log-artifact', '--run-id', runId);
  t.is(usage.code, 2);
  t.regex(usage.err[0], /^Error: Missing option '--local-file'\./);
});

test('a large transfer reports progress with --progress (a line per tenth); a small one, or no flag off a terminal, reports none', async (t) => {
  const { dir, store, runId } = await setUp(t);
  const big = join(dir, 'big.bin');
  writeFileSync(big, Buffer.alloc(LARGE_TRANSFER_BYTES + 4 * 1024 * 1024, 1));
  const common = ['--run-id', runId, '--tracking-uri', store];

  const quiet = await cli('artifacts', 'log-artifact', '--local-file', big, ...common);
  t.is(quiet.code, 0);
  t.deepEqual(quiet.err, [], 'stderr is no terminal here: no bar unless asked');

  const loud = await cli('artifacts', 'log-artifact', '--local-file', big, ...common, '-a', 'again', '--progress');
  t.is(loud.code, 0);
  t.true(loud.err.length >= 2 && loud.err.length <= 12, loud.err.join('\n'));
  t.true(loud.err.every((line) => line.startsWith('Uploading [')));
  t.regex(loud.err.at(-1)!, /^Uploading \[#{30}\] 100% {2}20\.0 MiB \/ 20\.0 MiB {2}.* MiB\/s$/);

  const dst = join(dir, 'dst');
  mkdirSync(dst);
  const down = await cli('artifacts', 'download', ...common, '--dst-path', dst, '--progress');
  t.is(down.code, 0);
  t.regex(down.err.at(-1)!, /^Downloading \[#{30}\] 100% {2}40\.0 MiB \/ 40\.0 MiB {2}.*\/s {2}2\/2 files$/);
});

test('on a terminal the bar is redrawn in place, ending with a newline; small transfers draw nothing', (t) => {
  const written: string[] = [];
  const terminal = { isTTY: true, write: (text: string) => written.push(text) };
  const context = { values: {}, err: (line: string) => t.fail(`no line output on a terminal: ${line}`) };
  const small = progressBar(context, 'Uploading', terminal)!;
  small.update({ bytes: 1024, totalBytes: 1024, files: 1, totalFiles: 1 });
  small.finish();
  t.deepEqual(written, []);

  const bar = progressBar(context, 'Uploading', terminal)!;
  const total = 64 * 1024 * 1024;
  bar.update({ bytes: total / 2, totalBytes: total, files: 0, totalFiles: 1 });
  bar.update({ bytes: total, totalBytes: total, files: 1, totalFiles: 1 });
  bar.finish();
  t.true(written.length >= 2);
  t.true(written.every((text) => text.startsWith('\r')));
  t.regex(written[0], /^\rUploading \[#{15}\.{15}\] {2}50% {2}32\.0 MiB \/ 64\.0 MiB/);
  t.true(written.at(-1)!.endsWith('\n'));
  t.is(
    progressBar({ values: {}, err: () => {} }, 'x', { isTTY: false, write: () => {} }),
    null,
    'no terminal and not asked: no bar',
  );
  t.is(formatBytes(1536), '1.5 KiB');
});
