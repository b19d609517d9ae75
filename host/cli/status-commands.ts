/**
 * `flowhost status`: starts every installed plugin (or one group's) the way `plugins doctor` does,
 * keeps them running side by side, and reports each instance's statistics: state, workers,
 * start-up time, heap, calls and errors. `--json` for machines, `--prometheus` for the text format
 * scrapers read. A long-running host serves the same figures from `Flowhost.stats()` and
 * `Flowhost.prometheus()`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MlflowError, PLUGIN_GROUPS, kindOf, type PluginGroup } from '@flowhost/sdk';
import { JSON_OPTION, table, type Command } from './command.js';
import { serverStatus } from './server-commands.js';

export const statusCommands: Command[] = [
  {
    path: ['status'],
    summary: 'Start the installed plugins in their workers and report each one’s state and statistics.',
    options: {
      group: { type: 'string', description: `only this entry-point group (${PLUGIN_GROUPS.join(', ')})` },
      prometheus: { type: 'boolean', description: 'print the Prometheus text format' },
      server: { type: 'string', description: "a running flowhost server's URL: report its health and figures instead" },
      ...JSON_OPTION,
    },
    async run(context) {
      if (context.values.server !== undefined) return serverStatus(context.values.server as string, context);
      const group = context.values.group as PluginGroup | undefined;
      if (group !== undefined && !PLUGIN_GROUPS.includes(group)) {
        throw MlflowError.invalidParameterValue(`Unknown group '${group}': use one of ${PLUGIN_GROUPS.join(', ')}.`);
      }
      const host = context.host();
      const scratch = mkdtempSync(join(tmpdir(), 'flowhost-status-'));
      const failures: { plugin: string; error: string }[] = [];
      try {
        await Promise.all(
          host.registry.entries(group).map(async (entry) => {
            const kind = kindOf(entry.group);
            try {
              await host.warmUp(
                kind,
                entry,
                kind.contextForUri(`${entry.name || 'file'}:${join(scratch, entry.group, entry.name || 'default')}`),
              );
            } catch (error) {
              failures.push({ plugin: `${entry.group}:${entry.name}`, error: (error as Error).message });
            }
          }),
        );
        if (context.values.prometheus) return context.out((await host.prometheus()).trimEnd());
        const stats = await host.stats();
        if (context.values.json)
          return context.out(JSON.stringify({ instances: stats, failures, problems: host.registry.problems }, null, 2));
        const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
        context.out(
          table([
            ['GROUP', 'NAME', 'STATE', 'WORKERS', 'START MS', 'HEAP MiB', 'CALLS', 'ERRORS'],
            ...stats
              .sort((a, b) => a.group.localeCompare(b.group) || a.name.localeCompare(b.name))
              .map((s) => [
                s.group,
                s.name === '' ? "''" : s.name,
                s.state,
                String(s.workers),
                s.lastStartupMs === null ? '' : s.lastStartupMs.toFixed(0),
                mib(s.heapUsedBytes),
                String(s.calls),
                String(Object.values(s.errors).reduce((a, b) => a + b, 0)),
              ]),
          ]),
        );
        for (const failure of failures) context.err(`${failure.plugin}: ${failure.error}`);
        for (const problem of host.registry.problems) context.err(`${problem.packageName}: ${problem.reason}`);
        return failures.length > 0 ? 1 : 0;
      } finally {
        await host.close();
        rmSync(scratch, { recursive: true, force: true });
      }
    },
  },
];
