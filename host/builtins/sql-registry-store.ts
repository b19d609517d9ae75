/**
 * The built-in model registry store for `sqlite:` and `postgresql:` URIs (and their `+driver`
 * spellings): MLflow's registry SqlAlchemyStore in MLflow's schema. A first-party plugin, run in a
 * worker like any other.
 */
import { defineModelRegistryStore } from '@flowhost/sdk';
import { createSqlRegistryStore } from '@flowhost/sdk/sql-store';

export default defineModelRegistryStore((context) => createSqlRegistryStore(context));
