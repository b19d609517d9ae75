/**
 * `file-plugin:` model registry store: MLflow's registry FileStore layout (`models/` under the
 * URI's path), the same path mapping as this package's tracking store. MLflow's test plugin serves
 * its registry from a SQL store at that path; flowhost has no SQL store, so it uses the file one.
 */
import { defineModelRegistryStore } from '@flowhost/sdk';
import { createFileRegistryStore } from '@flowhost/sdk/registry-store';
import { pathOfPluginUri } from './lib/uri.js';

export default defineModelRegistryStore(({ storeUri, trackingUri }) =>
  createFileRegistryStore({ storeUri: pathOfPluginUri(storeUri), trackingUri }),
);
