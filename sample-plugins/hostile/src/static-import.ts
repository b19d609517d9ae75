/** Imports node:child_process statically, as an ordinary Node program would. */
import { execSync } from 'node:child_process';
import { hostile, succeeded } from './lib/base.js';

export default hostile(() => succeeded(`id -u says ${execSync('id -u', { encoding: 'utf8' }).trim()}`));
