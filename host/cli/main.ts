#!/usr/bin/env node
/** The `flowhost` command: finds the command by its words and runs it. */
import { readFileSync, realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { artifactCommands } from './artifact-commands.js';
import { benchCommands } from './bench-commands.js';
import { helpFor, runCommand, type Command } from './command.js';
import { dbCommands } from './db-commands.js';
import { deploymentCommands } from './deployment-commands.js';
import { initPluginCommands } from './init-plugin.js';
import { pluginCommands } from './plugin-commands.js';
import { projectCommands } from './project-commands.js';
import { registryCommands } from './registry-commands.js';
import { serverCommands } from './server-commands.js';
import { statusCommands } from './status-commands.js';
import { trackingCommands } from './tracking-commands.js';

/** flowhost's version, from its package.json (`dist/host/cli/` is three folders below it). */
const VERSION = (
  JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export const COMMANDS: Command[] = [
  ...pluginCommands,
  ...trackingCommands,
  ...deploymentCommands,
  ...projectCommands,
  ...registryCommands,
  ...artifactCommands,
  ...benchCommands,
  ...statusCommands,
  ...initPluginCommands,
  ...dbCommands,
  ...serverCommands,
];

export async function main(
  argv: string[],
  io = { out: (line = '') => console.log(line), err: (line: string) => console.error(line) },
): Promise<number> {
  // The longest command path that prefixes argv wins (`runs list` before `runs`).
  const command = COMMANDS.filter((c) => c.path.every((word, i) => argv[i] === word)).sort(
    (a, b) => b.path.length - a.path.length,
  )[0];
  if (!command) {
    if (argv[0] === '--version' || argv[0] === '-V') {
      io.out(`flowhost, version ${VERSION}`);
      return 0;
    }
    const asked = argv
      .filter((a) => !a.startsWith('-'))
      .slice(0, 2)
      .join(' ');
    // A group's word alone (`flowhost experiments`) lists the group's commands, as MLflow's does.
    const group = COMMANDS.filter((c) => c.path.length > 1 && c.path[0] === argv[0]);
    const listed = group.length > 0 ? group : COMMANDS;
    const known = listed.map((c) => `  flowhost ${c.path.join(' ').padEnd(22)} ${c.summary}`).join('\n');
    const help = `Usage: flowhost ${group.length > 0 ? `${argv[0]} ` : ''}COMMAND [options]\n\nCommands:\n${known}\n\nRun 'flowhost COMMAND --help' for a command's options.`;
    const helpAsked = argv.includes('--help') || argv.includes('-h');
    if (asked === '' || helpAsked || (group.length > 0 && argv.length === 1)) {
      io.out(help);
      return asked === '' && !helpAsked ? 2 : 0;
    }
    io.err(`Error: no such command 'flowhost ${asked}'.\n\n${help}`);
    return 2;
  }
  return runCommand(command, argv.slice(command.path.length), io);
}

export { helpFor };

// Run when this file is the program, however it was reached (npm's bin link is a symlink).
if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}
