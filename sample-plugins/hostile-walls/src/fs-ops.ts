/**
 * Uses `capabilities.fs` as told (params.op on params.path/params.to), and reports each outcome as
 * `ok: …` or `CODE: message`, so tests can aim any operation at links, special files and racing
 * folders in its granted folder. `repeat` runs the operation that many times and reports how many
 * succeeded and how each refusal read (the race tests).
 */
import { capabilities } from '@flowhost/sdk';
import { attackStore } from './kit.js';

async function once(op: string, path: string, to: string, data: string): Promise<string> {
  const fs = capabilities.fs;
  switch (op) {
    case 'read':
      return fs.readText(path);
    case 'write':
      await fs.writeFile(path, data);
      return 'written';
    case 'append':
      await fs.appendFile(path, data);
      return 'appended';
    case 'mkdir':
      await fs.mkdir(path);
      return 'made';
    case 'list':
      return JSON.stringify(await fs.readdir(path));
    case 'stat':
      return JSON.stringify(await fs.stat(path));
    case 'rm':
      await fs.rm(path);
      return 'removed';
    case 'rename':
      await fs.rename(path, to);
      return 'renamed';
    default:
      throw new Error(`unknown op ${op}`);
  }
}

export default attackStore(async (params) => {
  const op = String(params.op);
  const path = String(params.path);
  const to = String(params.to ?? '');
  const data = String(params.data ?? 'written by the plugin');
  const repeat = Number(params.repeat ?? 1);
  const outcomes: Record<string, number> = {};
  let last = '';
  for (let i = 0; i < repeat; i++) {
    try {
      last = `ok: ${await once(op, path, to, data)}`;
      outcomes.ok = (outcomes.ok ?? 0) + 1;
    } catch (error) {
      const code = (error as { errorCode?: string }).errorCode ?? 'THROWN';
      last = `${code}: ${(error as Error).message}`;
      const key = `${code}: ${(error as Error).message
        .replace(/^fs\.\w+: /, '')
        .replace(/\/[^ ]*/g, '<path>')
        .slice(0, 120)}`;
      outcomes[key] = (outcomes[key] ?? 0) + 1;
    }
  }
  return repeat === 1 ? last : JSON.stringify(outcomes);
});
