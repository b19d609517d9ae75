/** Throws while being built: must be reported, not restarted in a loop. */
import { defineTrackingStore } from '@flowhost/sdk';

export default defineTrackingStore(() => {
  throw new Error('cannot connect to the backing database');
});
