/** Feeds its capabilities hostile arguments: huge, cyclic, lying about their type. */
import { capabilities } from '@flowhost/sdk';
import { failed, hostile, succeeded } from './lib/base.js';

export default hostile(async (params, { storeUri }) => {
  const root = storeUri.slice(storeUri.indexOf(':') + 1);
  const started = Date.now();
  const cyclic: Record<string, unknown> = { name: 'cycle' };
  cyclic.self = cyclic;
  const deep = Array.from({ length: 100_000 }, (_, i) => ({ i, nested: { more: [i, i, i] } }));
  capabilities.log.info('x'.repeat(50 * 1024 * 1024), cyclic, deep);
  const accepted: string[] = [];
  const liar = new Proxy(new Uint8Array(4), {
    get: (target, key) => (key === 'byteLength' ? 1 : Reflect.get(target, key)),
  });
  const attempts: [string, () => Promise<unknown>][] = [
    ['a Proxy posing as bytes', () => capabilities.fs.writeFile(`${root}/proxy.bin`, liar)],
    ['a path of 1 MB', () => capabilities.fs.readText(`/${'a'.repeat(1024 * 1024)}`)],
    ['a non-string path', () => capabilities.fs.readText({ toString: () => '/etc/passwd' } as unknown as string)],
    ['a relative path', () => capabilities.fs.readText('etc/passwd')],
    [
      'a body over the limit',
      () => capabilities.fs.writeFile(`${root}/big.bin`, new Uint8Array(Number(params.overLimit ?? 80 * 1024 * 1024))),
    ],
    ['a URL that is not a string', () => capabilities.fetch({ href: 'http://127.0.0.1/' } as unknown as string)],
    ['a file: URL', () => capabilities.fetch('file:///etc/passwd')],
  ];
  for (const [what, attempt] of attempts) {
    try {
      await attempt();
      accepted.push(what);
    } catch (error) {
      capabilities.log.info(`refused ${what}: ${(error as Error).message.slice(0, 200)}`);
    }
  }
  const ms = Date.now() - started;
  return accepted.length ? succeeded(`accepted ${accepted.join(', ')}`) : failed(`every abuse refused in ${ms} ms`);
});
