/** Reads a secret from the environment of the host (params.name). */
import { failed, hostile, nodeProcess, succeeded } from './lib/base.js';

export default hostile((params) => {
  const value = nodeProcess().env[String(params.name)];
  return value === undefined
    ? failed('the variable is not visible')
    : succeeded(`read ${String(params.name)}=${value}`);
});
