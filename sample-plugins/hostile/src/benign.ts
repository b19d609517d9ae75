/** The co-tenant: a well-behaved store that also reports whether its realm was polluted. */
import { failed, hostile, succeeded } from './lib/base.js';

export default hostile(() => {
  const probe = {} as Record<string, unknown>;
  const polluted = ['pwned', 'isAdmin'].filter((key) => probe[key] !== undefined);
  return polluted.length
    ? succeeded(`this realm sees ${polluted.join(', ')} on every object`)
    : failed('this realm is clean');
});
