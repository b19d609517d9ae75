/** Reports what it can see of the host: its environment, as the tags of experiment `boom`. */
import { misbehaving } from './lib/base.js';

export default misbehaving((store) => {
  const experiment = store.getExperiment('0') as object;
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined) env[key] = value;
  return { ...experiment, tags: env };
});
