/** Claims to be built for a protocol version this host does not speak. */
import { defineTrackingStore, PLUGIN_BRAND } from '@flowhost/sdk';
import { memoryStore } from './lib/base.js';

const real = defineTrackingStore(() => memoryStore());
export default { [PLUGIN_BRAND]: { group: 'tracking_store', protocolVersion: 99 }, create: real.create };
