/**
 * Spins forever **outside any call**: `getExperiment('spin')` answers, then a timer starts a loop
 * that never ends. No call deadline can reach it; only the host's deadline on its own requests
 * (statistics) can. No Node imports: it runs at every level.
 */
import { DEFAULT, store } from './lib.js';

export default store(
  () => ({ items: [], nextPageToken: null }),
  (id) => {
    if (id !== 'spin') return undefined;
    setTimeout(() => {
      for (;;);
    }, 20);
    return DEFAULT;
  },
);
