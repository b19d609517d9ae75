/** The crashing sample plugins (`sample-plugins/crashing`) and what each one's failure says. */
import { repoRoot } from './hosts.js';

export const crashingPlugins = `${repoRoot}sample-plugins/crashing`;

export interface Crash {
  readonly plugin: string;
  /** What the failed call's message says. */
  readonly message: RegExp;
  /** A crash of the process (the call fails as `crashed`) rather than an error the plugin's code could catch. */
  readonly crashes: boolean;
}

/**
 * Each one either kills its process (V8's fatal out-of-memory, an abort, a signal, an exit, an
 * uncaught exception) or is refused by the process's data limit (RLIMIT_DATA counts ArrayBuffers,
 * which V8's heap limit does not) before the memory is touched.
 */
export const CRASHES: readonly Crash[] = [
  { plugin: 'array-oom', message: /killed by SIGABRT: .*JavaScript heap out of memory/, crashes: true },
  { plugin: 'buffer-2gib', message: /RangeError: Array buffer allocation failed/, crashes: false },
  { plugin: 'arraybuffer-2gib', message: /RangeError: Array buffer allocation failed/, crashes: false },
  { plugin: 'buffers-touched', message: /RangeError: Array buffer allocation failed/, crashes: false },
  { plugin: 'aborts', message: /killed by SIGABRT/, crashes: true },
  { plugin: 'segv', message: /killed by SIGSEGV/, crashes: true },
  { plugin: 'exits', message: /exit code 3/, crashes: true },
  { plugin: 'uncaught', message: /exit code 1[^]*thrown from a timer/, crashes: true },
];
