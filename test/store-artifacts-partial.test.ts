/**
 * An upload into a local artifact repository whose process is killed mid-transfer leaves a
 * temporary file: listings never show it nor a folder holding only it, and once it is abandoned
 * (no byte written for ABANDONED_PARTIAL_MS) the next listing removes it and that folder.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { ABANDONED_PARTIAL_MS, createLocalArtifactRepository, isPartialName } from '@flowhost/sdk/artifact-store';
import { tempDir } from './helpers/temp-dir.js';

const child = `
const { createLocalArtifactRepository } = await import('@flowhost/sdk/artifact-store');
const repo = createLocalArtifactRepository({ root: process.argv[1] });
// Kept alive (a pending promise alone would let the process exit) until it is killed mid-upload.
setInterval(() => {}, 60_000);
async function* stalls() {
  yield new Uint8Array(1000);
  await new Promise(() => {});
}
await repo.writeArtifact('data/deep/model.bin', stalls());
`;

test('a killed upload: its temporary file and folder are never listed, and are removed once abandoned', async (t) => {
  t.timeout(120_000);
  const root = tempDir(t, 'flowhost-partial-');
  const repo = createLocalArtifactRepository({ root });
  await repo.writeArtifact(
    'kept.txt',
    (async function* () {
      yield new TextEncoder().encode('kept');
    })(),
  );
  const uploader = spawn(process.execPath, ['--input-type=module', '-e', child, root], {
    stdio: 'ignore',
    cwd: process.cwd(),
  });
  const partialDir = join(root, 'data', 'deep');
  const started = Date.now();
  while (!(existsSync(partialDir) && readdirSync(partialDir).some(isPartialName))) {
    if (Date.now() - started > 60_000) throw new Error('the uploader never started writing');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const exited = new Promise((resolve) =>
    uploader.exitCode !== null || uploader.signalCode !== null ? resolve(null) : uploader.once('exit', resolve),
  );
  uploader.kill('SIGKILL');
  await exited;
  t.is(uploader.signalCode, 'SIGKILL', 'the uploader was killed mid-upload, not finished');
  const partial = readdirSync(partialDir).find(isPartialName)!;

  t.deepEqual(
    (await repo.listArtifacts(null)).map((f) => f.path),
    ['kept.txt'],
    "the upload's folder is not listed",
  );
  t.deepEqual(await repo.listArtifacts('data'), []);
  t.true(existsSync(join(partialDir, partial)), 'a recent partial file is left alone (its upload may be alive)');

  const old = new Date(Date.now() - ABANDONED_PARTIAL_MS - 60_000);
  utimesSync(join(partialDir, partial), old, old);
  t.deepEqual(
    (await repo.listArtifacts(null)).map((f) => f.path),
    ['kept.txt'],
  );
  t.false(existsSync(join(root, 'data')), 'the abandoned file and the folders it alone held are gone');
});
