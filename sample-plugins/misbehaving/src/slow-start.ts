/** Takes 1.5 s to start (a slow connection, say). */
import { defineTrackingStore } from '@flowhost/sdk';
import { memoryStore } from './lib/base.js';

export default defineTrackingStore(async () => {
  await new Promise((resolve) => setTimeout(resolve, 1500));
  return memoryStore();
});
