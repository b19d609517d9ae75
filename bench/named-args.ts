/**
 * Named arguments: carried by position or by name? (docs/decisions/0012-named-arguments.md)
 *
 * The shape names every argument; a call could carry `{ runId, metric }` instead of
 * `['run', metric]`. This measures what each would cost per call on the wire (msgpackr frame
 * encode + decode with the options wire/frames.ts uses), and what mapping a named call to
 * positions on the host costs (`positional`, what clients and `bench --args '{…}'` use).
 * The ceiling is the positional encoding, what the wire carries today.
 */
import { Packr } from 'msgpackr';
import { positional, trackingStore } from '@flowhost/sdk';
import { fmt, machine, printTable, ratio } from './lib.js';

const quick = process.argv.includes('--quick');
const CALLS = quick ? 50_000 : 300_000;
const ROUNDS = quick ? 3 : 7;

const packr = new Packr({ useRecords: true, moreTypes: false });
const metric = { key: 'loss', value: 0.5, timestamp: 1_700_000_000_000, step: 1 };
const runId = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const shape = trackingStore.methods.logMetric;

/**
 * Median nanoseconds per call of each step over `ROUNDS` rounds of `CALLS` calls, the steps taking
 * turns within each round: on a shared machine load comes and goes, and taking turns spreads it
 * over every step instead of charging it to whichever ran at the wrong moment.
 */
function nsPerCall(steps: readonly ((i: number) => unknown)[]): number[] {
  const rounds = steps.map(() => [] as number[]);
  for (let r = 0; r <= ROUNDS; r++) {
    steps.forEach((step, k) => {
      const started = process.hrtime.bigint();
      for (let i = 0; i < CALLS; i++) step(i);
      if (r > 0) rounds[k].push(Number(process.hrtime.bigint() - started) / CALLS); // round 0 warms up
    });
  }
  return rounds.map((figures) => figures.sort((a, b) => a - b)[Math.floor(figures.length / 2)]);
}

export function runNamedArgsBench(): Record<string, number> {
  const positionalFrame = (i: number) => packr.unpack(packr.pack([i, 'logMetric', [runId, metric]]));
  const namedFrame = (i: number) => packr.unpack(packr.pack([i, 'logMetric', { runId, metric }]));
  const bytes = (args: unknown) => packr.pack([1, 'logMetric', args]).length;
  const [wirePositional, wireNamed, mapping] = nsPerCall([
    positionalFrame,
    namedFrame,
    () => positional('logMetric', shape, { runId, metric }),
  ]);
  const m = machine();
  console.log(
    `\nNamed arguments: one logMetric call (${m.model}, ${m.node}, ${m.cpus} cores, load ${m.loadavg}); medians of ${ROUNDS} rounds`,
  );
  printTable([
    ['', 'ns/call', 'bytes', 'ratio'],
    ['positional frame, encode + decode (ceiling)', fmt(wirePositional), String(bytes([runId, metric])), '1.00x'],
    [
      'named frame, encode + decode',
      fmt(wireNamed),
      String(bytes({ runId, metric })),
      ratio(wireNamed, wirePositional),
    ],
    ['named → positional on the host (positional())', fmt(mapping), '', ratio(mapping, wirePositional)],
  ]);
  return { wirePositional, wireNamed, mapping };
}

if (import.meta.url === `file://${process.argv[1]}`) runNamedArgsBench();
