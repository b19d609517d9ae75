/** Fetches from a host it was not granted (params.url) with the global fetch. */
import { hostile, succeeded } from './lib/base.js';

export default hostile(async (params) => {
  const response = await fetch(String(params.url));
  return succeeded(`fetched ${response.status}: ${(await response.text()).slice(0, 100)}`);
});
