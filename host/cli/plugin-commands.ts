/** `flowhost plugins list` and `flowhost plugins doctor NAME`. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MlflowError, PLUGIN_GROUPS, kindOf, type PluginGroup } from '@flowhost/sdk';
import { JSON_OPTION, table, type Command } from './command.js';

export const pluginCommands: Command[] = [
  {
    path: ['plugins', 'list'],
    summary: 'List installed plugins: group, name, package, version and status (ok, conflict, or why it was skipped).',
    options: { ...JSON_OPTION },
    async run(context) {
      const { registry } = context.host();
      const rows = [
        ...registry.entries().map((e) => ({
          group: e.group,
          name: e.name,
          package: e.packageName,
          version: e.packageVersion,
          status: 'ok',
          error: null as string | null,
        })),
        ...registry.conflicts().map((c) => ({
          group: c.group,
          name: c.name,
          package: c.packages.join(', '),
          version: '',
          status: 'conflict',
          error: `claimed by ${c.packages.join(' and ')}`,
        })),
        ...registry.problems.map((p) => ({
          group: '',
          name: '',
          package: p.packageName,
          version: '',
          status: 'error',
          error: p.reason,
        })),
      ].sort((a, b) => a.group.localeCompare(b.group) || a.name.localeCompare(b.name));
      if (context.values.json) return context.out(JSON.stringify(rows, null, 2));
      context.out(
        table([
          ['GROUP', 'NAME', 'PACKAGE', 'VERSION', 'STATUS'],
          ...rows.map((r) => [
            r.group,
            r.name === '' && r.group ? "'' (plain paths)" : r.name,
            r.package,
            r.version,
            r.error ? `${r.status}: ${r.error}` : r.status,
          ]),
        ]),
      );
    },
  },
  {
    path: ['plugins', 'doctor'],
    summary: 'Load a plugin in a worker, run the start-up handshake, and report what happened.',
    positionals: ['NAME'],
    options: {
      group: {
        type: 'string',
        description: `entry-point group, when the name is in several (${PLUGIN_GROUPS.join(', ')})`,
      },
      uri: {
        type: 'string',
        description: 'the URI to build the plugin with, as MLflow would (default: NAME:<a fresh temporary folder>)',
      },
      ...JSON_OPTION,
    },
    async run(context) {
      const name = context.positionals[0];
      const host = context.host();
      const group = context.values.group as PluginGroup | undefined;
      const candidates = host.registry.entries(group).filter((e) => e.name === name);
      if (candidates.length === 0)
        throw MlflowError.resourceDoesNotExist(
          `No plugin named '${name}' is installed${group ? ` in ${group}` : ''}; see 'flowhost plugins list'.`,
        );
      if (candidates.length > 1)
        throw MlflowError.invalidParameterValue(
          `'${name}' names plugins in ${candidates.map((c) => c.group).join(' and ')}; pick one with --group.`,
        );
      const entry = candidates[0];
      const scratch = mkdtempSync(join(tmpdir(), 'flowhost-doctor-'));
      const uri = (context.values.uri as string | undefined) ?? `${name}:${scratch}`;
      const report: Record<string, unknown> = {
        group: entry.group,
        name: entry.name,
        package: entry.packageName,
        version: entry.packageVersion,
        module: entry.modulePath,
        limits: host.policyFor(entry).limits,
      };
      try {
        const kind = kindOf(entry.group);
        const { startupMs } = await host.probe(entry, kind.contextForUri(uri));
        Object.assign(report, { status: 'ok', handshakeMs: Math.round(startupMs) });
      } catch (error) {
        Object.assign(report, { status: 'failed', error: (error as Error).message });
      } finally {
        rmSync(scratch, { recursive: true, force: true });
      }
      if (context.values.json) context.out(JSON.stringify(report, null, 2));
      else {
        context.out(`${entry.group}:${entry.name} from ${entry.packageName}@${entry.packageVersion}`);
        context.out(`  module:    ${entry.modulePath}`);
        context.out(
          report.status === 'ok'
            ? `  handshake: ok in ${report.handshakeMs} ms (protocol and kind checked, instance built)`
            : `  handshake: FAILED: ${report.error}`,
        );
      }
      return report.status === 'ok' ? 0 : 1;
    },
  },
];
