/** Works: the control case, and the in-memory plugin the kernel benchmark calls. */
import { defineTrackingStore } from '@flowhost/sdk';
import { memoryStore } from './lib/base.js';

export default defineTrackingStore(() => memoryStore());
