/**
 * The built-in model registry store for `sqlite:` and `postgresql:` URIs (and their `+driver`
 * spellings): MLflow's registry SqlAlchemyStore in MLflow's schema. A first-party plugin, run in a
 * worker like any other; the database is opened on the first call.
 */
import { defineModelRegistryStore, modelRegistryStore, type ModelRegistryStore } from '@flowhost/sdk';
import { createSqlRegistryStore, openOnFirstCall } from '@flowhost/sdk/sql-store';

export default defineModelRegistryStore((context) =>
  openOnFirstCall<ModelRegistryStore>(() => createSqlRegistryStore(context), Object.keys(modelRegistryStore.methods)),
);
