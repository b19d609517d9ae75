/** `file-plugin:` tracking store: MLflow's FileStore layout at the URI's path. */
import { defineTrackingStore } from '@flowhost/sdk';
import { createFileStore } from '@flowhost/sdk/file-store';
import { pathOfPluginUri } from './lib/uri.js';

export default defineTrackingStore(({ storeUri, artifactUri }) =>
  createFileStore({ storeUri: pathOfPluginUri(storeUri), artifactUri }),
);
