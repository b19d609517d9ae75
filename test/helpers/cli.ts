/**
 * Running the `flowhost` CLI inside a test: `main(argv, io)` in this process, with an io that
 * records every line instead of printing it. One copy for every CLI test file.
 */
import { main } from '../../host/cli/main.js';

/** An io for `main(argv, io)` that keeps what the command writes, one entry per line. */
export function captureIo(): {
  io: { out: (line?: string) => void; err: (line: string) => void };
  out: string[];
  err: string[];
} {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (line = '') => void out.push(line), err: (line) => void err.push(line) }, out, err };
}

/** Runs `flowhost …argv`: its exit code and what it wrote to stdout and stderr, line by line. */
export async function cliLines(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const { io, out, err } = captureIo();
  const code = await main(argv, io);
  return { code, out, err };
}

/** Runs `flowhost …argv`: its exit code, and each stream's lines joined with newlines. */
export async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const { code, out, err } = await cliLines(...argv);
  return { code, out: out.join('\n'), err: err.join('\n') };
}
