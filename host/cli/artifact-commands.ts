/**
 * `flowhost artifacts …`, named and flagged as MLflow's `mlflow artifacts` commands:
 * `log-artifact`, `log-artifacts`, `list` and `download`. The run's artifact URI comes from the
 * tracking store, the repository from its scheme.
 *
 * Large transfers draw a progress bar on stderr: redrawn in place when stderr is a terminal, or as
 * a line per tenth of the way with `--progress` (for logs and CI). Ctrl-C aborts a transfer
 * cleanly (no partial artifact, no partial download); a second Ctrl-C ends the process at once.
 */
import { posix } from 'node:path';
import { MlflowError } from '@flowhost/sdk';
import { stringifyMlflowJson, toMlflowJson } from '@flowhost/sdk/mlflow';
import { runArtifactRepository, type TransferOptions, type TransferProgress } from '../client/artifacts.js';
import { JSON_OPTION, table, type Command, type CommandContext, type OptionSpec } from './command.js';

const RUN_ID: Record<string, OptionSpec> = {
  'run-id': { type: 'string', short: 'r', description: 'run id', required: true },
};
const PROGRESS: Record<string, OptionSpec> = {
  progress: {
    type: 'boolean',
    description: 'report progress on stderr even when it is not a terminal (a line per 10%)',
  },
};

/** Below this, a transfer is over before a bar would help; `--progress` shows it anyway. */
export const LARGE_TRANSFER_BYTES = 16 * 1024 * 1024;

function artifactPathOf(description: string): Record<string, OptionSpec> {
  return { 'artifact-path': { type: 'string', short: 'a', description } };
}

/**
 * MLflow's `_get_root_uri_and_artifact_path`: the repository at the URI's parent and the artifact
 * named by its last segment (`s3://b/p/f.txt` → `s3://b/p`, `f.txt`); a plain path likewise.
 */
function rootUriAndArtifactPath(artifactUri: string): [string, string] {
  // The part a path may not split: `scheme://authority` (`s3://bucket`), or nothing for a plain path.
  const authority = /^[a-z][a-z0-9+.-]*:\/\/[^/]*/i.exec(artifactUri)?.[0] ?? '';
  const path = artifactUri.slice(authority.length).replace(/\/+$/, '');
  const artifactPath = posix.basename(path);
  if (!artifactPath)
    throw MlflowError.invalidParameterValue(
      `The artifact URI '${artifactUri}' names no artifact: add the path of a file or directory.`,
    );
  return [authority + posix.dirname(path), artifactPath];
}

async function repositoryOf(context: CommandContext) {
  return runArtifactRepository(context.host(), await context.tracking(), context.values['run-id'] as string);
}

/** Runs `transfer` with a signal aborted by the first Ctrl-C, and the progress bar the context calls for. */
async function withTransfer<T>(
  context: CommandContext,
  verb: string,
  transfer: (options: TransferOptions) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  const interrupt = () => controller.abort(new Error('interrupted (Ctrl-C)'));
  process.once('SIGINT', interrupt);
  const bar = progressBar(context, verb);
  try {
    const result = await transfer({ signal: controller.signal, onProgress: bar?.update });
    bar?.finish();
    return result;
  } catch (error) {
    bar?.finish(true);
    throw error;
  } finally {
    process.removeListener('SIGINT', interrupt);
  }
}

export const artifactCommands: Command[] = [
  {
    path: ['artifacts', 'log-artifact'],
    summary: "Log a local file as an artifact of a run (stored at '<artifact-path>/<file name>').",
    options: {
      'local-file': { type: 'string', short: 'l', description: 'the local file to log', required: true },
      ...RUN_ID,
      ...artifactPathOf("directory within the run's artifacts to put it in (default: the root)"),
      ...PROGRESS,
    },
    async run(context) {
      const localFile = context.values['local-file'] as string;
      const artifactPath = context.values['artifact-path'] as string | undefined;
      const repository = await repositoryOf(context);
      await withTransfer(context, 'Uploading', (options) => repository.logArtifact(localFile, artifactPath, options));
      context.out(`Logged artifact from local file ${localFile} to artifact_path=${artifactPath ?? 'None'}`);
    },
  },
  {
    path: ['artifacts', 'log-artifacts'],
    summary: 'Log the contents of a local directory as artifacts of a run.',
    options: {
      'local-dir': {
        type: 'string',
        short: 'l',
        description: 'the local directory whose contents to log',
        required: true,
      },
      ...RUN_ID,
      ...artifactPathOf("directory within the run's artifacts to put them in (default: the root)"),
      ...PROGRESS,
    },
    async run(context) {
      const localDir = context.values['local-dir'] as string;
      const artifactPath = context.values['artifact-path'] as string | undefined;
      const repository = await repositoryOf(context);
      await withTransfer(context, 'Uploading', (options) => repository.logArtifacts(localDir, artifactPath, options));
      context.out(`Logged artifact from local dir ${localDir} to artifact_path=${artifactPath ?? 'None'}`);
    },
  },
  {
    path: ['artifacts', 'list'],
    readsStore: 'tracking',
    summary: 'List the artifacts of a run, or of a directory within them (direct children, sorted).',
    options: {
      ...RUN_ID,
      ...artifactPathOf("directory within the run's artifacts (default: the root)"),
      ...JSON_OPTION,
    },
    async run(context) {
      const repository = await repositoryOf(context);
      const infos = await repository.listArtifacts(context.values['artifact-path'] as string | undefined);
      if (context.values.json) {
        return context.out(
          stringifyMlflowJson(
            infos.map((f) => toMlflowJson('fileInfo', f)),
            2,
          ),
        );
      }
      if (infos.length === 0) return context.out('No artifacts.');
      context.out(
        table([
          ['Path', 'Type', 'Size'],
          ...infos.map((f) => [
            f.isDir ? `${f.path}/` : f.path,
            f.isDir ? 'dir' : 'file',
            f.fileSize === null ? '' : formatBytes(f.fileSize),
          ]),
        ]),
      );
    },
  },
  {
    path: ['artifacts', 'download'],
    readsStore: 'tracking',
    summary: 'Download the artifacts of a run (or a file or directory within them) and print the local path.',
    options: {
      'run-id': { ...RUN_ID['run-id'], required: false },
      ...artifactPathOf("file or directory within the run's artifacts (default: all of them)"),
      'artifact-uri': {
        type: 'string',
        short: 'u',
        description:
          "the URI of an artifact to download instead of a run's (s3://bucket/path/file, file:///…); --run-id and --artifact-path are then ignored, as in MLflow",
      },
      'dst-path': {
        type: 'string',
        short: 'd',
        description:
          'an existing local directory to download into (default: a new temporary directory; local artifacts give their own path)',
      },
      ...PROGRESS,
    },
    async run(context) {
      const dstPath = context.values['dst-path'] as string | undefined;
      const artifactUri = context.values['artifact-uri'] as string | undefined;
      if (artifactUri !== undefined) {
        const [rootUri, artifactPath] = rootUriAndArtifactPath(artifactUri);
        const repository = await context.host().artifactRepository(rootUri);
        context.out(
          await withTransfer(context, 'Downloading', (options) =>
            repository.downloadArtifacts(artifactPath, dstPath, options),
          ),
        );
        return;
      }
      if (context.values['run-id'] === undefined)
        throw MlflowError.invalidParameterValue('Either --run-id or --artifact-uri must be provided.');
      const repository = await repositoryOf(context);
      const artifactPath = (context.values['artifact-path'] as string | undefined) ?? '';
      const local = await withTransfer(context, 'Downloading', (options) =>
        repository.downloadArtifacts(artifactPath, dstPath, options),
      );
      context.out(local);
    },
  },
];

// --- progress

export interface ProgressBar {
  readonly update: (progress: TransferProgress) => void;
  finish(failed?: boolean): void;
}

/**
 * The bar the context calls for: redrawn in place on a terminal stderr, a line per 10% with
 * `--progress`, none otherwise; and only for transfers of `LARGE_TRANSFER_BYTES` or more unless
 * asked for.
 */
export function progressBar(
  context: Pick<CommandContext, 'values' | 'err'>,
  verb: string,
  terminal: { isTTY?: boolean; write(text: string): unknown } = process.stderr,
): ProgressBar | null {
  const asked = context.values.progress === true;
  const tty = terminal.isTTY === true;
  if (!asked && !tty) return null;
  const started = performance.now();
  let last: TransferProgress | null = null;
  let shown = false;
  let lastDraw = 0;
  let lastTenth = -1;
  const line = (p: TransferProgress) => {
    const fraction =
      p.totalBytes > 0 ? Math.min(1, p.bytes / p.totalBytes) : p.totalFiles > 0 ? p.files / p.totalFiles : 1;
    const width = 30;
    const filled = Math.round(fraction * width);
    const seconds = (performance.now() - started) / 1000;
    const rate = seconds > 0 ? p.bytes / seconds : 0;
    const files = p.totalFiles > 1 ? `  ${p.files}/${p.totalFiles} files` : '';
    return `${verb} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}%  ${formatBytes(p.bytes)} / ${formatBytes(p.totalBytes)}  ${formatBytes(rate)}/s${files}`;
  };
  const draw = (p: TransferProgress, final: boolean) => {
    if (tty) {
      terminal.write(`\r${line(p)}\x1b[K${final ? '\n' : ''}`);
    } else {
      context.err(line(p));
    }
    shown = true;
  };
  return {
    update(p) {
      last = p;
      if (!asked && p.totalBytes < LARGE_TRANSFER_BYTES) return;
      const fraction = p.totalBytes > 0 ? p.bytes / p.totalBytes : 0;
      if (tty) {
        const now = performance.now();
        if (now - lastDraw < 100) return;
        lastDraw = now;
        draw(p, false);
      } else {
        const tenth = Math.floor(fraction * 10);
        if (tenth === lastTenth || tenth >= 10) return;
        lastTenth = tenth;
        draw(p, false);
      }
    },
    finish(failed = false) {
      if (!last || (!shown && !asked)) return;
      if (failed) {
        if (tty && shown) terminal.write('\n');
        return;
      }
      draw(last, true);
    },
  };
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}
