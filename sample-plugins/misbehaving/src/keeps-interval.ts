/** Keeps a setInterval running forever: close() must still leave no worker behind. */
import { defineTrackingStore } from '@flowhost/sdk';
import { memoryStore } from './lib/base.js';

export default defineTrackingStore(() => {
  setInterval(() => {}, 10);
  return memoryStore();
});
