/**
 * The file operations of the registry store, with the reading rules of MLflow's `file_utils`:
 * text is UTF-8 read with Python's universal newlines, tag and alias folders are walked
 * recursively (a key with `/` is a nested file), `meta.yaml` reads retry while a concurrent
 * writer leaves it empty.
 *
 * Every write goes to a temporary file and is renamed over its target, so a reader (this store,
 * another flowhost, MLflow) never sees half a file and a crash never leaves one. The operations are
 * synchronous: one store call runs to its end before the next one starts in the same worker, and
 * the store's lock file (sdk/storage/lock.ts) keeps other workers and processes out meanwhile.
 */
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { readYaml, type YamlData } from '../mlflow/yaml.js';
import { isTemporaryName, replaceFile, writeFailure } from '../storage/atomic.js';

/**
 * Writes `text` (UTF-8) to `path` atomically (sdk/storage), creating its folder, flushed to disk
 * before the rename: the registry's few small writes can afford it, and a rename of unflushed data
 * can survive a power loss as an empty file. The temporary file goes to the folder holding the
 * `tags`/`aliases` folder, never inside it, where MLflow would read it as a key. A failure (a full
 * disk, a name too long for the file system) leaves the old file and is reported naming the store.
 */
export function writeTextAtomic(path: string, text: string, store: string, modelsDirectory: string): void {
  // `<models>/<name>/[version-<n>/](meta.yaml | tags/… | aliases/…)`: the model's or version's folder.
  const [name, second] = relative(modelsDirectory, path).split(sep);
  const tempDir = second?.startsWith('version-') ? join(modelsDirectory, name, second) : join(modelsDirectory, name);
  try {
    replaceFile(path, text, { tempDir, sync: true });
  } catch (error) {
    throw writeFailure(error, store, path);
  }
}

/** Python's `open(path, encoding="utf-8").read()`: `\r\n` and lone `\r` read as `\n`. */
export function readText(path: string): string {
  return readFileSync(path, 'utf8').replace(/\r\n?/g, '\n');
}

/** `readText` of a file that may be missing (null then). */
export function readTextOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
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
    if ((error as NodeJS.ErrnoException).code !== 'ENAMETOOLONG') throw error;
    throw writeFailure(error, 'model registry store', path);
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
