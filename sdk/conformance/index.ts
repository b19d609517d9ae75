/**
 * @flowhost/sdk/conformance: behaviour suites a plugin author runs against their own plugin, with
 * any test runner whose `test(title, fn)` hands `fn` an assertion object (ava's does).
 */
export {
  TRACKING_STORE_CONFORMANCE_CASES,
  expectMlflowError,
  isMlflowErrorLike,
  trackingStoreConformance,
  type ConformanceAssertions,
  type ConformanceTestFn,
  type MlflowErrorLike,
  type TrackingStoreConformanceOptions,
  type TrackingStoreFactory,
  type TrackingStoreFixture,
} from './tracking-store.js';
export {
  ARTIFACT_REPOSITORY_CONFORMANCE_CASES,
  artifactRepositoryConformance,
  patternBytes,
  type ArtifactRepositoryConformanceOptions,
  type ArtifactRepositoryFactory,
  type ArtifactRepositoryFixture,
} from './artifact-repository.js';
