/**
 * The built-in tracking store for `sqlite:` and `postgresql:` URIs (and their `+driver` spellings):
 * MLflow's SqlAlchemyStore in MLflow's schema. A first-party plugin, run in a worker like any other;
 * the database is opened on the first call.
 */
import { defineTrackingStore, trackingStore, type TrackingStore } from '@flowhost/sdk';
import { createSqlTrackingStore, openOnFirstCall } from '@flowhost/sdk/sql-store';

export default defineTrackingStore((context) =>
  openOnFirstCall<TrackingStore>(() => createSqlTrackingStore(context), Object.keys(trackingStore.methods)),
);
