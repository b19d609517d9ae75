/**
 * MLflow's FileStore (`mlflow/store/tracking/file_store.py`, MLflow 3.6) as a flowhost tracking
 * store. It reads and writes MLflow's on-disk layout exactly (`mlflow/store/tracking/file_store.py`): real MLflow reads what
 * this store writes, and this store reads what MLflow wrote.
 *
 * ```
 * <root>/<experiment id>/meta.yaml, tags/<key>, datasets/<md5>/meta.yaml
 * <root>/<experiment id>/<run id>/meta.yaml, metrics/<key>, params/<key>, tags/<key>, artifacts/, inputs/<md5>/meta.yaml
 * <root>/.trash/<experiment id>/...          deleted experiments, moved whole
 * ```
 *
 * Design choices (each one measured or forced by the format):
 *
 *  - **Synchronous syscalls inside async methods.** On the machines this was built on a
 *    `fs/promises` call costs ~35 µs (a libuv thread-pool round trip) against ~1-3 µs for the same
 *    syscall made synchronously. An awaited `logMetric` needs a freshness check of the run and an
 *    append: ~100 µs through `fs/promises`, a third of the 30,000 calls/s target before any RPC,
 *    against ~5 µs synchronously. Every call touches a handful of small local files, so the time it
 *    holds the thread is bounded by those few syscalls. The scans (search, lookups across
 *    experiments) hand the event loop back every few milliseconds (`Slicer`), so one big search
 *    never starves the other calls of the worker.
 *  - **A run cache checked by `stat`.** Locating a run means scanning every experiment (MLflow
 *    does that on every call). The location and parsed `meta.yaml` of each run are cached, and
 *    each use is guarded by one `stat` of `meta.yaml`: every rewrite, ours or MLflow's, replaces the
 *    file by rename, which changes its inode and ctime, so a changed file is always re-read (and a
 *    moved experiment makes the stat fail, which falls back to the scan).
 *  - **No torn or lost writes between writers** (threads, processes, MLflow itself), and none
 *    left by a crash or a full disk (../storage, docs/decisions/0010-file-store-durability.md):
 *    metric points are appended with O_APPEND, one write per metric key per call, each line
 *    complete, a failed write's bytes cut off again; new keys (metric files, params) appear with
 *    their content (temporary file + link(2), which also makes one of two creators of a param
 *    win); tags and `meta.yaml` are replaced by rename. `meta.yaml` rewrites are read-modify-write
 *    under a lock file per run or experiment, and keep every key this store does not write.
 *  - **Batches all or nothing**: `logBatch` records an undo journal before writing (see there).
 */
import { createHash, randomInt, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  RUN_STATUSES,
  RUN_STATUS_NUMBERS,
  type Dataset,
  type DatasetInput,
  type Experiment,
  type ExperimentTag,
  type LifecycleStage,
  type Metric,
  type Page,
  type Param,
  type Run,
  type RunInfo,
  type RunStatus,
  type RunTag,
  type ViewType,
} from '../entities.js';
import { MlflowError, isMlflowError } from '../errors.js';
import type { TrackingStore } from '../kinds/tracking-store.js';
import {
  decodePageToken,
  encodePageToken,
  searchExperimentsInMemory,
  searchRunsInMemory,
} from '../mlflow/tracking-search.js';
import { appendToUriPath, localPathOfFileUri, pathToFileUri, resolveUriIfLocal } from '../mlflow/uri.js';
import {
  validateBatch,
  validateExperimentId,
  validateExperimentName,
  validateExperimentTagKey,
  validateMetric,
  validateParam,
  validateRunId,
  validateSearchExperimentsMaxResults,
  validateSearchRunsMaxResults,
  validateTagKey,
} from '../mlflow/validation.js';
import { pythonFloatRepr } from '../mlflow/python.js';
import {
  dumpYaml,
  parsePythonFloat,
  parsePythonInt,
  readYaml,
  unknownEntries,
  type YamlData,
  type YamlValue,
} from '../mlflow/yaml.js';
import { LineFiles } from '../storage/append.js';
import { createFileExclusive, errnoOf, replaceFile, writeFailure } from '../storage/atomic.js';
import { withLock } from '../storage/lock.js';
import { commitJournal, hasJournal, rollBack, writeJournal, type JournalEntry } from '../storage/journal.js';

// ---------------------------------------------------------------------------------------------
// Layout constants (`FileStore` in mlflow/store/tracking/file_store.py)

const META = 'meta.yaml';
const TRASH = '.trash';
const DEFAULT_EXPERIMENT_ID = '0';
const DEFAULT_EXPERIMENT_NAME = 'Default';
/** The model registry's folder at the root: not an experiment. */
const REGISTRY_FOLDER = 'models';
/** Experiment sub-folders that are not runs. */
const RESERVED_EXPERIMENT_FOLDERS = new Set(['tags', 'datasets', 'traces', 'models']);
const RUN_NAME_TAG = 'mlflow.runName';
/** `SourceType.LOCAL`: MLflow writes it into every run's meta.yaml. */
const SOURCE_TYPE_LOCAL = 4;

// ---------------------------------------------------------------------------------------------
// Small helpers

function statOrNull(target: string): fs.Stats | undefined {
  try {
    return fs.statSync(target, { throwIfNoEntry: false });
  } catch (error) {
    // A path through a file (`a/b` where `a` is a file) names nothing, as a missing one.
    if (errnoOf(error) === 'ENOTDIR') return undefined;
    throw error;
  }
}

function isDirectory(target: string): boolean {
  return statOrNull(target)?.isDirectory() ?? false;
}

/** A name usable as one path segment: never `..`, never a separator (ids searched for need not be valid). */
function isPlainName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !/[/\\\0]/.test(name);
}

/** Sets a record entry, `__proto__` included (a valid MLflow key). */
function setEntry<T>(record: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__')
    Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
  else record[key] = value;
}

/** What Python's text-mode `read()` returns: universal newlines. MLflow reads tags and params this way. */
function readText(file: string): string {
  const text = fs.readFileSync(file, 'utf8');
  return text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text;
}

function readTextOrNull(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return null;
    throw error;
  }
}

/** The directories directly inside `dir`, or none if it does not exist. */
function subdirectories(dir: string): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    if (errnoOf(error) === 'ENOENT' || errnoOf(error) === 'ENOTDIR') return [];
    throw error;
  }
  const names: string[] = [];
  for (const entry of entries) {
    if (entry.isDirectory() || (entry.isSymbolicLink() && isDirectory(path.join(dir, entry.name))))
      names.push(entry.name);
  }
  return names.sort();
}

/**
 * The files under `dir`, recursively, as keys (`train/loss` for `dir/train/loss`), as MLflow's
 * `os.walk` finds them. Names that are not valid keys (editor leftovers, say) are skipped.
 */
function keyFiles(dir: string): string[] {
  const keys: string[] = [];
  const walk = (sub: string, prefix: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(sub, { withFileTypes: true });
    } catch (error) {
      if (errnoOf(error) === 'ENOENT' || errnoOf(error) === 'ENOTDIR') return;
      throw error;
    }
    for (const entry of entries) {
      const key = prefix + entry.name;
      const full = path.join(sub, entry.name);
      if (entry.isDirectory()) walk(full, key + '/');
      else if (entry.isFile() || (entry.isSymbolicLink() && statOrNull(full)?.isFile())) {
        if (/^[/\p{L}\p{N}_.\- :]*$/u.test(key)) keys.push(key);
      }
    }
  };
  walk(dir, '');
  return keys.sort();
}

/** A small YAML file, or null if it is missing, empty or unreadable as YAML. */
function readYamlFileOrNull(file: string): YamlData | null {
  const text = readTextOrNull(file);
  if (text === null) return null;
  try {
    return readYaml(text);
  } catch {
    return null;
  }
}

function md5Hex(...parts: string[]): string {
  const hash = createHash('md5');
  for (const part of parts) hash.update(part, 'utf8');
  return hash.digest('hex');
}

/** Python's `str(e)` of whatever was thrown, as `MlflowException(e)` would show it. */
function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Hands the event loop back every few milliseconds during a long scan: the work itself is
 * synchronous (cheaper, see the module comment) but must not hold the thread for a whole search.
 */
class Slicer {
  private started = performance.now();
  async tick(): Promise<void> {
    if (performance.now() - this.started < 4) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.started = performance.now();
  }
}

// ---------------------------------------------------------------------------------------------
// meta.yaml ⇄ entities (`FileStore._get_*_from_dir`, `write_yaml` calls)

/** A run's `meta.yaml`, parsed; `deletedTime` is absent when the file has no `deleted_time` key. */
interface StoredRun {
  info: RunInfo;
  deletedTime?: number | null;
}

/** The keys of a run's meta.yaml this store writes (MLflow 2.x's `_make_persisted_run_info_dict`, `deleted_time`). */
const RUN_META_KEYS = new Set([
  'artifact_uri',
  'deleted_time',
  'end_time',
  'entry_point_name',
  'experiment_id',
  'lifecycle_stage',
  'run_id',
  'run_name',
  'run_uuid',
  'source_name',
  'source_type',
  'source_version',
  'start_time',
  'status',
  'tags',
  'user_id',
]);

function pyStr(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  return String(value);
}

function optionalInt(value: unknown): number | null {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'bigint') return Number(value);
  return null;
}

function statusOf(value: unknown): RunStatus {
  if (value === undefined || value === null) return 'RUNNING';
  if (typeof value === 'number' && value >= 1 && value <= RUN_STATUSES.length && Number.isInteger(value))
    return RUN_STATUSES[value - 1];
  // Not written by MLflow (it writes integers), but unambiguous.
  if (typeof value === 'string' && (RUN_STATUSES as readonly string[]).includes(value)) return value as RunStatus;
  throw new MlflowError(`Could not get string corresponding to run status ${pyStr(value)}`);
}

function lifecycleOf(value: unknown): LifecycleStage {
  return value === 'deleted' ? 'deleted' : 'active';
}

function parseRunMeta(data: YamlData, runDirName: string): StoredRun {
  const info: RunInfo = {
    runId: pyStr(data.run_id ?? data.run_uuid ?? runDirName),
    experimentId: pyStr(data.experiment_id),
    userId: pyStr(data.user_id),
    status: statusOf(data.status),
    startTime: optionalInt(data.start_time) ?? 0,
    endTime: optionalInt(data.end_time),
    lifecycleStage: lifecycleOf(data.lifecycle_stage ?? 'active'),
    artifactUri: pyStr(data.artifact_uri),
    runName: pyStr(data.run_name),
  };
  const stored: StoredRun = { info };
  if (Object.hasOwn(data, 'deleted_time')) stored.deletedTime = optionalInt(data.deleted_time);
  return stored;
}

/**
 * What MLflow 2.x writes (`_make_persisted_run_info_dict` of `dict(RunInfo)`: `run_uuid` beside
 * `run_id`, which MLflow 2.x cannot read a run without), plus `deleted_time` when given, plus every
 * other key of `previousText` (the file being replaced) verbatim.
 */
function runMetaYaml(info: RunInfo, deletedTime?: number | null, previousText?: string): string {
  const dict: Record<string, YamlValue> = {
    ...(previousText === undefined ? {} : unknownEntries(previousText, RUN_META_KEYS)),
    artifact_uri: info.artifactUri,
    end_time: info.endTime,
    entry_point_name: '',
    experiment_id: info.experimentId,
    lifecycle_stage: info.lifecycleStage,
    run_id: info.runId,
    run_name: info.runName,
    run_uuid: info.runId,
    source_name: '',
    source_type: SOURCE_TYPE_LOCAL,
    source_version: '',
    start_time: info.startTime,
    status: RUN_STATUS_NUMBERS[info.status],
    // Kept (always empty) for old MLflow readers: tags moved to RunData long ago.
    tags: [],
    user_id: info.userId,
  };
  if (deletedTime !== undefined) dict.deleted_time = deletedTime;
  return dumpYaml(dict);
}

function parseExperimentMeta(data: YamlData): Omit<Experiment, 'tags'> {
  return {
    experimentId: pyStr(data.experiment_id),
    name: pyStr(data.name),
    artifactLocation: pyStr(data.artifact_location),
    lifecycleStage: lifecycleOf(data.lifecycle_stage ?? 'active'),
    creationTime: optionalInt(data.creation_time),
    lastUpdateTime: optionalInt(data.last_update_time),
  };
}

/** `dict(experiment)`: on create MLflow drops `tags`; later rewrites keep it (a mapping readers ignore). */
const EXPERIMENT_META_KEYS = new Set([
  'artifact_location',
  'creation_time',
  'experiment_id',
  'last_update_time',
  'lifecycle_stage',
  'name',
  'tags',
]);

function experimentMetaYaml(
  experiment: Omit<Experiment, 'tags'> & { tags?: Record<string, string> },
  previousText?: string,
): string {
  const dict: Record<string, YamlValue> = {
    ...(previousText === undefined ? {} : unknownEntries(previousText, EXPERIMENT_META_KEYS)),
    artifact_location: experiment.artifactLocation,
    creation_time: experiment.creationTime,
    experiment_id: experiment.experimentId,
    last_update_time: experiment.lastUpdateTime,
    lifecycle_stage: experiment.lifecycleStage,
    name: experiment.name,
  };
  if (experiment.tags) dict.tags = { ...experiment.tags };
  return dumpYaml(dict);
}

/** The lines of a metric file as Python's `readlines()` in text mode splits them. */
function splitLines(text: string): string[] {
  const lines = text.split(/\r\n|\r|\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function metricLine(metric: Metric): string {
  // An int64 step past 2^53 given as a number is exactly an integer: written with all its digits.
  const step =
    typeof metric.step === 'number' && !Number.isSafeInteger(metric.step) ? BigInt(metric.step) : metric.step;
  let line = `${metric.timestamp} ${pythonFloatRepr(metric.value)} ${step}`;
  if (metric.datasetName != null && metric.datasetDigest != null)
    line += ` ${metric.datasetName} ${metric.datasetDigest}`;
  return line + '\n';
}

/** Decimal digits with an optional minus, exactly representable: what the writers put in timestamps and steps. */
function plainInteger(text: string): number | null {
  const start = text.charCodeAt(0) === 45 /* - */ ? 1 : 0;
  if (text.length === start || text.length - start > 15) return null;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return null;
  }
  return Number(text) + 0; // `-0` is Python's 0
}

/** Characters of a finite `repr(float)`; anything else (inf, nan, underscores, spaces) takes the exact path. */
const PLAIN_FLOAT = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;

/**
 * A metric line. Lines as MLflow and this store write them (`<int> <repr(float)> <int>`) take a
 * fast path of plain character checks, which reads a 10,000-point history several times faster;
 * every other line goes through Python's exact `int()`/`float()` rules.
 */
function parseMetricLine(key: string, line: string, experimentId: string): Metric {
  const first = line.indexOf(' ');
  const second = line.indexOf(' ', first + 1);
  if (first > 0 && second > first + 1 && line.indexOf(' ', second + 1) < 0) {
    const timestamp = plainInteger(line.slice(0, first));
    const step = plainInteger(line.slice(second + 1));
    const valueText = line.slice(first + 1, second);
    if (timestamp !== null && step !== null && PLAIN_FLOAT.test(valueText))
      return { key, value: Number(valueText), timestamp, step };
  }
  return parseMetricLineExactly(key, line, experimentId);
}

function parseMetricLineExactly(key: string, line: string, experimentId: string): Metric {
  const parts = line.trim().split(' ');
  if (parts.length !== 2 && parts.length !== 3 && parts.length !== 5) {
    throw new MlflowError(
      `Metric '${key}' is malformed; persisted metric data contained ${parts.length} fields. Expected 2, 3, or 5 fields. Experiment id: ${experimentId}`,
      'INTERNAL_ERROR',
    );
  }
  const timestamp = parsePythonInt(parts[0]);
  if (timestamp === null)
    throw new MlflowError(`invalid literal for int() with base 10: '${parts[0]}'`, 'INTERNAL_ERROR');
  const value = parsePythonFloat(parts[1]);
  if (value === null) throw new MlflowError(`could not convert string to float: '${parts[1]}'`, 'INTERNAL_ERROR');
  let step: number | bigint = 0;
  if (parts.length >= 3) {
    const parsed = parsePythonInt(parts[2]);
    if (parsed === null)
      throw new MlflowError(`invalid literal for int() with base 10: '${parts[2]}'`, 'INTERNAL_ERROR');
    // A step past 2^53 (MLflow's steps are int64) is read exactly, as a bigint.
    step = Number.isSafeInteger(parsed) ? parsed : BigInt(parts[2].trim().replace(/_/g, ''));
  }
  const metric: Metric = { key, value, timestamp, step };
  if (parts.length === 5) {
    metric.datasetName = parts[3];
    metric.datasetDigest = parts[4];
  }
  return metric;
}

/**
 * Every point of a metric file, in file order. A last line without its newline that does not parse
 * is a point being appended right now by another writer, not damage: it is left for the next read.
 */
function readMetricFile(file: string, key: string, experimentId: string): Metric[] {
  const text = fs.readFileSync(file, 'utf8');
  const lines = splitLines(text);
  const complete = text.endsWith('\n') || text.endsWith('\r');
  const points: Metric[] = [];
  for (let i = 0; i < lines.length; i++) {
    try {
      points.push(parseMetricLine(key, lines[i], experimentId));
    } catch (error) {
      if (i === lines.length - 1 && !complete) break;
      throw error;
    }
  }
  return points;
}

/**
 * MLflow keeps the point with the largest `(step, timestamp, value)`. Python's `max` compares NaN
 * as neither larger nor smaller, so its answer would depend on file order; here NaN ranks below
 * every number when step and timestamp tie, so a real value wins and the result is order-free.
 */
function isLater(a: Metric, b: Metric): boolean {
  if (a.step !== b.step) return a.step > b.step;
  if (a.timestamp !== b.timestamp) return a.timestamp > b.timestamp;
  if (Number.isNaN(a.value)) return false;
  if (Number.isNaN(b.value)) return true;
  return a.value > b.value;
}

/**
 * What a scan of a metric file found so far: the latest point of its first `scanned` bytes (whole
 * lines), and the bytes just before `scanned`, which must still be there for the scan to go on
 * from `scanned` (a file cut back by an undone batch and grown again is scanned afresh).
 */
interface LatestScan {
  ino: number;
  scanned: number;
  seam: Buffer;
  latest: Metric | null;
  /** The file as last seen whole (size, mtime) and its latest point then, unfinished last line included. */
  size: number;
  mtimeMs: number;
  result: Metric | null;
}

const SCAN_CHUNK = 1 << 20;
const SEAM_BYTES = 32;
const LATEST_CACHE_LIMIT = 100_000;

/**
 * The latest point of a metric file (MLflow's `_get_metric_from_file`: the max by (step, timestamp,
 * value) over every line, not the last line: points may be logged out of order), in bounded
 * memory: the file is read in 1 MB chunks and no point is kept but the best. `previous` is an
 * earlier scan of the same file; only what was appended since is read then. Returns the new scan.
 */
function scanLatest(
  file: string,
  key: string,
  experimentId: string,
  previous: LatestScan | undefined,
): { scan: LatestScan; latest: Metric } {
  // Unchanged since the last scan (one stat): its answer stands.
  const seen = fs.statSync(file);
  if (
    previous?.result &&
    previous.ino === seen.ino &&
    previous.size === seen.size &&
    previous.mtimeMs === seen.mtimeMs
  ) {
    return { scan: previous, latest: previous.result };
  }
  const fd = fs.openSync(file, 'r');
  try {
    const { size, ino, mtimeMs } = fs.fstatSync(fd);
    let scan: LatestScan = { ino, scanned: 0, seam: Buffer.alloc(0), latest: null, size, mtimeMs, result: null };
    if (previous && previous.ino === ino && previous.scanned <= size) {
      const seam = Buffer.alloc(previous.seam.length);
      fs.readSync(fd, seam, 0, seam.length, previous.scanned - seam.length);
      if (seam.equals(previous.seam)) scan = { ...previous, size, mtimeMs, result: null };
    }
    const buffer = Buffer.alloc(Math.min(SCAN_CHUNK, Math.max(1, size - scan.scanned)));
    let carry = '';
    let position = scan.scanned;
    while (position < size) {
      const read = fs.readSync(fd, buffer, 0, Math.min(buffer.length, size - position), position);
      if (read <= 0) break;
      position += read;
      const text = carry + buffer.toString('utf8', 0, read);
      const lastBreak = text.lastIndexOf('\n');
      carry = text.slice(lastBreak + 1);
      for (const line of splitLines(text.slice(0, lastBreak + 1))) {
        const point = parseMetricLine(key, line, experimentId);
        if (!scan.latest || isLater(point, scan.latest)) scan.latest = point;
      }
      scan.scanned = position - Buffer.byteLength(carry);
    }
    if (scan.scanned > 0) {
      scan.seam = Buffer.alloc(Math.min(SEAM_BYTES, scan.scanned));
      fs.readSync(fd, scan.seam, 0, scan.seam.length, scan.scanned - scan.seam.length);
    }
    // A last line without its line break: MLflow reads it if it parses; one that does not is a
    // point being appended by another writer right now (see readMetricFile).
    let latest = scan.latest;
    if (carry.trim() !== '') {
      try {
        const point = parseMetricLine(key, carry, experimentId);
        if (!latest || isLater(point, latest)) latest = point;
      } catch {
        // Left for the next read.
      }
    }
    if (!latest) throw new MlflowError(`Metric '${key}' is malformed. No data found.`, 'INTERNAL_ERROR');
    scan.result = latest;
    return { scan, latest };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Metric lines separate their fields with spaces, so a dataset name or digest holding whitespace
 * would write a line neither MLflow nor this store can read back (MLflow writes it anyway and the
 * run becomes unreadable). Refused up front instead.
 */
function checkStorable(metrics: readonly Metric[]): void {
  for (const metric of metrics) {
    if (metric.datasetName != null && /\s/.test(metric.datasetName + (metric.datasetDigest ?? ''))) {
      throw MlflowError.invalidParameterValue(
        `The file store cannot keep metric '${metric.key}': its dataset name and digest must not contain whitespace ` +
          `(got name=${JSON.stringify(metric.datasetName)}, digest=${JSON.stringify(metric.datasetDigest)}).`,
      );
    }
  }
}

function runNotActive(runId: string): MlflowError {
  return MlflowError.invalidParameterValue(`The run ${runId} must be in 'active' lifecycle_stage.`);
}

function checkRunIsActive(info: RunInfo): void {
  if (info.lifecycleStage !== 'active') throw runNotActive(info.runId);
}

function matchesView(view: ViewType, stage: LifecycleStage): boolean {
  return view === 'ALL' || (view === 'ACTIVE_ONLY' ? stage === 'active' : stage === 'deleted');
}

// ---------------------------------------------------------------------------------------------
// Ids and names (`FileStore`, `mlflow/utils/validation.py`)

/**
 * MLflow's `_generate_unique_integer_id`: the last 18 decimal digits of a random 128-bit integer,
 * each leading zero dropped and replaced by a random digit appended at the end.
 */
function generateExperimentId(): string {
  const digits = BigInt('0x' + randomUUID().replace(/-/g, ''))
    .toString()
    .slice(-18);
  const trimmed = digits.replace(/^0+/, '');
  let id = trimmed;
  while (id.length < digits.length) id += String(randomInt(10));
  return id;
}

// Short words, so `<adjective>-<noun>-<n>` stays within MLflow's 20 characters.
const ADJECTIVES = [
  'able',
  'agile',
  'amber',
  'bold',
  'brave',
  'bright',
  'calm',
  'clever',
  'cool',
  'crisp',
  'eager',
  'fair',
  'fast',
  'fine',
  'gentle',
  'glad',
  'golden',
  'grand',
  'happy',
  'honest',
  'jolly',
  'keen',
  'kind',
  'lively',
  'loyal',
  'lucky',
  'merry',
  'mighty',
  'neat',
  'noble',
  'polite',
  'proud',
  'quick',
  'quiet',
  'rare',
  'rich',
  'royal',
  'shiny',
  'silent',
  'smart',
  'sunny',
  'swift',
  'tidy',
  'vast',
  'warm',
  'wise',
  'witty',
  'zesty',
];
const NOUNS = [
  'ant',
  'bass',
  'bear',
  'bee',
  'bird',
  'boar',
  'calf',
  'carp',
  'cat',
  'colt',
  'crab',
  'crow',
  'deer',
  'dog',
  'dove',
  'duck',
  'eel',
  'elk',
  'finch',
  'fish',
  'fox',
  'frog',
  'goat',
  'gull',
  'hare',
  'hawk',
  'hen',
  'hog',
  'jay',
  'koi',
  'lamb',
  'lark',
  'lion',
  'mole',
  'moth',
  'mule',
  'newt',
  'owl',
  'ox',
  'panda',
  'pig',
  'ram',
  'seal',
  'shark',
  'slug',
  'snail',
  'swan',
  'toad',
  'trout',
  'wasp',
  'whale',
  'wolf',
  'worm',
  'yak',
];

/** A random run name, `<adjective>-<noun>-<0..999>`, as MLflow's `_generate_random_name`. */
export function generateRunName(): string {
  return `${ADJECTIVES[randomInt(ADJECTIVES.length)]}-${NOUNS[randomInt(NOUNS.length)]}-${randomInt(1000)}`;
}

// ---------------------------------------------------------------------------------------------
// The store

interface CachedRun {
  runDir: string;
  /** The experiment folder's name, which must match `info.experimentId`. */
  folderExperimentId: string;
  experimentDir: string;
  metaPath: string;
  /** `meta.yaml` when `stored` was read. */
  signature: FileSignature;
  stored: StoredRun;
  /** `<runDir>/metrics/`, precomputed: the hot path appends below it on every call. */
  metricsPrefix: string;
}

/**
 * What identifies one version of a file: every rewrite replaces the file by rename (a new inode,
 * a new ctime), so an unchanged signature means unchanged content. Millisecond times as doubles
 * keep sub-microsecond resolution, far finer than any two rewrites can be apart.
 */
interface FileSignature {
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
}

const RUN_CACHE_LIMIT = 10_000;

const NO_SIGNATURE: FileSignature = { ino: -1, size: -1, mtimeMs: -1, ctimeMs: -1 };

function signatureOf(stats: fs.Stats): FileSignature {
  return { ino: stats.ino, size: stats.size, mtimeMs: stats.mtimeMs, ctimeMs: stats.ctimeMs };
}

function sameSignature(stats: fs.Stats, signature: FileSignature): boolean {
  return (
    stats.ino === signature.ino &&
    stats.size === signature.size &&
    stats.mtimeMs === signature.mtimeMs &&
    stats.ctimeMs === signature.ctimeMs
  );
}

/** Where a run's batch in flight is recorded (sdk/storage/journal.ts); MLflow reads no loose file of a run folder. */
const journalPathOf = (runDir: string) => path.join(runDir, '.flowhost-batch-journal');

/** `dir/` + a key whose parts are separated by `/`, in the platform's separators. */
function keyPrefix(dir: string): string {
  return dir + path.sep;
}
const keyPath = path.sep === '/' ? (key: string) => key : (key: string) => key.split('/').join(path.sep);

export interface FileStoreContext {
  storeUri: string;
  artifactUri: string | null;
}

export class FileStore implements TrackingStore {
  /** Absolute local path of the store's root folder. */
  readonly rootDirectory: string;
  /** The URI experiments' default artifact locations are made from: `<artifactRootUri>/<id>`. */
  readonly artifactRootUri: string;
  private readonly trashDirectory: string;
  private readonly runs = new Map<string, CachedRun>();
  /** Per metric file, how far it was scanned for its latest point (bounded, oldest dropped first). */
  private readonly latestScans = new Map<string, LatestScan>();
  /** How errors name this store. */
  private readonly label: string;
  private readonly lineFiles: LineFiles;

  constructor(context: FileStoreContext) {
    // `file:` with no path is MLflow's default root, `./mlruns` (`root_directory or _default_root_dir()`).
    this.rootDirectory = /^(file:(\/\/)?)?$/.test(context.storeUri)
      ? path.resolve('mlruns')
      : localPathOfFileUri(context.storeUri);
    this.artifactRootUri = context.artifactUri
      ? resolveUriIfLocal(context.artifactUri)
      : pathToFileUri(this.rootDirectory);
    this.trashDirectory = path.join(this.rootDirectory, TRASH);
    this.label = `file store at ${this.rootDirectory}`;
    this.lineFiles = new LineFiles(this.label);
    // As MLflow's constructor: the Default experiment exists only in stores created from nothing.
    if (!fs.existsSync(this.rootDirectory)) {
      fs.mkdirSync(this.rootDirectory, { recursive: true });
      this.writeNewExperiment(DEFAULT_EXPERIMENT_NAME, DEFAULT_EXPERIMENT_ID, null, true);
    }
    try {
      fs.mkdirSync(this.trashDirectory);
    } catch (error) {
      // Present already, or a read-only store (which can still be read).
      if (!['EEXIST', 'EACCES', 'EROFS', 'EPERM'].includes(errnoOf(error) ?? '')) throw error;
    }
  }

  // ------------------------------------------------------------------------------------------
  // Writing files (sdk/storage): whole or not at all, failures naming the store and the file

  /** Replaces `target` atomically; the temporary file goes to `tempDir` (never a key folder). */
  private replace(target: string, data: string, tempDir: string, mode?: number): void {
    try {
      replaceFile(target, data, { tempDir, mode });
    } catch (error) {
      throw writeFailure(error, this.label, target);
    }
  }

  /** Creates `target` with its content unless it exists (false then). */
  private createExclusive(target: string, data: string, tempDir: string): boolean {
    try {
      return createFileExclusive(target, data, { tempDir });
    } catch (error) {
      throw writeFailure(error, this.label, target);
    }
  }

  private locked<T>(lockPath: string, fn: () => T | Promise<T>): Promise<T> {
    return withLock(lockPath, this.label, fn);
  }

  // ------------------------------------------------------------------------------------------
  // Paths and lookups

  private lockPath(kind: 'names' | 'experiment' | 'run', id = ''): string {
    // Ids are encoded: an id naming a missing experiment may hold any character, a `/` included.
    return path.join(
      this.rootDirectory,
      kind === 'names' ? '.lock-experiment-names' : `.lock-${kind}-${encodeURIComponent(id)}`,
    );
  }

  private checkRootDir(): void {
    const stats = statOrNull(this.rootDirectory);
    if (!stats) throw new MlflowError(`'${this.rootDirectory}' does not exist.`);
    if (!stats.isDirectory()) throw new MlflowError(`'${this.rootDirectory}' is not a directory.`);
  }

  /** Folder names of active experiments (the root's sub-folders but the trash and the registry). */
  private activeExperimentIds(): string[] {
    return subdirectories(this.rootDirectory).filter((name) => !name.endsWith(TRASH) && name !== REGISTRY_FOLDER);
  }

  private deletedExperimentIds(): string[] {
    return subdirectories(this.trashDirectory);
  }

  /** MLflow's `_get_experiment_path`: the active folder first, then the trash. */
  private experimentPath(experimentId: string, view: ViewType = 'ALL'): string | null {
    if (!isPlainName(experimentId) || experimentId === TRASH) return null;
    if (view !== 'DELETED_ONLY') {
      const active = path.join(this.rootDirectory, experimentId);
      if (isDirectory(active)) return active;
    }
    if (view !== 'ACTIVE_ONLY') {
      const deleted = path.join(this.trashDirectory, experimentId);
      if (isDirectory(deleted)) return deleted;
    }
    return null;
  }

  /**
   * Reads `meta.yaml`, retrying twice (after 0.1 s and 0.2 s) on an empty file as MLflow does: a
   * Python writer creating a file may be caught between open and write.
   */
  private async readMeta(dir: string): Promise<YamlData> {
    const file = path.join(dir, META);
    for (let attempt = 0; ; attempt++) {
      const text = readTextOrNull(file);
      if (text === null) throw new MlflowError(`Yaml file '${file}' does not exist.`);
      let data: YamlData | null;
      try {
        data = readYaml(text);
      } catch (error) {
        throw new MlflowError(`Yaml file '${file}' is malformed: ${messageOf(error)}`);
      }
      if (data !== null) return data;
      if (attempt === 2) throw new MlflowError(`Yaml file '${file}' is empty.`);
      await sleep(100 * (attempt + 1));
    }
  }

  private experimentTags(experimentDir: string): Record<string, string> {
    const tagsDir = path.join(experimentDir, 'tags');
    const tags: Record<string, string> = {};
    for (const key of keyFiles(tagsDir)) setEntry(tags, key, readText(path.join(tagsDir, key)));
    return tags;
  }

  /** The experiment stored in `dir`, or null when its meta.yaml names another id (MLflow ignores it). */
  private async readExperiment(dir: string, experimentId: string): Promise<Experiment | null> {
    const meta = parseExperimentMeta(await this.readMeta(dir));
    if (meta.experimentId !== experimentId) return null;
    return { ...meta, tags: this.experimentTags(dir) };
  }

  /** MLflow's `get_experiment`: active or deleted; the errors of `_get_experiment`. */
  private async experimentOrThrow(experimentId: string): Promise<{ experiment: Experiment; dir: string }> {
    this.checkRootDir();
    validateExperimentId(experimentId);
    const dir = this.experimentPath(experimentId);
    if (!dir) throw MlflowError.resourceDoesNotExist(`Could not find experiment with ID ${experimentId}`);
    const experiment = await this.readExperiment(dir, experimentId);
    if (!experiment) throw MlflowError.resourceDoesNotExist(`Experiment '${experimentId}' does not exist.`);
    return { experiment, dir };
  }

  /** Every readable experiment of the view; broken folders are skipped as MLflow skips them. */
  private async listExperiments(view: ViewType, slicer = new Slicer()): Promise<Experiment[]> {
    const sources: [string, string[]][] = [];
    if (view !== 'DELETED_ONLY') sources.push([this.rootDirectory, this.activeExperimentIds()]);
    if (view !== 'ACTIVE_ONLY') sources.push([this.trashDirectory, this.deletedExperimentIds()]);
    const experiments: Experiment[] = [];
    for (const [parent, ids] of sources) {
      for (const id of ids) {
        await slicer.tick();
        // MLflow would fail the whole search on a folder that is not a valid id; it is skipped here.
        if (!/^[a-zA-Z0-9][\p{L}\p{N}_-]{0,63}$/u.test(id)) continue;
        try {
          const experiment = await this.readExperiment(path.join(parent, id), id);
          if (experiment) experiments.push(experiment);
        } catch (error) {
          if (!isMlflowError(error)) throw error;
        }
      }
    }
    return experiments;
  }

  /** Active and deleted experiments named `name`, first in MLflow's default order. */
  private async experimentNamed(name: string): Promise<Experiment | null> {
    const matches = (await this.listExperiments('ALL')).filter((e) => e.name === name);
    if (matches.length === 0) return null;
    return searchExperimentsInMemory(matches, null, null, 1, null).items[0] ?? null;
  }

  private async assertNameIsFree(name: string): Promise<void> {
    const existing = await this.experimentNamed(name);
    if (!existing) return;
    if (existing.lifecycleStage === 'deleted') {
      throw MlflowError.resourceAlreadyExists(
        `Experiment '${existing.name}' already exists in deleted state. You can restore the experiment, or permanently delete the experiment ` +
          `from the .trash folder (under tracking server's root folder) in order to use this experiment name again.`,
      );
    }
    throw MlflowError.resourceAlreadyExists(`Experiment '${existing.name}' already exists.`);
  }

  /** Creates the experiment folder and its meta.yaml (tags are the caller's). Synchronous: the constructor uses it. */
  private writeNewExperiment(
    name: string,
    experimentId: string,
    artifactLocation: string | null,
    mayExist = false,
  ): void {
    const dir = path.join(this.rootDirectory, experimentId);
    try {
      fs.mkdirSync(dir);
    } catch (error) {
      if (!(mayExist && errnoOf(error) === 'EEXIST')) throw error;
    }
    const now = Date.now();
    const experiment = {
      experimentId,
      name,
      artifactLocation: artifactLocation
        ? resolveUriIfLocal(artifactLocation)
        : appendToUriPath(this.artifactRootUri, experimentId),
      lifecycleStage: 'active' as const,
      creationTime: now,
      lastUpdateTime: now,
    };
    this.replace(path.join(dir, META), experimentMetaYaml(experiment), dir);
  }

  /** Rewrites an experiment's meta.yaml as MLflow's delete/restore/rename do: `dict(experiment)`, tags included. */
  private writeExperimentMeta(dir: string, experiment: Experiment): void {
    const metaPath = path.join(dir, META);
    this.replace(
      metaPath,
      experimentMetaYaml(experiment, readTextOrNull(metaPath) ?? undefined),
      dir,
      statOrNull(metaPath)?.mode,
    );
  }

  // ------------------------------------------------------------------------------------------
  // Runs: location, cache, meta

  /** Reads a run folder's meta.yaml into the cache entry shape (no id checks). */
  private async loadRun(runDir: string, folderExperimentId: string, experimentDir: string): Promise<CachedRun> {
    const metaPath = path.join(runDir, META);
    const metricsPrefix = keyPrefix(path.join(runDir, 'metrics'));
    for (let attempt = 0; ; attempt++) {
      const before = statOrNull(metaPath);
      if (!before) throw new MlflowError(`Yaml file '${metaPath}' does not exist.`);
      const stored = parseRunMeta(await this.readMeta(runDir), path.basename(runDir));
      const after = statOrNull(metaPath);
      // Replaced while being read: read again so the signature matches what was parsed.
      if (after && sameSignature(after, signatureOf(before))) {
        return {
          runDir,
          folderExperimentId,
          experimentDir,
          metaPath,
          signature: signatureOf(after),
          stored,
          metricsPrefix,
        };
      }
      if (attempt >= 5)
        return { runDir, folderExperimentId, experimentDir, metaPath, signature: NO_SIGNATURE, stored, metricsPrefix };
    }
  }

  private remember(runId: string, entry: CachedRun): void {
    if (this.runs.size >= RUN_CACHE_LIMIT && !this.runs.has(runId)) {
      const oldest = this.runs.keys().next().value;
      if (oldest !== undefined) this.runs.delete(oldest);
    }
    this.runs.set(runId, entry);
  }

  /** MLflow's `_find_run_root`: scans active, then deleted experiments for a folder named `runId`. */
  private findRunFolder(runId: string): { runDir: string; experimentDir: string; folderExperimentId: string } | null {
    this.checkRootDir();
    const parents: [string, string[]][] = [
      [this.rootDirectory, this.activeExperimentIds()],
      [this.trashDirectory, this.deletedExperimentIds()],
    ];
    for (const [parent, ids] of parents) {
      for (const id of ids) {
        const experimentDir = path.join(parent, id);
        const runDir = path.join(experimentDir, runId);
        if (isDirectory(runDir)) return { runDir, experimentDir, folderExperimentId: id };
      }
    }
    return null;
  }

  /**
   * The run `runId` with its current meta.yaml (MLflow's `_get_run_info`): from the cache when one
   * `stat` proves the file unchanged, else re-read, else found again by scanning.
   */
  private async locateRun(runId: string, validated = false, underLock = false): Promise<CachedRun> {
    if (!validated) validateRunId(runId);
    let entry = this.runs.get(runId);
    if (entry) {
      const stats = statOrNull(entry.metaPath);
      if (!stats) entry = undefined;
      else if (!sameSignature(stats, entry.signature))
        entry = await this.loadRun(entry.runDir, entry.folderExperimentId, entry.experimentDir);
    }
    if (!entry) {
      this.runs.delete(runId);
      const found = this.findRunFolder(runId);
      if (!found) throw MlflowError.resourceDoesNotExist(`Run '${runId}' not found`);
      entry = await this.loadRun(found.runDir, found.folderExperimentId, found.experimentDir);
    }
    if (entry.stored.info.experimentId !== entry.folderExperimentId) {
      this.runs.delete(runId);
      throw MlflowError.invalidState(`Run '${runId}' metadata is in invalid state.`);
    }
    this.remember(runId, entry);
    if (hasJournal(journalPathOf(entry.runDir))) {
      await this.settleBatch(entry, underLock);
      return this.locateRun(runId, true, underLock);
    }
    return entry;
  }

  /**
   * A run's journal is a batch in flight (its writer holds the run's lock) or one whose writer
   * died: waiting for the lock tells them apart, and a journal still there then is undone.
   */
  private async settleBatch(entry: CachedRun, underLock: boolean): Promise<void> {
    const journal = journalPathOf(entry.runDir);
    if (underLock) return rollBack(journal);
    await this.locked(this.lockPath('run', entry.stored.info.runId), () => rollBack(journal));
  }

  /**
   * Read-modify-write of a run's meta.yaml under the run's lock: `change` sees the current content
   * (re-read if anyone rewrote it) and returns the new one. The file keeps its mode.
   */
  private async rewriteRun(runId: string, change: (current: StoredRun) => StoredRun): Promise<RunInfo> {
    return this.locked(this.lockPath('run', runId), async () => {
      const entry = await this.locateRun(runId, false, true);
      const next = change(entry.stored);
      const mode = statOrNull(entry.metaPath)?.mode;
      const previous = readTextOrNull(entry.metaPath) ?? undefined;
      this.replace(entry.metaPath, runMetaYaml(next.info, next.deletedTime, previous), entry.runDir, mode);
      this.remember(runId, { ...entry, signature: signatureOf(fs.statSync(entry.metaPath)), stored: next });
      return next.info;
    });
  }

  /** The latest point of a metric file, reading only what was appended since this store last looked. */
  private latestPoint(file: string, key: string, experimentId: string): Metric {
    const { scan, latest } = scanLatest(file, key, experimentId, this.latestScans.get(file));
    this.latestScans.delete(file);
    if (this.latestScans.size >= LATEST_CACHE_LIMIT) this.latestScans.delete(this.latestScans.keys().next().value!);
    this.latestScans.set(file, scan);
    return latest;
  }

  /** The run's folders of params, tags, metrics and inputs made into a `Run` (MLflow's `_get_run_from_info`). */
  private readRun(entry: CachedRun): Run {
    const info = { ...entry.stored.info };
    const { runDir } = entry;
    const metrics: Record<string, number> = {};
    const metricsDir = path.join(runDir, 'metrics');
    for (const key of keyFiles(metricsDir)) {
      setEntry(metrics, key, this.latestPoint(path.join(metricsDir, key), key, info.experimentId).value);
    }
    const params: Record<string, string> = {};
    const paramsDir = path.join(runDir, 'params');
    for (const key of keyFiles(paramsDir)) setEntry(params, key, readText(path.join(paramsDir, key)));
    const tags: Record<string, string> = {};
    const tagsDir = path.join(runDir, 'tags');
    for (const key of keyFiles(tagsDir)) setEntry(tags, key, readText(path.join(tagsDir, key)));
    if (!info.runName && tags[RUN_NAME_TAG]) info.runName = tags[RUN_NAME_TAG];
    return { info, data: { metrics, params, tags }, inputs: { datasetInputs: this.readInputs(entry) } };
  }

  /** Dataset inputs (`FileStore.log_inputs`): `inputs/<id>/meta.yaml` pointing at `<experiment>/datasets/<id>/meta.yaml`. */
  private readInputs(entry: CachedRun): DatasetInput[] {
    const inputsDir = path.join(entry.runDir, 'inputs');
    const datasetsDir = path.join(entry.experimentDir, 'datasets');
    const inputIds = subdirectories(inputsDir);
    if (inputIds.length === 0 || !isDirectory(datasetsDir)) return [];
    const inputs: DatasetInput[] = [];
    for (const inputId of inputIds) {
      const input = readYamlFileOrNull(path.join(inputsDir, inputId, META));
      // Model inputs and half-written or dangling entries are skipped, as MLflow skips them (with a warning).
      if (!input || input.source_type !== 'DATASET' || !isPlainName(pyStr(input.source_id))) continue;
      const data = readYamlFileOrNull(path.join(datasetsDir, pyStr(input.source_id), META));
      if (!data) continue;
      const dataset: Dataset = {
        name: pyStr(data.name),
        digest: pyStr(data.digest),
        sourceType: pyStr(data.source_type),
        source: pyStr(data.source),
      };
      if (data.schema !== null && data.schema !== undefined) dataset.schema = pyStr(data.schema);
      if (data.profile !== null && data.profile !== undefined) dataset.profile = pyStr(data.profile);
      const tagMap =
        input.tags !== null && typeof input.tags === 'object' ? (input.tags as Record<string, unknown>) : {};
      inputs.push({ dataset, tags: Object.entries(tagMap).map(([key, value]) => ({ key, value: pyStr(value) })) });
    }
    return inputs;
  }

  /** The runs of one experiment folder matching `view` (MLflow's `_list_run_infos`), as cache entries. */
  private async listRuns(experimentId: string, view: ViewType, slicer: Slicer): Promise<CachedRun[]> {
    const experimentDir = this.experimentPath(experimentId);
    if (!experimentDir) return [];
    const entries: CachedRun[] = [];
    for (const name of subdirectories(experimentDir)) {
      if (RESERVED_EXPERIMENT_FOLDERS.has(name)) continue;
      await slicer.tick();
      let entry = this.runs.get(name);
      const stats = entry && statOrNull(entry.metaPath);
      if (
        !entry ||
        !stats ||
        !sameSignature(stats, entry.signature) ||
        entry.runDir !== path.join(experimentDir, name)
      ) {
        try {
          entry = await this.loadRun(path.join(experimentDir, name), experimentId, experimentDir);
        } catch (error) {
          // A folder without a readable meta.yaml is not a run (artifacts may share the root); MLflow skips it too.
          if (isMlflowError(error) || errnoOf(error) === 'ENOENT' || errnoOf(error) === 'EISDIR') continue;
          throw error;
        }
      }
      // A run whose meta.yaml names another experiment is ignored (MLflow warns).
      if (entry.stored.info.experimentId !== experimentId) continue;
      if (entry.stored.info.runId === name) this.remember(name, entry);
      if (matchesView(view, entry.stored.info.lifecycleStage)) entries.push(entry);
    }
    return entries;
  }

  // ------------------------------------------------------------------------------------------
  // Writing a run's data

  /** MLflow's param immutability: the same value again is fine, another one is refused. */
  private paramConflict(runId: string, key: string, existing: string, value: string): MlflowError {
    return MlflowError.invalidParameterValue(
      `Changing param values is not allowed. Param with key='${key}' was already logged with value='${existing}' for run ID='${runId}'. ` +
        `Attempted logging new value '${value}'.`,
    );
  }

  /** MLflow's param immutability: a new key is created, the same value again is fine, another one is refused. */
  private writeParam(entry: CachedRun, param: Param): void {
    const file = path.join(entry.runDir, 'params', param.key);
    const existing = readTextOrNull(file);
    if (existing === null) this.applyWrite(entry, { kind: 'create', file, data: param.value });
    else if (existing !== param.value)
      throw this.paramConflict(entry.stored.info.runId, param.key, existing, param.value);
  }

  private writeRunTag(entry: CachedRun, tag: RunTag): void {
    this.replace(path.join(entry.runDir, 'tags', tag.key), tag.value, entry.runDir);
  }

  /**
   * Setting the `mlflow.runName` tag renames the run (MLflow's `update_run_info`: status and end time
   * kept, the name changed if the value is non-empty, meta.yaml rewritten, which drops `deleted_time`). The tag file and `meta.yaml` are written
   * under the run's lock, together: two writers renaming at once leave a tag and a name that agree.
   */
  private async renameThroughTag(runId: string, entry: CachedRun, value: string): Promise<void> {
    await this.rewriteRun(runId, (current) => {
      checkRunIsActive(current.info);
      this.writeRunTag(entry, { key: RUN_NAME_TAG, value });
      return { info: { ...current.info, runName: value || current.info.runName } };
    });
  }

  // ------------------------------------------------------------------------------------------
  // Experiments

  async searchExperiments(
    viewType: ViewType,
    maxResults: number,
    filterString: string | null,
    orderBy: string[] | null,
    pageToken: string | null,
  ): Promise<Page<Experiment>> {
    validateSearchExperimentsMaxResults(maxResults);
    this.checkRootDir();
    const experiments = await this.listExperiments(viewType);
    return searchExperimentsInMemory(experiments, filterString, orderBy, maxResults, pageToken);
  }

  async createExperiment(name: string, artifactLocation: string | null, tags: ExperimentTag[] | null): Promise<string> {
    this.checkRootDir();
    validateExperimentName(name);
    // MLflow would create the experiment and then fail on a bad tag key; checking first leaves nothing half-made.
    for (const tag of tags ?? []) validateExperimentTagKey(tag.key);
    // The names lock makes "is the name free?" and "create it" one step for every writer of this root.
    return this.locked(this.lockPath('names'), async () => {
      await this.assertNameIsFree(name);
      let id = generateExperimentId();
      while (this.experimentPath(id)) id = generateExperimentId();
      this.writeNewExperiment(name, id, artifactLocation);
      const dir = path.join(this.rootDirectory, id);
      for (const tag of tags ?? []) this.replace(path.join(dir, 'tags', tag.key), tag.value, dir);
      return id;
    });
  }

  async getExperiment(experimentId: string): Promise<Experiment> {
    return (await this.experimentOrThrow(experimentId)).experiment;
  }

  async getExperimentByName(experimentName: string): Promise<Experiment | null> {
    this.checkRootDir();
    return this.experimentNamed(experimentName);
  }

  async deleteExperiment(experimentId: string): Promise<void> {
    if (String(experimentId) === DEFAULT_EXPERIMENT_ID) {
      throw new MlflowError(
        `Cannot delete the default experiment '${DEFAULT_EXPERIMENT_ID}'. This is an internally reserved experiment.`,
      );
    }
    this.checkRootDir();
    await this.locked(this.lockPath('experiment', experimentId), async () => {
      const dir = this.experimentPath(experimentId, 'ACTIVE_ONLY');
      if (!dir) throw MlflowError.resourceDoesNotExist(`Could not find experiment with ID ${experimentId}`);
      const experiment = await this.readExperiment(dir, experimentId);
      if (!experiment) throw MlflowError.resourceDoesNotExist(`Experiment '${experimentId}' does not exist.`);
      const now = Date.now();
      // Runs first, as MLflow: each active run is marked deleted, with the same deletion time.
      for (const entry of await this.listRuns(experimentId, 'ACTIVE_ONLY', new Slicer())) {
        await this.rewriteRun(entry.stored.info.runId, (current) =>
          current.info.lifecycleStage === 'active'
            ? { info: { ...current.info, lifecycleStage: 'deleted' }, deletedTime: now }
            : current,
        );
      }
      this.writeExperimentMeta(dir, { ...experiment, lifecycleStage: 'deleted', lastUpdateTime: now });
      fs.mkdirSync(this.trashDirectory, { recursive: true });
      const target = path.join(this.trashDirectory, experimentId);
      if (fs.existsSync(target)) throw new MlflowError(`Destination path '${target}' already exists`);
      fs.renameSync(dir, target);
    });
  }

  async restoreExperiment(experimentId: string): Promise<void> {
    this.checkRootDir();
    await this.locked(this.lockPath('experiment', experimentId), async () => {
      const trashed = this.experimentPath(experimentId, 'DELETED_ONLY');
      if (!trashed) throw MlflowError.resourceDoesNotExist(`Could not find deleted experiment with ID ${experimentId}`);
      if (this.experimentPath(experimentId, 'ACTIVE_ONLY')) {
        throw MlflowError.resourceAlreadyExists(
          `Cannot restore experiment with ID ${experimentId}. An experiment with same ID already exists.`,
        );
      }
      const dir = path.join(this.rootDirectory, experimentId);
      fs.renameSync(trashed, dir);
      const experiment = await this.readExperiment(dir, experimentId);
      if (!experiment) throw MlflowError.resourceDoesNotExist(`Experiment '${experimentId}' does not exist.`);
      // Every deleted run comes back, including runs deleted before the experiment was (as MLflow).
      for (const entry of await this.listRuns(experimentId, 'DELETED_ONLY', new Slicer())) {
        await this.rewriteRun(entry.stored.info.runId, (current) => ({
          info: { ...current.info, lifecycleStage: 'active' },
        }));
      }
      this.writeExperimentMeta(dir, { ...experiment, lifecycleStage: 'active', lastUpdateTime: Date.now() });
    });
  }

  async renameExperiment(experimentId: string, newName: string): Promise<void> {
    validateExperimentName(newName);
    await this.locked(this.lockPath('names'), () =>
      this.locked(this.lockPath('experiment', experimentId), async () => {
        const { experiment, dir } = await this.experimentOrThrow(experimentId);
        await this.assertNameIsFree(newName);
        if (experiment.lifecycleStage !== 'active') {
          throw new MlflowError(
            `Cannot rename experiment in non-active lifecycle stage. Current stage: ${experiment.lifecycleStage}`,
          );
        }
        this.writeExperimentMeta(dir, { ...experiment, name: newName, lastUpdateTime: Date.now() });
      }),
    );
  }

  async setExperimentTag(experimentId: string, tag: ExperimentTag): Promise<void> {
    validateExperimentTagKey(tag.key);
    const { experiment, dir } = await this.experimentOrThrow(experimentId);
    if (experiment.lifecycleStage !== 'active') {
      throw MlflowError.invalidParameterValue(
        `The experiment ${experiment.experimentId} must be in the 'active' lifecycle_stage to set tags`,
      );
    }
    this.replace(path.join(dir, 'tags', tag.key), tag.value, dir);
  }

  async deleteExperimentTag(experimentId: string, key: string): Promise<void> {
    const { experiment, dir } = await this.experimentOrThrow(experimentId);
    if (experiment.lifecycleStage !== 'active') {
      throw MlflowError.invalidParameterValue(
        `The experiment ${experiment.experimentId} must be in the 'active' lifecycle_stage to delete tags`,
      );
    }
    validateExperimentTagKey(key);
    const file = path.join(dir, 'tags', key);
    if (!statOrNull(file)?.isFile()) {
      throw MlflowError.resourceDoesNotExist(`No tag with name: ${key} in experiment with id ${experimentId}`);
    }
    fs.unlinkSync(file);
  }

  // ------------------------------------------------------------------------------------------
  // Runs

  async getRun(runId: string): Promise<Run> {
    return this.readRun(await this.locateRun(runId));
  }

  async updateRunInfo(
    runId: string,
    runStatus: RunStatus,
    endTime: number | null,
    runName: string | null,
  ): Promise<RunInfo> {
    const entry = await this.locateRun(runId);
    checkRunIsActive(entry.stored.info);
    // MLflow's `_copy_with_overrides` keeps the old end time and name when given a falsy one. The
    // name's tag is written under the run's lock with meta.yaml (see renameThroughTag).
    return this.rewriteRun(runId, (current) => {
      checkRunIsActive(current.info);
      if (runName) this.writeRunTag(entry, { key: RUN_NAME_TAG, value: runName });
      return {
        info: {
          ...current.info,
          status: runStatus,
          endTime: endTime || current.info.endTime,
          runName: runName || current.info.runName,
        },
      };
    });
  }

  async createRun(
    experimentId: string | null,
    userId: string,
    startTime: number,
    tags: RunTag[],
    runName: string | null,
  ): Promise<Run> {
    const expId = experimentId ?? DEFAULT_EXPERIMENT_ID;
    const { experiment, dir } = await this.experimentOrThrow(expId);
    if (experiment.lifecycleStage !== 'active') {
      throw MlflowError.invalidState(`Could not create run under non-active experiment with ID ${expId}.`);
    }
    const nameTag = tags.find((tag) => tag.key === RUN_NAME_TAG)?.value;
    if (runName && nameTag && runName !== nameTag) {
      throw MlflowError.invalidParameterValue(
        `Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different values (run_name='${runName}', mlflow.runName='${nameTag}').`,
      );
    }
    // MLflow sets each tag after creating the run; a bad key would leave a half-made run behind.
    for (const tag of tags) validateTagKey(tag.key);
    let name = runName || nameTag || generateRunName();
    const allTags = nameTag ? [...tags] : [...tags, { key: RUN_NAME_TAG, value: name }];
    // Each mlflow.runName tag set in order renames the run when non-empty (MLflow's set_tag).
    for (const tag of allTags) if (tag.key === RUN_NAME_TAG && tag.value) name = tag.value;

    const runId = randomUUID().replace(/-/g, '');
    await this.locked(this.lockPath('experiment', expId), async () => {
      // The experiment may have been deleted while this call waited for the lock.
      const current = this.experimentPath(expId, 'ACTIVE_ONLY');
      if (!current)
        throw MlflowError.invalidState(`Could not create run under non-active experiment with ID ${expId}.`);
      const runDir = path.join(dir, runId);
      fs.mkdirSync(runDir);
      const info: RunInfo = {
        runId,
        experimentId: expId,
        userId,
        status: 'RUNNING',
        startTime,
        endTime: null,
        lifecycleStage: 'active',
        artifactUri: appendToUriPath(experiment.artifactLocation, runId, 'artifacts'),
        runName: name,
      };
      // MLflow first writes `deleted_time: null`, then its own set_tag('mlflow.runName') rewrites the
      // file through update_run_info, which drops the key: the file MLflow leaves has none.
      this.replace(path.join(runDir, META), runMetaYaml(info), runDir);
      for (const folder of ['metrics', 'params', 'artifacts', 'tags']) fs.mkdirSync(path.join(runDir, folder));
      for (const tag of allTags) this.replace(path.join(runDir, 'tags', tag.key), tag.value, runDir);
    });
    return this.getRun(runId);
  }

  async deleteRun(runId: string): Promise<void> {
    await this.locateRun(runId);
    await this.rewriteRun(runId, (current) => ({
      info: { ...current.info, lifecycleStage: 'deleted' },
      deletedTime: Date.now(),
    }));
  }

  async restoreRun(runId: string): Promise<void> {
    await this.locateRun(runId);
    await this.rewriteRun(runId, (current) => ({ info: { ...current.info, lifecycleStage: 'active' } }));
  }

  async deleteTag(runId: string, key: string): Promise<void> {
    const entry = await this.locateRun(runId);
    checkRunIsActive(entry.stored.info);
    validateTagKey(key);
    const file = path.join(entry.runDir, 'tags', key);
    if (!statOrNull(file)?.isFile())
      throw MlflowError.resourceDoesNotExist(`No tag with name: ${key} in run with id ${runId}`);
    fs.unlinkSync(file);
  }

  async searchRuns(
    experimentIds: string[],
    filterString: string | null,
    runViewType: ViewType,
    maxResults: number,
    orderBy: string[] | null,
    pageToken: string | null,
  ): Promise<Page<Run>> {
    validateSearchRunsMaxResults(maxResults);
    this.checkRootDir();
    const slicer = new Slicer();
    const runs: Run[] = [];
    for (const experimentId of experimentIds) {
      for (const listed of await this.listRuns(experimentId, runViewType, slicer)) {
        await slicer.tick();
        // A batch in flight or left by a dead writer is settled first: no search sees half of one.
        const entry = hasJournal(journalPathOf(listed.runDir))
          ? await this.locateRun(listed.stored.info.runId, true)
          : listed;
        if (matchesView(runViewType, entry.stored.info.lifecycleStage)) runs.push(this.readRun(entry));
      }
    }
    return searchRunsInMemory(runs, filterString, orderBy, maxResults, pageToken);
  }

  async getMetricHistory(
    runId: string,
    metricKey: string,
    maxResults: number | null,
    pageToken: string | null,
  ): Promise<Page<Metric>> {
    validateRunId(runId);
    // Same name rules as logging: the key becomes a path below the run.
    validateMetric({ key: metricKey, value: 0, timestamp: 0, step: 0 });
    // MLflow's FileStore does not check it. 0 is a page of no points and a token for the same
    // offset, as MLflow 3's stores answer it: its server passes 0 when a client sends no max_results.
    if (maxResults !== null && (!Number.isInteger(maxResults) || maxResults < 0)) {
      throw MlflowError.invalidParameterValue(
        `Invalid value ${maxResults} for parameter 'max_results' supplied. It must be a positive integer`,
      );
    }
    const entry = await this.locateRun(runId);
    const file = path.join(entry.runDir, 'metrics', metricKey);
    const offset = decodePageToken(pageToken);
    if (!statOrNull(file)?.isFile()) return { items: [], nextPageToken: null };
    const points = readMetricFile(file, metricKey, entry.stored.info.experimentId);
    if (maxResults === null) return { items: points.slice(offset), nextPageToken: null };
    const end = offset + maxResults;
    return { items: points.slice(offset, end), nextPageToken: end < points.length ? encodePageToken(end) : null };
  }

  // ------------------------------------------------------------------------------------------
  // Logging

  /**
   * All or nothing (sdk/storage/journal.ts): under the run's lock, every write of the batch is
   * recorded in the run's journal before it is made, and the journal removed once all are made. A
   * batch refused or failing part way is undone at once; one whose process died is undone by the
   * next call that touches the run. Readers wait for a batch in flight and never see part of one.
   */
  async logBatch(runId: string, metrics: Metric[], params: Param[], tags: RunTag[]): Promise<void> {
    validateRunId(runId);
    const batch = validateBatch(metrics, params, tags);
    checkStorable(batch.metrics);
    checkRunIsActive((await this.locateRun(runId, true)).stored.info);
    // MLflow's FileStore wraps whatever fails while writing a batch as INTERNAL_ERROR (HTTP 500), a
    // param change included, keeping the message.
    const internal = (error: unknown) => new MlflowError(messageOf(error), 'INTERNAL_ERROR');
    await this.locked(this.lockPath('run', runId), async () => {
      const entry = await this.locateRun(runId, true, true);
      checkRunIsActive(entry.stored.info);
      let plan: { entries: JournalEntry[]; renamed: StoredRun | null };
      try {
        plan = this.planBatch(entry, batch.metrics, batch.params, batch.tags);
      } catch (error) {
        throw internal(error);
      }
      if (plan.entries.length === 0) return;
      const journal = journalPathOf(entry.runDir);
      try {
        writeJournal(journal, plan.entries);
      } catch (error) {
        throw internal(writeFailure(error, this.label, journal));
      }
      try {
        for (const write of plan.entries) this.applyWrite(entry, write);
      } catch (error) {
        try {
          rollBack(journal);
        } catch {
          // Left for the next call touching the run, which rolls back before anything else.
        }
        throw internal(error);
      }
      commitJournal(journal);
      if (plan.renamed)
        this.remember(runId, { ...entry, signature: signatureOf(fs.statSync(entry.metaPath)), stored: plan.renamed });
    });
  }

  /** The writes of a batch, in MLflow's order (params, metrics, tags), checked before any is made. */
  private planBatch(
    entry: CachedRun,
    metrics: readonly Metric[],
    params: readonly Param[],
    tags: readonly RunTag[],
  ): { entries: JournalEntry[]; renamed: StoredRun | null } {
    const entries: JournalEntry[] = [];
    const paramsDir = path.join(entry.runDir, 'params');
    for (const param of params) {
      const existing = readTextOrNull(path.join(paramsDir, param.key));
      if (existing === null) entries.push({ kind: 'create', file: path.join(paramsDir, param.key), data: param.value });
      else if (existing !== param.value)
        throw this.paramConflict(entry.stored.info.runId, param.key, existing, param.value);
    }
    const byKey = new Map<string, string>();
    for (const metric of metrics) byKey.set(metric.key, (byKey.get(metric.key) ?? '') + metricLine(metric));
    for (const [key, data] of byKey) {
      const file = entry.metricsPrefix + keyPath(key);
      entries.push({ kind: 'append', file, data, from: this.lineFiles.completeSize(file) });
    }
    let renamed: StoredRun | null = null;
    for (const tag of tags) {
      const file = path.join(entry.runDir, 'tags', tag.key);
      entries.push({ kind: 'replace', file, data: tag.value, previous: readTextOrNull(file) });
      if (tag.key !== RUN_NAME_TAG) continue;
      // Setting mlflow.runName renames the run: meta.yaml is rewritten (MLflow's update_run_info,
      // which drops deleted_time).
      const current: StoredRun = renamed ?? entry.stored;
      renamed = { info: { ...current.info, runName: tag.value || current.info.runName } };
      const previous = readTextOrNull(entry.metaPath);
      entries.push({
        kind: 'replace',
        file: entry.metaPath,
        data: runMetaYaml(renamed.info, undefined, previous ?? undefined),
        previous,
      });
    }
    return { entries, renamed };
  }

  private applyWrite(entry: CachedRun, write: JournalEntry): void {
    switch (write.kind) {
      case 'append':
        return this.lineFiles.append(write.file, write.data, entry.runDir);
      case 'create':
        if (!this.createExclusive(write.file, write.data, entry.runDir)) {
          // Created by another writer since the check: the same value is fine, another is a change.
          const existing = readTextOrNull(write.file) ?? '';
          if (existing !== write.data)
            throw this.paramConflict(
              entry.stored.info.runId,
              path.relative(path.join(entry.runDir, 'params'), write.file).split(path.sep).join('/'),
              existing,
              write.data,
            );
        }
        return;
      case 'replace':
        return this.replace(
          write.file,
          write.data,
          entry.runDir,
          write.file === entry.metaPath ? statOrNull(write.file)?.mode : undefined,
        );
    }
  }

  async logMetric(runId: string, metric: Metric): Promise<void> {
    validateRunId(runId);
    validateMetric(metric);
    checkStorable([metric]);
    const entry = await this.locateRun(runId, true);
    checkRunIsActive(entry.stored.info);
    this.lineFiles.append(entry.metricsPrefix + keyPath(metric.key), metricLine(metric), entry.runDir);
  }

  async logParam(runId: string, param: Param): Promise<void> {
    validateRunId(runId);
    const checked = validateParam(param);
    const entry = await this.locateRun(runId);
    checkRunIsActive(entry.stored.info);
    this.writeParam(entry, checked);
  }

  async setTag(runId: string, tag: RunTag): Promise<void> {
    validateRunId(runId);
    validateTagKey(tag.key);
    const entry = await this.locateRun(runId);
    checkRunIsActive(entry.stored.info);
    if (tag.key === RUN_NAME_TAG) await this.renameThroughTag(runId, entry, tag.value);
    else this.writeRunTag(entry, tag);
  }

  async logInputs(runId: string, datasets: DatasetInput[]): Promise<void> {
    const entry = await this.locateRun(runId);
    checkRunIsActive(entry.stored.info);
    for (const { dataset, tags } of datasets) {
      const datasetId = md5Hex(dataset.name, dataset.digest);
      const datasetDir = path.join(entry.experimentDir, 'datasets', datasetId);
      if (!fs.existsSync(path.join(datasetDir, META))) {
        fs.mkdirSync(datasetDir, { recursive: true });
        const datasetMeta = dumpYaml({
          digest: dataset.digest,
          name: dataset.name,
          profile: dataset.profile ?? null,
          schema: dataset.schema ?? null,
          source: dataset.source,
          source_type: dataset.sourceType,
        });
        // Whoever writes first wins; the content is the same for the same name and digest.
        this.createExclusive(path.join(datasetDir, META), datasetMeta, datasetDir);
      }
      const inputId = md5Hex(datasetId, runId);
      const inputDir = path.join(entry.runDir, 'inputs', inputId);
      if (!fs.existsSync(path.join(inputDir, META))) {
        fs.mkdirSync(inputDir, { recursive: true });
        const inputTags: Record<string, string> = {};
        for (const tag of tags) setEntry(inputTags, tag.key, tag.value);
        const inputMeta = dumpYaml({
          source_type: 'DATASET',
          source_id: datasetId,
          destination_type: 'RUN',
          // MLflow writes the source id here too (a bug kept for compatibility: `FileStore.log_inputs`).
          destination_id: datasetId,
          tags: inputTags,
        });
        this.createExclusive(path.join(inputDir, META), inputMeta, inputDir);
      }
    }
  }

  /** Closes the metric files kept open for appending (reopened on the next write if the store is used again). */
  close(): void {
    this.lineFiles.closeAll();
  }
}

/** MLflow's tracking store builder for the FileStore: `builder(store_uri=…, artifact_uri=…)`. */
export function createFileStore(context: FileStoreContext): FileStore {
  return new FileStore(context);
}
