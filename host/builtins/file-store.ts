/**
 * The built-in tracking store for `file:` URIs and plain paths: MLflow's FileStore layout. A
 * first-party plugin, run in a worker like any other.
 */
import { defineTrackingStore } from '@flowhost/sdk';
import { createFileStore } from '@flowhost/sdk/file-store';

export default defineTrackingStore((context) => createFileStore(context));
