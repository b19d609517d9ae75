/** Answers `boom` after 100 ms, without blocking its thread: calls pile up in flight (pool scaling). */
import { misbehaving } from './lib/base.js';

export default misbehaving(
  (store) => new Promise((resolve) => setTimeout(() => resolve(store.getExperiment('0')), 100)),
);
