/**
 * Not an attack: an honest plugin that reaches the world only through `capabilities`, one operation
 * per call (params.op), so tests can show the same plugin working at every level within its grants,
 * and the error it gets, naming the capability, outside them.
 */
import { capabilities } from '@flowhost/sdk';
import { hostile, succeeded } from './lib/base.js';

export default hostile(async (params) => {
  const { op, path, data, url, name } = params as {
    op: string;
    path?: string;
    data?: string;
    url?: string;
    name?: string;
  };
  switch (op) {
    case 'write':
      await capabilities.fs.mkdir(String(path).replace(/\/[^/]+$/, ''));
      await capabilities.fs.writeFile(String(path), String(data));
      return succeeded('written');
    case 'read':
      return succeeded(await capabilities.fs.readText(String(path)));
    case 'list':
      return succeeded(JSON.stringify(await capabilities.fs.readdir(String(path))));
    case 'fetch': {
      const response = await capabilities.fetch(String(url));
      return succeeded(`${response.status} ${await response.text()}`);
    }
    case 'global-fetch': {
      // A plugin written against the web's fetch: at the sandbox level it is the granted one.
      const response = await fetch(String(url));
      return succeeded(`${response.status} ${await response.text()}`);
    }
    case 'env':
      return succeeded(String(capabilities.env.get(String(name))));
    case 'log':
      capabilities.log.info('a line from', { plugin: 'capabilities-probe' }, 42);
      console.log('console.log works too');
      return succeeded('logged');
    case 'time':
      return succeeded(
        `${typeof Date.now()} ${new Date().getFullYear() > 2000} ${Math.random() < 1} ${crypto.randomUUID().length}`,
      );
    default:
      throw new Error(`unknown op ${op}`);
  }
});
