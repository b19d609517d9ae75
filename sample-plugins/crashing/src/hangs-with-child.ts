/**
 * Starts a program of its own (a Node process that idles for ten minutes), prints its pid, then
 * never answers: the deadline must end the program too, not only the plugin's process.
 */
import { spawn } from 'node:child_process';
import { crashing } from './lib/crashing.js';

export default crashing(() => {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 600_000)'], { stdio: 'ignore' });
  console.log(`started pid ${child.pid}`);
  return new Promise(() => {});
});
