/**
 * The file operations of the registry store, with the reading rules of MLflow's `file_utils`:
 * text is UTF-8 read with Python's universal newlines, tag and alias folders are walked
 * recursively (a key with `/` is a nested file), `meta.yaml` reads retry while a concurrent
 * writer leaves it empty.
 *
 * Every write goes to a temporary file beside its target and is renamed over it, so a reader (this
 * store, another flowhost, MLflow) never sees half a file and a crash never leaves one. The
 * operations are synchronous on purpose: one store call then runs to its end before the next one
 * starts in the same worker, so two calls of one worker cannot interleave their reads and writes.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, lstatSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { MlflowError } from '../errors.js';
import { readYaml, type YamlData } from '../mlflow/yaml.js';

/** Names of this store's temporary files; readers skip them, so a crash's leftover is never a tag. */
const TEMP_PREFIX = '.flowhost-tmp-';

export const isTemporaryName = (name: string): boolean => name.startsWith(TEMP_PREFIX);

/**
 * Writes `text` (UTF-8) to `path` atomically, creating its folder. A key too long to be a file name
 * (most file systems allow 255 bytes, so 250 characters of CJK text do not fit) is the caller's
 * mistake and is reported as one.
 */
export function writeTextAtomic(path: string, text: string): void {
  const dir = dirname(path);
  const temp = join(dir, `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
  try {
    mkdirSync(dir, { recursive: true });
    writeAndRename(temp, path, text);
  } catch (error) {
    throw nameTooLong(error, path);
  }
}

function nameTooLong(error: unknown, path: string): unknown {
  if ((error as NodeJS.ErrnoException).code !== 'ENAMETOOLONG') return error;
  const name = basename(path);
  return MlflowError.invalidParameterValue(`'${name}' is too long to be stored as a file name (${Buffer.byteLength(name)} bytes; file systems allow 255).`);
}

function writeAndRename(temp: string, path: string, text: string): void {
  const fd = openSync(temp, 'wx');
  try {
    const bytes = Buffer.from(text, 'utf8');
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
    // A rename of a file whose data is still in the page cache can survive a power loss as an
    // empty file; the registry's few small writes can afford the flush.
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    unlinkSync(temp);
    throw error;
  }
  closeSync(fd);
  try {
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

/** Python's `open(path, encoding="utf-8").read()`: `\r\n` and lone `\r` read as `\n`. */
export function readText(path: string): string {
  return readFileSync(path, 'utf8').replace(/\r\n?/g, '\n');
}

export function isFile(path: string): boolean {
  try {
    return lstatSync(path).isFile();
  } catch {
    return false;
  }
}

export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

export { existsSync as exists };

/** Creates `path` and fails with EEXIST if it is there: the registry's claim on a name or number. */
export function makeDirectoryExclusive(path: string): void {
  try {
    mkdirSync(path);
  } catch (error) {
    throw nameTooLong(error, path);
  }
}

export function makeDirectories(path: string): void {
  mkdirSync(path, { recursive: true });
}

export function removeTree(path: string): void {
  rmSync(path, { recursive: true, force: true });
}

export function removeFile(path: string): void {
  unlinkSync(path);
}

/** The names of the sub-folders of `dir` (none if it is missing). */
export function subdirectories(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.filter((e) => e.isDirectory()).map((e) => e.name);
}

/**
 * Every regular file under `dir`, as POSIX paths relative to it (MLflow's `os.walk` over a tags
 * folder). Symbolic links are not followed: a tag is a file the store wrote, never a window onto
 * the rest of the disk.
 */
export function walkFiles(dir: string): string[] {
  const out: string[] = [];
  const visit = (folder: string, prefix: string) => {
    let entries;
    try {
      entries = readdirSync(folder, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (isTemporaryName(entry.name)) continue;
      if (entry.isDirectory()) visit(join(folder, entry.name), `${prefix}${entry.name}/`);
      else if (entry.isFile()) out.push(`${prefix}${entry.name}`);
    }
  };
  visit(dir, '');
  return out;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * A `meta.yaml`, or null when it is missing. An empty file is read again after 0.1 s and 0.2 s, as
 * MLflow does: MLflow writes new files in place, so a reader may catch one before its content.
 */
export function readMeta(dir: string): YamlData | null {
  const path = join(dir, 'meta.yaml');
  for (let attempt = 0; ; attempt++) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    const data = readYaml(text);
    if (data !== null || attempt === 2) return data ?? {};
    sleepSync(100 * (attempt + 1));
  }
}
