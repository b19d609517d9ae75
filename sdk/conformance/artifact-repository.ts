/**
 * The artifact-repository conformance kit: the behaviour every artifact repository must have for
 * MLflow's artifact API to work on top of it, seen through the kind's four methods only (never the
 * storage underneath): bytes come back as they went in, listings name direct children sorted by
 * path with folders first-class, a missing file is RESOURCE_DOES_NOT_EXIST, deletes remove a file,
 * a folder or everything, and an upload that fails leaves nothing that looks complete.
 *
 * Run it with any test runner whose `test(title, fn)` hands `fn` an assertion object (ava's does),
 * against a `RemoteArtifactRepository`: the same suite runs in-process (`bindInProcess`) and across
 * flowhost's worker RPC, where it also proves the repository streams.
 */
import type { FileInfo } from '../entities.js';
import type { RemoteArtifactRepository } from '../kinds/artifact-repository.js';
import { expectMlflowError, type ConformanceAssertions, type ConformanceTestFn } from './tracking-store.js';

/** One fresh, empty repository per case, and how to dispose of it (called pass or fail). */
export interface ArtifactRepositoryFixture {
  repository: RemoteArtifactRepository;
  cleanup?: () => Promise<void> | void;
}

export type ArtifactRepositoryFactory = () => Promise<ArtifactRepositoryFixture> | ArtifactRepositoryFixture;

export interface ArtifactRepositoryConformanceOptions {
  /** First segment of every title. Default `artifact conformance`. */
  prefix?: string;
  /** Registers only the cases for which this returns true (it receives the title without the prefix). */
  filter?: (title: string) => boolean;
  /** Size of the large-file case, in bytes (default 24 MiB: several parts of a multipart upload). */
  largeFileBytes?: number;
}

/** Deterministic bytes that differ at every offset modulo a prime, so a shifted chunk is caught. */
export function patternBytes(length: number, seed = 0): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + seed + (i >>> 13)) % 251;
  return bytes;
}

/** `bytes` as a stream of chunks of `chunk` bytes (the last one shorter). */
async function* chunked(bytes: Uint8Array, chunk = 64 * 1024): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < bytes.length; offset += chunk) yield bytes.slice(offset, offset + chunk);
}

async function readAll(stream: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let length = 0;
  for await (const part of stream) {
    parts.push(part.slice());
    length += part.byteLength;
  }
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

function sameBytes(t: ConformanceAssertions, actual: Uint8Array, expected: Uint8Array, what: string): void {
  t.is(actual.byteLength, expected.byteLength, `${what}: length`);
  let firstDifference = -1;
  const n = Math.min(actual.byteLength, expected.byteLength);
  for (let i = 0; i < n; i++) {
    if (actual[i] !== expected[i]) {
      firstDifference = i;
      break;
    }
  }
  t.is(firstDifference, -1, `${what}: first differing byte`);
}

const text = (s: string) => new TextEncoder().encode(s);

type Case = (
  t: ConformanceAssertions,
  repo: RemoteArtifactRepository,
  options: Required<ArtifactRepositoryConformanceOptions>,
) => Promise<void>;

const CASES: Record<string, Case> = {
  'bytes: a small file reads back as written': async (t, repo) => {
    await repo.writeArtifact('notes.txt', chunked(text('hello artifact\n')));
    sameBytes(t, await readAll(await repo.readArtifact('notes.txt')), text('hello artifact\n'), 'notes.txt');
  },
  'bytes: an empty file reads back empty and lists with size 0': async (t, repo) => {
    await repo.writeArtifact('empty.txt', chunked(new Uint8Array(0)));
    t.is((await readAll(await repo.readArtifact('empty.txt'))).byteLength, 0, 'empty.txt read');
    t.deepEqual(await repo.listArtifacts(null), [{ path: 'empty.txt', isDir: false, fileSize: 0 }]);
  },
  'bytes: a large file crosses in many chunks and reads back byte for byte': async (t, repo, options) => {
    const bytes = patternBytes(options.largeFileBytes, 7);
    await repo.writeArtifact('data/large.bin', chunked(bytes, 1024 * 1024 + 17));
    sameBytes(t, await readAll(await repo.readArtifact('data/large.bin')), bytes, 'data/large.bin');
    t.deepEqual(await repo.listArtifacts('data'), [
      { path: 'data/large.bin', isDir: false, fileSize: bytes.byteLength },
    ]);
  },
  'bytes: writing a path again replaces the file': async (t, repo) => {
    await repo.writeArtifact('a.txt', chunked(text('first version, longer')));
    await repo.writeArtifact('a.txt', chunked(text('second')));
    sameBytes(t, await readAll(await repo.readArtifact('a.txt')), text('second'), 'a.txt');
  },
  'bytes: names with spaces, unicode and dots keep their bytes': async (t, repo) => {
    const names = ['with space.txt', 'héllo wörld ✓.txt', 'a.b.c/d..e'];
    for (const [i, name] of names.entries()) await repo.writeArtifact(name, chunked(text(`#${i}`)));
    for (const [i, name] of names.entries())
      sameBytes(t, await readAll(await repo.readArtifact(name)), text(`#${i}`), name);
  },
  'read: a missing file is RESOURCE_DOES_NOT_EXIST': async (t, repo) => {
    await expectMlflowError(t, repo.readArtifact('nope.txt'), 'RESOURCE_DOES_NOT_EXIST');
  },
  'read: a reader that stops early leaves the repository usable': async (t, repo) => {
    const bytes = patternBytes(3 * 1024 * 1024, 3);
    await repo.writeArtifact('big.bin', chunked(bytes));
    const stream = await repo.readArtifact('big.bin');
    for await (const part of stream) {
      t.true(part.byteLength > 0, 'a first chunk arrives');
      break;
    }
    sameBytes(t, await readAll(await repo.readArtifact('big.bin')), bytes, 'big.bin read again');
  },
  'list: the root lists direct children only, folders first-class, sorted by path': async (t, repo) => {
    for (const path of ['b.txt', 'a/x.txt', 'a/nested/y.txt', 'c/z.txt', 'B.txt'])
      await repo.writeArtifact(path, chunked(text(path)));
    const expected: FileInfo[] = [
      { path: 'B.txt', isDir: false, fileSize: 5 },
      { path: 'a', isDir: true, fileSize: null },
      { path: 'b.txt', isDir: false, fileSize: 5 },
      { path: 'c', isDir: true, fileSize: null },
    ];
    t.deepEqual(await repo.listArtifacts(null), expected);
    t.deepEqual(await repo.listArtifacts('a'), [
      { path: 'a/nested', isDir: true, fileSize: null },
      { path: 'a/x.txt', isDir: false, fileSize: 7 },
    ]);
    t.deepEqual(await repo.listArtifacts('a/nested'), [{ path: 'a/nested/y.txt', isDir: false, fileSize: 14 }]);
  },
  'list: a missing path and an empty repository list as nothing': async (t, repo) => {
    t.deepEqual(await repo.listArtifacts(null), []);
    t.deepEqual(await repo.listArtifacts('missing/folder'), []);
  },
  'list: a folder is not confused with a sibling that shares its prefix': async (t, repo) => {
    await repo.writeArtifact('a/one.txt', chunked(text('1')));
    await repo.writeArtifact('ab/two.txt', chunked(text('2')));
    t.deepEqual(await repo.listArtifacts('a'), [{ path: 'a/one.txt', isDir: false, fileSize: 1 }]);
  },
  'delete: a file, then a folder, then everything': async (t, repo) => {
    for (const path of ['keep.txt', 'gone.txt', 'dir/a.txt', 'dir/sub/b.txt', 'dirx/c.txt'])
      await repo.writeArtifact(path, chunked(text(path)));
    await repo.deleteArtifacts('gone.txt');
    await expectMlflowError(t, repo.readArtifact('gone.txt'), 'RESOURCE_DOES_NOT_EXIST');
    await repo.deleteArtifacts('dir');
    t.deepEqual(
      (await repo.listArtifacts(null)).map((f) => f.path),
      ['dirx', 'keep.txt'],
      'deleting dir keeps its prefix-sharing sibling dirx',
    );
    await repo.deleteArtifacts(null);
    t.deepEqual(await repo.listArtifacts(null), []);
  },
  'write: an upload whose source fails leaves no artifact': async (t, repo) => {
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield patternBytes(2 * 1024 * 1024, 1);
      throw new Error('source broke mid-upload');
    }
    let rejected = false;
    try {
      await repo.writeArtifact('broken.bin', failing());
    } catch {
      rejected = true;
    }
    t.true(rejected, 'the write rejects');
    t.deepEqual(await repo.listArtifacts(null), [], 'nothing is listed');
    await expectMlflowError(t, repo.readArtifact('broken.bin'), 'RESOURCE_DOES_NOT_EXIST');
  },
  'paths: traversal and absolute paths are refused before any byte is stored': async (t, repo) => {
    for (const path of ['../escape.txt', 'a/../../escape.txt', '/etc/passwd']) {
      await expectMlflowError(t, repo.writeArtifact(path, chunked(text('x'))), 'INVALID_PARAMETER_VALUE');
    }
    t.deepEqual(await repo.listArtifacts(null), []);
  },
};

/** Every case title, without the prefix, in registration order. */
export const ARTIFACT_REPOSITORY_CONFORMANCE_CASES: readonly string[] = Object.keys(CASES);

/** Registers the kit's cases with `test`; each case gets a fresh repository from `factory`. */
export function artifactRepositoryConformance(
  test: ConformanceTestFn,
  factory: ArtifactRepositoryFactory,
  options: ArtifactRepositoryConformanceOptions = {},
): void {
  const settings: Required<ArtifactRepositoryConformanceOptions> = {
    prefix: options.prefix ?? 'artifact conformance',
    filter: options.filter ?? (() => true),
    largeFileBytes: options.largeFileBytes ?? 24 * 1024 * 1024,
  };
  for (const [title, run] of Object.entries(CASES)) {
    if (!settings.filter(title)) continue;
    test(`${settings.prefix} › ${title}`, async (t) => {
      const fixture = await factory();
      try {
        await run(t, fixture.repository, settings);
      } finally {
        await fixture.cleanup?.();
      }
    });
  }
}
