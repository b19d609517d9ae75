/**
 * A model registry store that crashes in the middle of calls. It keeps its models in files (the
 * file registry store at the URI's path), so a test can tell what survived the crash:
 *  - `getRegisteredModel('boom')` exits the worker while the call is in flight;
 *  - `createModelVersion(name, 'crash-after-write', …)` writes the version, then exits before
 *    answering: the caller sees the crash although the version was stored.
 * Every other call is the file registry store's.
 */
import { defineModelRegistryStore, modelRegistryStore, type ModelRegistryStore } from '@flowhost/sdk';
import { uriPath } from '@flowhost/sdk/file-store';
import { createFileRegistryStore } from '@flowhost/sdk/registry-store';

export default defineModelRegistryStore(({ storeUri, trackingUri }) => {
  const store = createFileRegistryStore({ storeUri: uriPath(storeUri), trackingUri });
  // The store is a class instance: its methods are bound to it, then two are wrapped.
  const methods: Record<string, unknown> = {};
  for (const name of Object.keys(modelRegistryStore.methods)) {
    const own = (store as unknown as Record<string, unknown>)[name];
    if (typeof own === 'function') methods[name] = own.bind(store);
  }
  const implementation = methods as unknown as ModelRegistryStore;
  return {
    ...implementation,
    getRegisteredModel: (name: string) => (name === 'boom' ? process.exit(1) : store.getRegisteredModel(name)),
    createModelVersion: (...args: Parameters<ModelRegistryStore['createModelVersion']>) => {
      const version = store.createModelVersion(...args);
      if (args[1] === 'crash-after-write') process.exit(1);
      return version;
    },
  };
});
