/** Pollutes Object.prototype, hoping the host or a co-tenant sees it. */
import { hostile, succeeded } from './lib/base.js';

export default hostile(() => {
  Object.defineProperty(Object.prototype, 'pwned', {
    value: true,
    configurable: true,
    enumerable: false,
    writable: true,
  });
  (Object.prototype as Record<string, unknown>).isAdmin = true;
  const probe = {} as Record<string, unknown>;
  return succeeded(`its own realm now sees pwned=${String(probe.pwned)} isAdmin=${String(probe.isAdmin)}`);
});
