/** Uses its granted file system to escape its folder: with `..`, through a link (params.link) to /etc, and directly. */
import { capabilities } from '@flowhost/sdk';
import { failed, hostile, succeeded } from './lib/base.js';

export default hostile(async (params, { storeUri }) => {
  const root = storeUri.slice(storeUri.indexOf(':') + 1);
  const escapes: string[] = [];
  for (const path of [`${root}/../../../../etc/passwd`, `${String(params.link)}/passwd`, '/etc/passwd']) {
    try {
      const text = await capabilities.fs.readText(path);
      escapes.push(`${path}: ${text.slice(0, 20)}`);
    } catch (error) {
      capabilities.log.info(`refused as it should be: ${(error as Error).message}`);
    }
  }
  // The granted folder itself works.
  await capabilities.fs.writeFile(`${root}/inside.txt`, 'allowed');
  const inside = await capabilities.fs.readText(`${root}/inside.txt`);
  return escapes.length ? succeeded(escapes.join('; ')) : failed(`every escape refused; inside the grant: ${inside}`);
});
