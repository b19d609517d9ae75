/**
 * What a user's compiler sees of the package: the declarations flowhost ships (`npm run types`,
 * run by `npm test` and `npm pack`), never its sources, checked under a user's strict flags.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { repoRoot } from './helpers/hosts.js';
import { tempDir } from './helpers/temp-dir.js';

/** Flags users turn on, several stricter than flowhost's own; `skipLibCheck: false` checks our declarations too. */
const USER_TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    noUncheckedIndexedAccess: true,
    exactOptionalPropertyTypes: true,
    noImplicitOverride: true,
    noPropertyAccessFromIndexSignature: true,
    noImplicitReturns: true,
    noUnusedLocals: true,
    noUnusedParameters: true,
    skipLibCheck: false,
    noEmit: true,
    types: ['node'],
  },
  files: ['main.ts'],
};

/** A user's program: the obvious ways to make a client, log, and open a store. */
const USER_PROGRAM = `import { Flowhost, TrackingClient, mlflow } from 'flowhost';
import { MlflowError } from '@flowhost/sdk';

const client = new TrackingClient();
const run = await client.createRun('0', { runName: 'typed' });
await client.logParam(run.info.runId, 'config', { layers: 3 });
await new TrackingClient('file-plugin:/tmp/x').getExperiment('0');
mlflow.setTrackingUri('file-plugin:/tmp/x');
const host = new Flowhost();
const store = await host.trackingStore('file-plugin:/tmp/x');
const name: string = (await store.getExperiment('0')).name;
if (!(new MlflowError(name) instanceof Error)) throw new Error(name);
`;

test('a user program compiles against the shipped declarations under strict flags, without reading flowhost’s sources', async (t) => {
  t.true(existsSync(join(repoRoot, 'dist/types/host/index.d.ts')), 'the declarations are missing: run `npm run types`');
  const dir = tempDir(t, 'flowhost-user-');
  mkdirSync(join(dir, 'node_modules/@flowhost'), { recursive: true });
  mkdirSync(join(dir, 'node_modules/@types'), { recursive: true });
  symlinkSync(repoRoot, join(dir, 'node_modules/flowhost'));
  symlinkSync(join(repoRoot, 'sdk'), join(dir, 'node_modules/@flowhost/sdk'));
  symlinkSync(join(repoRoot, 'node_modules/@types/node'), join(dir, 'node_modules/@types/node'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(USER_TSCONFIG));
  writeFileSync(join(dir, 'main.ts'), USER_PROGRAM);
  const tsc = join(repoRoot, 'node_modules/typescript/bin/tsc');
  const { code, output } = await new Promise<{ code: number; output: string }>((resolve) =>
    execFile(process.execPath, [tsc, '-p', dir, '--listFilesOnly'], { encoding: 'utf8' }, (error, stdout, stderr) =>
      resolve({ code: error ? 1 : 0, output: stdout + stderr }),
    ),
  );
  const compiled = await new Promise<{ code: number; output: string }>((resolve) =>
    execFile(process.execPath, [tsc, '-p', dir], { encoding: 'utf8' }, (error, stdout, stderr) =>
      resolve({ code: error ? 1 : 0, output: stdout + stderr }),
    ),
  );
  t.is(compiled.code, 0, compiled.output);
  t.is(code, 0, output);
  const ours = output.split('\n').filter((file) => file.startsWith(repoRoot) && !file.includes('/node_modules/'));
  t.true(ours.length > 0, 'the program reads flowhost’s declarations');
  t.deepEqual(
    ours.filter((file) => !file.endsWith('.d.ts')),
    [],
    'no source file of flowhost is compiled under the user’s options',
  );
});
