/**
 * MLflow's `local` project backend: runs the entry point's command with `bash -c` in the project
 * folder, with `MLFLOW_RUN_ID`, `MLFLOW_TRACKING_URI` and `MLFLOW_EXPERIMENT_ID` set so the
 * command logs into the run the host prepared. Its output goes to this worker's stdout and stderr,
 * which the host streams to the caller line by line (the host's `onOutput`).
 *
 * Each command runs in its own process group (spawned detached), so `cancel` stops everything it
 * started: SIGTERM to the group, SIGKILL after a grace period. A worker cannot clean up when it is
 * terminated (crash, deadline, host closed), so each run also has a watchdog: a tiny `sh` in its
 * own group reading a pipe from this worker. When the worker goes, the pipe closes and the
 * watchdog stops the run's group; no command outlives the backend that started it. (The stopped
 * command then stays a zombie of the host process until it exits: only the dead worker could
 * have reaped it.)
 *
 * The worker's environment is what the host grants this built-in by name (PATH and a few more,
 * host/builtin-plugins.ts); the command gets that plus the three MLflow variables, not the host's whole
 * environment.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { MlflowError, PROJECT_RUN_ID, PROJECT_STORAGE_DIR, defineProjectBackend, type RunStatus } from '@flowhost/sdk';
import { executionError, fetchAndValidateProject } from '@flowhost/sdk/projects';

/** How long a cancelled command gets between SIGTERM and SIGKILL. */
const CANCEL_GRACE_MS = 5_000;
/** How long `wait` lets the command's output drain after it exited (a background child may hold the pipes). */
const OUTPUT_DRAIN_MS = 1_000;

interface LocalRun {
  readonly child: ChildProcess;
  readonly watchdog: ChildProcess;
  /** Resolves when the command has exited and its output is flushed. */
  readonly ended: Promise<void>;
  status: RunStatus;
  cancelled: boolean;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    /* the group is already gone */
  }
}

function startWatchdog(pgid: number): ChildProcess {
  // `cat` returns when its stdin (our pipe) closes: the worker is gone, or the run ended and the
  // worker killed the watchdog first. Detached, so a terminal's Ctrl-C does not reach it.
  const script = 'cat >/dev/null; kill -TERM -"$1" 2>/dev/null; sleep 2; kill -KILL -"$1" 2>/dev/null';
  const watchdog = spawn('sh', ['-c', script, 'flowhost-watchdog', String(pgid)], {
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  watchdog.on('error', () => {});
  watchdog.stdin?.on('error', () => {});
  return watchdog;
}

export default defineProjectBackend(() => {
  const runs = new Map<string, LocalRun>();
  const runOf = (runId: string): LocalRun => {
    const run = runs.get(runId);
    if (!run) throw MlflowError.resourceDoesNotExist(`No run with ID '${runId}' was submitted to this local backend.`);
    return run;
  };

  return {
    async run(projectUri, entryPoint, params, version, backendConfig, trackingUri, experimentId) {
      const runId = backendConfig[PROJECT_RUN_ID];
      if (typeof runId !== 'string' || runId === '') {
        throw MlflowError.invalidParameterValue(
          `The local backend runs a project in the run the host prepared, named by backendConfig.${PROJECT_RUN_ID}; it is missing.`,
        );
      }
      if (runs.has(runId))
        throw MlflowError.invalidState(`Run with ID '${runId}' was already submitted to this local backend.`);
      const { directory, project } = fetchAndValidateProject(projectUri, version, entryPoint, params);
      // Path parameters only need a storage folder to download remote files into, which flowhost does not do (yet).
      const storageDir =
        typeof backendConfig[PROJECT_STORAGE_DIR] === 'string' ? backendConfig[PROJECT_STORAGE_DIR] : tmpdir();
      const command = project.entryPoint(entryPoint).computeCommand(params, storageDir);

      // MLflow logs this line (to stderr); the command's own output keeps stdout to itself.
      console.error(`=== Running command '${command}' in run with ID '${runId}' === `);
      const child = spawn('bash', ['-c', command], {
        cwd: directory,
        env: {
          ...process.env,
          MLFLOW_RUN_ID: runId,
          MLFLOW_TRACKING_URI: trackingUri,
          MLFLOW_EXPERIMENT_ID: experimentId,
        },
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      try {
        await once(child, 'spawn');
      } catch (error) {
        throw executionError(
          `Could not start the command of entry point '${entryPoint}' with bash: ${(error as Error).message}`,
        );
      }
      child.stdout!.pipe(process.stdout, { end: false });
      child.stderr!.pipe(process.stderr, { end: false });
      const watchdog = startWatchdog(child.pid!);

      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
      const run: LocalRun = {
        child,
        watchdog,
        status: 'RUNNING',
        cancelled: false,
        ended: exited.then(async (code) => {
          run.status = run.cancelled ? 'KILLED' : code === 0 ? 'FINISHED' : 'FAILED';
          watchdog.kill('SIGKILL');
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, OUTPUT_DRAIN_MS)))]);
          clearTimeout(timer);
        }),
      };
      runs.set(runId, run);
      return { runId };
    },

    async wait(runId) {
      const run = runOf(runId);
      await run.ended;
      return run.status === 'FINISHED';
    },

    getStatus(runId) {
      return runOf(runId).status;
    },

    async cancel(runId) {
      const run = runOf(runId);
      if (run.status !== 'RUNNING') return;
      run.cancelled = true;
      signalGroup(run.child.pid!, 'SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const stopped = await Promise.race([
        run.ended.then(() => true),
        new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), CANCEL_GRACE_MS))),
      ]);
      clearTimeout(timer);
      if (!stopped) {
        signalGroup(run.child.pid!, 'SIGKILL');
        await run.ended;
      }
    },
  };
});
