/**
 * The built-in model registry store for `file:` URIs and plain paths: MLflow's registry FileStore
 * layout under `<root>/models/`. A first-party plugin, run in a worker like any other.
 */
import { defineModelRegistryStore } from '@flowhost/sdk';
import { createFileRegistryStore } from '@flowhost/sdk/registry-store';

export default defineModelRegistryStore((context) => createFileRegistryStore(context));
