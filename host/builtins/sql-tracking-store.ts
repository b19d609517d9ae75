/**
 * The built-in tracking store for `sqlite:` and `postgresql:` URIs (and their `+driver` spellings):
 * MLflow's SqlAlchemyStore in MLflow's schema. A first-party plugin, run in a worker like any other.
 */
import { defineTrackingStore } from '@flowhost/sdk';
import { createSqlTrackingStore } from '@flowhost/sdk/sql-store';

export default defineTrackingStore((context) => createSqlTrackingStore(context));
