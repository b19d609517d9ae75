/** Shared set-up for tests that start real workers. */
import { fileURLToPath } from 'node:url';
import { Flowhost, type FlowhostOptions } from '../../host/flowhost.js';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const misbehavingPlugins = `${repoRoot}sample-plugins/misbehaving`;
export const fixturesDir = `${repoRoot}test/fixtures`;

export interface CapturedHost {
  host: Flowhost;
  /** Every line plugins wrote, prefixed with the plugin's label. */
  output: string[];
}

/** A host that finds the misbehaving plugins and keeps their output for assertions instead of printing it. */
export function testHost(options: FlowhostOptions = {}): CapturedHost {
  const output: string[] = [];
  const host = new Flowhost({
    ...options,
    // The sample packages are trusted fixtures that use Node directly; a host given a policy treats
    // third-party plugins as untrusted (sandboxed) unless told otherwise. Tests of untrusted
    // plugins say `thirdParty: 'untrusted'`.
    policy: options.policy && { thirdParty: 'trusted', ...options.policy },
    discovery: { nodeModules: [], pluginDirs: [misbehavingPlugins], env: {}, ...options.discovery },
    onOutput: (plugin, stream, line) => output.push(`${plugin} ${stream}: ${line}`),
  });
  return { host, output };
}

/** Milliseconds `promise` took to settle, and how it settled. */
export async function timed<T>(
  call: Promise<T> | (() => Promise<T>),
): Promise<{ ms: number; value?: T; error?: unknown }> {
  // Given a promise, the clock starts after the call did (its arguments were evaluated first): fine
  // for an upper bound. A lower bound needs the function form, which starts the clock first; on a
  // loaded machine the two can be tens of milliseconds apart.
  const started = performance.now();
  try {
    const value = await (typeof call === 'function' ? call() : call);
    return { ms: performance.now() - started, value };
  } catch (error) {
    return { ms: performance.now() - started, error };
  }
}
