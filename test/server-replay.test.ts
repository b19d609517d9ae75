/**
 * Replays MLflow 3.11.2.dev0's recorded REST exchanges (`shared/fixtures/rest/`, recorded against
 * `mlflow server` with a SQLite backend) against `flowhost server`, once on the SQLite store (the
 * server's default backend, a fresh database per run) and once on the built-in file store, each
 * started on 127.0.0.1 with a free port, and compares every answer by the fixtures' rules.
 *
 * - MATCHING_SQLITE and MATCHING_FILE_STORE list the exchanges that match today on each backend;
 *   each must keep matching. The lists may only grow.
 * - EXPECTED_DEVIATIONS are MLflow's own defects (the fixtures README, "Other statuses"): where
 *   MLflow crashes with Flask's HTML 500 page, flowhost answers MLflow's JSON error envelope.
 * - The rest differ for reasons the test names in its log. On SQLite: int64 steps beyond 2^53 (a
 *   metric's step is a JavaScript number end to end), and a few of MLflow's SQL-driver errors. On
 *   the file store also the messages and orders in which MLflow's FileStore differs from its SQL
 *   store. They are reported, not hidden (FLOWHOST_REPLAY_REPORT=<prefix> writes every outcome).
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import test, { type ExecutionContext } from 'ava';
import { startServer } from '../host/server/server.js';
import { repoRoot } from './helpers/hosts.js';
import { readTranscript, replay, type Exchange } from './helpers/replay.js';
import { tempDir } from './helpers/temp-dir.js';

const TRANSCRIPT = join(repoRoot, '..', 'shared', 'fixtures', 'rest', 'mlflow-3.11.2.dev0.jsonl');

/** MLflow answers these with Flask's HTML 500 page; flowhost answers a JSON error (4xx) instead. */
const EXPECTED_DEVIATIONS: Readonly<Record<string, string>> = {
  'err-exp-create-json-array-body':
    'a JSON list as the request body crashes MLflow (HTML 500); flowhost answers 400 INVALID_PARAMETER_VALUE',
};

// prettier-ignore
const MATCHING_FILE_STORE: readonly string[] = [
  'health', 'version', 'unknown-route', 'wrong-method-runs-create-GET', 'wrong-method-runs-search-GET', 'exp-create-alpha', 'exp-create-beta',
  'exp-create-gamma', 'exp-create-charset-ctype', 'exp-create-double-encoded-body', 'exp-create-custom-artifact-location', 'exp-create-unicode-name',
  'err-exp-create-missing-name', 'err-exp-create-empty-name', 'err-exp-create-name-wrong-type', 'err-exp-create-tags-not-array',
  'exp-create-unknown-field', 'err-exp-create-malformed-json', 'err-exp-create-wrong-content-type', 'err-exp-create-no-content-type',
  'err-exp-create-form-content-type', 'err-exp-create-name-too-long', 'exp-get-default', 'exp-get-custom-location', 'err-exp-get-missing-id',
  'exp-get-by-name-unicode', 'err-exp-get-by-name-unknown', 'err-exp-get-by-name-missing', 'exp-set-tag', 'exp-set-tag-overwrite',
  'exp-set-tag-to-delete', 'err-exp-set-tag-missing-value', 'err-exp-set-tag-invalid-key', 'exp-set-tag-value-max-length', 'exp-delete-tag',
  'err-exp-delete-tag-missing-key', 'exp-update-rename', 'err-exp-update-missing-new-name', 'err-exp-update-missing-id', 'exp-search-get-page1',
  'exp-search-get-no-max-results', 'err-exp-search-get-max-results-not-int', 'err-exp-search-get-max-results-repeated',
  'exp-search-post-max-results-as-string', 'err-exp-search-post-invalid-filter', 'err-exp-search-post-invalid-filter-attr',
  'err-exp-search-post-invalid-order-by', 'err-exp-search-post-invalid-page-token', 'err-exp-search-post-max-results-zero',
  'err-exp-search-post-max-results-too-big', 'err-exp-search-post-order-by-not-array', 'exp-delete', 'exp-get-deleted', 'exp-get-by-name-deleted',
  'err-exp-delete-missing-id', 'exp-search-deleted-only', 'exp-restore', 'exp-get-restored', 'ajax-exp-create', 'run-create-nested-child',
  'run-create-no-name-no-start-time', 'run-create-to-delete', 'run-create-name-via-tag', 'run-create-start-time-as-string',
  'err-run-create-name-tag-mismatch', 'err-run-create-start-time-wrong-type', 'err-run-create-tags-not-array', 'err-run-get-missing', 'ajax-run-get',
  'metric-log', 'metric-log-step1', 'metric-log-step2', 'metric-log-step3-int-value', 'metric-log-step4-no-step', 'metric-log-run-uuid',
  'metric-log-out-of-order', 'metric-log-same-step-later', 'metric-log-nan-string', 'metric-log-infinity-string', 'metric-log-neg-infinity-string',
  'metric-log-nan-lowercase-string', 'metric-log-bare-NaN-token', 'metric-log-numeric-string', 'metric-log-negative', 'metric-log-negative-step',
  'metric-log-big-step', 'metric-log-huge-value', 'metric-log-timestamp-as-string', 'metric-log-key-with-space-dot-dash',
  'err-metric-log-missing-timestamp', 'err-metric-log-missing-value', 'err-metric-log-missing-key', 'err-metric-log-missing-run-id',
  'err-metric-log-value-not-number', 'err-metric-log-value-bool', 'err-metric-log-step-float', 'err-metric-log-timestamp-float',
  'err-metric-log-invalid-key', 'err-metric-log-key-traversal', 'err-metric-log-key-too-long', 'ajax-metric-log', 'param-log', 'param-log-slash-key',
  'param-log-space-key', 'param-log-unicode-value', 'param-log-empty-value', 'param-log-6000-chars', 'param-log-same-value-again',
  'param-log-run-uuid', 'err-param-log-overwrite-different-value', 'err-param-log-6001-chars', 'err-param-log-missing-value',
  'err-param-log-value-number', 'err-param-log-missing-key', 'err-param-log-invalid-key', 'err-param-log-key-too-long', 'tag-set', 'tag-set-note',
  'tag-set-overwrite', 'tag-set-max-length', 'tag-set-to-delete', 'tag-set-run-uuid', 'tag-set-rename-via-runName', 'err-tag-set-value-too-long',
  'err-tag-set-missing-value', 'err-tag-set-invalid-key', 'tag-delete', 'err-tag-delete-again', 'err-tag-delete-missing-key',
  'err-tag-delete-missing-run-id', 'batch-log', 'batch-log-empty', 'batch-log-duplicate-param-same-value', 'batch-log-metrics-1000',
  'batch-log-params-100', 'err-batch-log-metrics-1001', 'err-batch-log-params-101', 'err-batch-log-tags-101', 'err-batch-log-total-over-1000',
  'err-batch-log-metric-missing-timestamp', 'err-batch-log-metric-missing-value', 'err-batch-log-param-missing-key',
  'err-batch-log-duplicate-param-different-values', 'err-batch-log-invalid-metric-key', 'err-batch-log-metrics-not-array',
  'err-batch-log-missing-run-id', 'batch-log-body-over-1MB-object', 'err-batch-log-body-over-1MB-double-encoded', 'inputs-log',
  'inputs-log-same-dataset-again', 'inputs-log-same-dataset-other-run', 'err-inputs-log-missing-datasets', 'err-inputs-log-missing-run-id',
  'err-inputs-log-dataset-missing-digest', 'err-inputs-log-datasets-not-array', 'model-log', 'err-model-log-missing-fields',
  'err-model-log-missing-model-json', 'run-update-finished', 'run-update-name', 'run-update-failed-run-uuid', 'run-update-killed-no-end-time',
  'run-update-scheduled', 'err-run-update-invalid-status', 'err-run-update-status-number', 'err-run-update-missing-run-id',
  'err-run-update-end-time-string', 'run-get-child', 'run-get-auto-named', 'run-delete', 'run-get-deleted', 'err-run-delete-again',
  'err-run-delete-missing-id', 'run-restore', 'err-run-restore-active', 'run-delete-again-for-search', 'runs-search-tag-backticks',
  'runs-search-deleted-only', 'runs-search-unknown-exp', 'runs-search-no-experiment-ids', 'err-runs-search-invalid-filter',
  'err-runs-search-invalid-entity', 'err-runs-search-invalid-order-by', 'err-runs-search-max-results-too-big', 'err-runs-search-invalid-page-token',
  'ajax-runs-search', 'history-get', 'history-get-no-max-results-acc', 'history-get-page1', 'history-get-page2', 'history-get-nan-inf',
  'history-get-nan-lowercase', 'history-get-unknown-metric', 'history-get-1000-points', 'err-history-get-missing-metric-key',
  'err-history-get-missing-run-id', 'err-history-get-invalid-page-token', 'err-history-get-max-results-not-int', 'bulk-interval-ajax',
  'bulk-interval-api', 'bulk-interval-steps', 'bulk-interval-sampled', 'err-bulk-interval-missing-metric-key', 'err-bulk-interval-missing-run-ids',
  'err-bulk-interval-start-only', 'err-bulk-interval-start-after-end', 'err-bulk-interval-max-results-too-big', 'bulk-legacy-ajax',
  'err-bulk-legacy-missing-run-id', 'art-upload-text', 'art-upload-nested-binary', 'art-upload-empty-file', 'art-upload-no-content-type',
  'art-upload-model-file', 'art-upload-to-delete', 'art-download-text', 'art-download-binary', 'art-download-json', 'art-download-empty',
  'err-art-download-missing', 'err-art-download-traversal', 'err-art-upload-traversal', 'art-list-root', 'art-list-run-dir', 'art-list-nested',
  'art-list-missing-dir', 'err-art-list-traversal', 'art-delete', 'art-list-after-delete', 'art-delete-dir', 'art-list-after-delete-dir',
  'art-delete-missing', 'art-mpu-create', 'runs-artifacts-list-root', 'runs-artifacts-list-path', 'runs-artifacts-list-nested-path',
  'runs-artifacts-list-file-path', 'runs-artifacts-list-missing-path', 'runs-artifacts-list-empty-run', 'runs-artifacts-list-run-uuid',
  'err-runs-artifacts-list-traversal', 'err-runs-artifacts-list-missing-run-id', 'ajax-runs-artifacts-list', 'get-artifact-run-file',
  'err-get-artifact-missing', 'rm-create', 'rm-create-second', 'rm-create-to-rename', 'rm-create-to-delete', 'err-rm-create-duplicate',
  'err-rm-create-missing-name', 'err-rm-create-empty-name', 'err-rm-create-name-wrong-type', 'err-rm-create-tag-value-too-long', 'rm-get',
  'err-rm-get-unknown', 'err-rm-get-missing-name', 'rm-rename', 'err-rm-rename-unknown', 'err-rm-rename-missing-new-name', 'rm-update-description',
  'err-rm-update-unknown', 'err-rm-update-wrong-method-POST', 'rm-update-no-content-type', 'rm-set-tag', 'rm-set-tag-overwrite',
  'err-rm-set-tag-missing-value', 'err-rm-set-tag-invalid-key', 'err-rm-set-tag-unknown-model', 'rm-delete-tag', 'err-rm-delete-tag-unknown-key',
  'rm-delete-tag-query-string', 'mv-create', 'mv-create-2', 'mv-create-3', 'mv-create-4-to-delete', 'mv-create-other-model',
  'err-mv-create-missing-source', 'err-mv-create-local-source-no-run', 'err-mv-create-relative-path-source', 'err-mv-create-tags-not-array',
  'mv-get', 'err-mv-get-unknown-version', 'err-mv-get-non-numeric-version', 'err-mv-get-missing-version', 'mv-update-description',
  'err-mv-update-unknown', 'mv-transition-staging', 'mv-transition-production', 'mv-transition-staging-2',
  'mv-transition-production-archive-existing', 'err-mv-transition-invalid-stage', 'err-mv-transition-missing-archive-flag',
  'err-mv-transition-archive-flag-string', 'mv-set-tag', 'mv-set-tag-to-delete', 'err-mv-set-tag-unknown-version', 'err-mv-set-tag-value-too-long',
  'mv-delete-tag', 'err-mv-delete-tag-unknown-key', 'mv-get-download-uri', 'mv-get-download-uri-s3', 'err-mv-get-download-uri-unknown',
  'rm-alias-set', 'rm-alias-set-second', 'rm-alias-set-to-delete', 'rm-alias-move', 'err-rm-alias-set-reserved-latest',
  'err-rm-alias-set-version-like', 'err-rm-alias-set-unknown-version', 'err-rm-alias-set-invalid-chars', 'rm-alias-get', 'err-rm-alias-get-unknown',
  'rm-alias-delete', 'rm-alias-delete-again', 'err-rm-get-latest-versions-invalid-stage', 'err-rm-get-latest-versions-unknown', 'mv-delete',
  'err-mv-get-deleted', 'err-mv-delete-again', 'mv-create-after-delete', 'rm-search-page1', 'rm-search-page2', 'err-rm-search-invalid-filter',
  'err-rm-search-max-results-too-big', 'err-mv-search-invalid-filter', 'ajax-rm-get', 'ajax-mv-search', 'model-versions-get-artifact', 'rm-delete',
  'err-rm-get-deleted', 'err-rm-delete-again', 'err-rm-delete-wrong-method-POST',
];

// prettier-ignore
const MATCHING_SQLITE: readonly string[] = [
  'health', 'version', 'unknown-route', 'wrong-method-runs-create-GET', 'wrong-method-runs-search-GET', 'exp-create-alpha', 'exp-create-beta',
  'exp-create-gamma', 'exp-create-charset-ctype', 'exp-create-double-encoded-body', 'exp-create-custom-artifact-location', 'exp-create-unicode-name',
  'err-exp-create-duplicate', 'err-exp-create-missing-name', 'err-exp-create-empty-name', 'err-exp-create-name-wrong-type',
  'err-exp-create-tags-not-array', 'err-exp-create-tag-invalid-key', 'exp-create-unknown-field', 'err-exp-create-malformed-json',
  'err-exp-create-wrong-content-type', 'err-exp-create-no-content-type', 'err-exp-create-form-content-type', 'err-exp-create-name-too-long',
  'exp-get', 'exp-get-default', 'exp-get-custom-location', 'err-exp-get-unknown', 'err-exp-get-missing-id', 'err-exp-get-non-numeric-id',
  'err-exp-get-repeated-id', 'exp-get-by-name', 'exp-get-by-name-unicode', 'err-exp-get-by-name-unknown', 'err-exp-get-by-name-missing',
  'exp-set-tag', 'exp-set-tag-overwrite', 'exp-set-tag-to-delete', 'err-exp-set-tag-missing-value', 'err-exp-set-tag-invalid-key',
  'err-exp-set-tag-value-too-long', 'exp-set-tag-value-max-length', 'err-exp-set-tag-unknown-exp', 'exp-delete-tag',
  'err-exp-delete-tag-unknown-key', 'err-exp-delete-tag-missing-key', 'exp-get-after-tags', 'exp-update-rename', 'err-exp-update-to-existing-name',
  'err-exp-update-missing-new-name', 'err-exp-update-unknown', 'err-exp-update-missing-id', 'exp-search-get-page1', 'exp-search-get-page2',
  'exp-search-get-no-max-results', 'exp-search-get-filter', 'exp-search-get-order-by-repeated', 'exp-search-get-order-by-brackets',
  'exp-search-get-view-type', 'err-exp-search-get-max-results-not-int', 'err-exp-search-get-max-results-repeated', 'exp-search-post-filter-order',
  'exp-search-post-tag-filter', 'exp-search-post-ilike', 'exp-search-post-page1', 'exp-search-post-page2', 'exp-search-post-max-results-as-string',
  'err-exp-search-post-invalid-filter', 'err-exp-search-post-invalid-filter-attr', 'err-exp-search-post-invalid-order-by',
  'err-exp-search-post-invalid-page-token', 'err-exp-search-post-max-results-zero', 'err-exp-search-post-max-results-too-big',
  'err-exp-search-post-view-type-invalid', 'err-exp-search-post-order-by-not-array', 'exp-delete', 'exp-get-deleted', 'exp-get-by-name-deleted',
  'err-exp-delete-again', 'err-exp-delete-unknown', 'err-exp-delete-missing-id', 'err-exp-create-name-of-deleted', 'err-run-create-in-deleted-exp',
  'err-exp-set-tag-deleted-exp', 'err-exp-update-deleted-exp', 'exp-search-deleted-only', 'exp-search-all', 'exp-restore', 'err-exp-restore-active',
  'err-exp-restore-unknown', 'exp-get-restored', 'ajax-exp-get', 'ajax-exp-search', 'ajax-exp-create', 'run-create', 'run-create-nested-child',
  'run-create-no-name-no-start-time', 'run-create-to-delete', 'run-create-name-via-tag', 'run-create-start-time-as-string',
  'err-run-create-name-tag-mismatch', 'err-run-create-unknown-exp', 'err-run-create-start-time-wrong-type', 'err-run-create-tags-not-array',
  'err-run-create-experiment-id-int', 'err-run-create-tag-invalid-key', 'run-get', 'run-get-by-run-uuid', 'err-run-get-unknown',
  'err-run-get-missing', 'ajax-run-get', 'metric-log', 'metric-log-step1', 'metric-log-step2', 'metric-log-step3-int-value',
  'metric-log-step4-no-step', 'metric-log-run-uuid', 'metric-log-out-of-order', 'metric-log-same-step-later', 'metric-log-nan-string',
  'metric-log-infinity-string', 'metric-log-neg-infinity-string', 'metric-log-nan-lowercase-string', 'metric-log-bare-NaN-token',
  'metric-log-numeric-string', 'metric-log-negative', 'metric-log-negative-step', 'metric-log-big-step', 'metric-log-huge-value',
  'metric-log-timestamp-as-string', 'metric-log-key-with-space-dot-dash', 'err-metric-log-missing-timestamp', 'err-metric-log-missing-value',
  'err-metric-log-missing-key', 'err-metric-log-missing-run-id', 'err-metric-log-value-not-number', 'err-metric-log-value-bool',
  'err-metric-log-step-float', 'err-metric-log-timestamp-float', 'err-metric-log-invalid-key', 'err-metric-log-key-traversal',
  'err-metric-log-key-too-long', 'err-metric-log-unknown-run', 'ajax-metric-log', 'param-log', 'param-log-slash-key', 'param-log-space-key',
  'param-log-unicode-value', 'param-log-empty-value', 'param-log-6000-chars', 'param-log-same-value-again', 'param-log-run-uuid',
  'err-param-log-overwrite-different-value', 'err-param-log-6001-chars', 'err-param-log-missing-value', 'err-param-log-value-number',
  'err-param-log-missing-key', 'err-param-log-invalid-key', 'err-param-log-key-too-long', 'err-param-log-unknown-run', 'tag-set', 'tag-set-note',
  'tag-set-overwrite', 'tag-set-max-length', 'tag-set-to-delete', 'tag-set-run-uuid', 'tag-set-rename-via-runName', 'err-tag-set-value-too-long',
  'err-tag-set-missing-value', 'err-tag-set-invalid-key', 'err-tag-set-unknown-run', 'tag-delete', 'err-tag-delete-again',
  'err-tag-delete-missing-key', 'err-tag-delete-missing-run-id', 'err-tag-delete-unknown-run', 'batch-log', 'batch-log-empty',
  'batch-log-duplicate-param-same-value', 'batch-log-metrics-1000', 'batch-log-params-100', 'err-batch-log-metrics-1001', 'err-batch-log-params-101',
  'err-batch-log-tags-101', 'err-batch-log-total-over-1000', 'err-batch-log-metric-missing-timestamp', 'err-batch-log-metric-missing-value',
  'err-batch-log-param-missing-key', 'err-batch-log-param-overwrite', 'err-batch-log-duplicate-param-different-values',
  'err-batch-log-invalid-metric-key', 'err-batch-log-metrics-not-array', 'err-batch-log-missing-run-id', 'err-batch-log-unknown-run',
  'batch-log-body-over-1MB-object', 'err-batch-log-body-over-1MB-double-encoded', 'inputs-log', 'inputs-log-same-dataset-again',
  'inputs-log-same-dataset-other-run', 'err-inputs-log-missing-datasets', 'err-inputs-log-missing-run-id', 'err-inputs-log-dataset-missing-digest',
  'err-inputs-log-dataset-digest-too-long', 'err-inputs-log-datasets-not-array', 'err-inputs-log-unknown-run', 'model-log',
  'err-model-log-missing-fields', 'err-model-log-missing-model-json', 'run-update-finished', 'run-update-name', 'run-update-failed-run-uuid',
  'run-update-killed-no-end-time', 'run-update-scheduled', 'err-run-update-invalid-status', 'err-run-update-status-number',
  'err-run-update-missing-run-id', 'err-run-update-unknown-run', 'err-run-update-end-time-string', 'run-get-child', 'run-get-auto-named',
  'run-delete', 'run-get-deleted', 'err-run-delete-again', 'err-metric-log-deleted-run', 'err-param-log-deleted-run', 'err-tag-set-deleted-run',
  'err-batch-log-deleted-run', 'err-inputs-log-deleted-run', 'err-run-update-deleted-run', 'err-run-delete-unknown', 'err-run-delete-missing-id',
  'run-restore', 'err-run-restore-active', 'err-run-restore-unknown', 'run-delete-again-for-search', 'runs-search-tag-backticks',
  'runs-search-deleted-only', 'runs-search-unknown-exp', 'runs-search-no-experiment-ids', 'runs-search-experiment-ids-not-array',
  'err-runs-search-invalid-filter', 'err-runs-search-invalid-entity', 'err-runs-search-invalid-order-by', 'err-runs-search-max-results-too-big',
  'err-runs-search-max-results-negative', 'err-runs-search-invalid-page-token', 'ajax-runs-search', 'history-get', 'history-get-no-max-results-acc',
  'history-get-page1', 'history-get-page2', 'history-get-nan-inf', 'history-get-pos-inf', 'history-get-neg-inf', 'history-get-run-uuid',
  'history-get-probe-values', 'history-get-nan-lowercase', 'history-get-unknown-metric', 'history-get-1000-points',
  'err-history-get-missing-metric-key', 'err-history-get-missing-run-id', 'err-history-get-unknown-run', 'err-history-get-invalid-page-token',
  'err-history-get-max-results-not-int', 'ajax-history-get', 'bulk-interval-ajax', 'bulk-interval-api', 'bulk-interval-steps',
  'bulk-interval-sampled', 'err-bulk-interval-missing-metric-key', 'err-bulk-interval-missing-run-ids', 'err-bulk-interval-start-only',
  'err-bulk-interval-start-after-end', 'err-bulk-interval-max-results-too-big', 'bulk-legacy-ajax', 'err-bulk-legacy-missing-run-id',
  'art-upload-text', 'art-upload-nested-binary', 'art-upload-empty-file', 'art-upload-no-content-type', 'art-upload-model-file',
  'art-upload-to-delete', 'art-download-text', 'art-download-binary', 'art-download-json', 'art-download-empty', 'err-art-download-missing',
  'err-art-download-traversal', 'err-art-upload-traversal', 'art-list-root', 'art-list-run-dir', 'art-list-nested', 'art-list-missing-dir',
  'err-art-list-traversal', 'art-delete', 'art-list-after-delete', 'art-delete-dir', 'art-list-after-delete-dir', 'art-delete-missing',
  'art-mpu-create', 'runs-artifacts-list-root', 'runs-artifacts-list-path', 'runs-artifacts-list-nested-path', 'runs-artifacts-list-file-path',
  'runs-artifacts-list-missing-path', 'runs-artifacts-list-empty-run', 'runs-artifacts-list-run-uuid', 'err-runs-artifacts-list-traversal',
  'err-runs-artifacts-list-unknown-run', 'err-runs-artifacts-list-missing-run-id', 'ajax-runs-artifacts-list', 'get-artifact-run-file',
  'err-get-artifact-missing', 'rm-create', 'rm-create-second', 'rm-create-to-rename', 'rm-create-to-delete', 'err-rm-create-duplicate',
  'err-rm-create-missing-name', 'err-rm-create-empty-name', 'err-rm-create-name-wrong-type', 'err-rm-create-tag-value-too-long', 'rm-get',
  'err-rm-get-unknown', 'err-rm-get-missing-name', 'rm-rename', 'err-rm-rename-to-existing', 'err-rm-rename-unknown',
  'err-rm-rename-missing-new-name', 'rm-update-description', 'err-rm-update-unknown', 'err-rm-update-wrong-method-POST', 'rm-update-no-content-type',
  'rm-set-tag', 'rm-set-tag-overwrite', 'err-rm-set-tag-missing-value', 'err-rm-set-tag-invalid-key', 'err-rm-set-tag-unknown-model',
  'rm-delete-tag', 'err-rm-delete-tag-unknown-key', 'rm-delete-tag-query-string', 'mv-create', 'mv-create-2', 'mv-create-3', 'mv-create-4-to-delete',
  'mv-create-other-model', 'err-mv-create-unknown-model', 'err-mv-create-missing-source', 'err-mv-create-local-source-no-run',
  'err-mv-create-relative-path-source', 'err-mv-create-tags-not-array', 'mv-get', 'err-mv-get-unknown-version', 'err-mv-get-non-numeric-version',
  'err-mv-get-missing-version', 'mv-update-description', 'err-mv-update-unknown', 'mv-transition-staging', 'mv-transition-production',
  'mv-transition-staging-2', 'mv-transition-production-archive-existing', 'err-mv-transition-invalid-stage',
  'err-mv-transition-missing-archive-flag', 'err-mv-transition-archive-flag-string', 'mv-set-tag', 'mv-set-tag-to-delete',
  'err-mv-set-tag-unknown-version', 'err-mv-set-tag-value-too-long', 'mv-delete-tag', 'err-mv-delete-tag-unknown-key', 'mv-get-download-uri',
  'mv-get-download-uri-s3', 'err-mv-get-download-uri-unknown', 'rm-alias-set', 'rm-alias-set-second', 'rm-alias-set-to-delete', 'rm-alias-move',
  'err-rm-alias-set-reserved-latest', 'err-rm-alias-set-version-like', 'err-rm-alias-set-unknown-version', 'err-rm-alias-set-invalid-chars',
  'rm-alias-get', 'err-rm-alias-get-unknown', 'rm-alias-delete', 'rm-alias-delete-again', 'rm-get-latest-versions-post',
  'rm-get-latest-versions-post-stages', 'rm-get-latest-versions-get-repeated', 'err-rm-get-latest-versions-invalid-stage',
  'err-rm-get-latest-versions-unknown', 'mv-delete', 'err-mv-get-deleted', 'err-mv-delete-again', 'mv-create-after-delete', 'rm-get-full',
  'rm-search', 'rm-search-filter-like', 'rm-search-filter-tag', 'rm-search-page1', 'rm-search-page2', 'err-rm-search-invalid-filter',
  'err-rm-search-max-results-too-big', 'err-rm-search-invalid-order-by', 'mv-search-by-name', 'mv-search-by-run-id', 'mv-search-order-paged',
  'mv-search-tag-filter', 'mv-search-all', 'err-mv-search-invalid-filter', 'ajax-rm-get', 'ajax-mv-search', 'model-versions-get-artifact',
  'rm-delete', 'err-rm-get-deleted', 'err-rm-delete-again', 'err-rm-delete-wrong-method-POST', 'final-exp-search', 'final-rm-search',
];

test.serial(
  'file store: every recorded MLflow 3.11.2.dev0 exchange that matched still matches; MLflow defects get a JSON error',
  async (t) => {
    await replayAgainst(t, (dir) => `file:${dir}/mlruns`, MATCHING_FILE_STORE);
  },
);

test.serial(
  'SQLite store (the default backend): every exchange that matched still matches; MLflow defects get a JSON error',
  async (t) => {
    await replayAgainst(t, (dir) => `sqlite:///${dir}/mlflow.db`, MATCHING_SQLITE);
  },
);

async function replayAgainst(
  t: ExecutionContext,
  backendStoreUri: (dir: string) => string,
  matching: readonly string[],
): Promise<void> {
  t.true(existsSync(TRANSCRIPT), `the recorded exchanges must be at ${TRANSCRIPT}`);
  const exchanges: Exchange[] = readTranscript(TRANSCRIPT);
  t.is(exchanges.length, 440);
  const dir = tempDir(t, 'flowhost-replay-');
  const server = await startServer({
    backendStoreUri: backendStoreUri(dir),
    defaultArtifactRoot: 'mlflow-artifacts:/',
    serveArtifacts: true,
    artifactsDestination: `${dir}/mlartifacts`,
    host: '127.0.0.1',
    port: 0,
  });
  t.teardown(() => server.close(1000));
  // MLflow creates its database, and the default experiment in it, when the server starts; the SQL
  // store opens on its first call (sdk/sql-store/lazy.ts). One call before the replay, and a clock
  // that has moved on, keep the default experiment strictly older than the first one created, as
  // in the recording (experiment searches order by creation time).
  const opened = await fetch(`${server.url}/api/2.0/mlflow/experiments/get?experiment_id=0`);
  t.is(opened.status, 200);
  const openedAt = Date.now();
  while (Date.now() <= openedAt) await sleep(1);

  const outcomes = await replay(server.url, exchanges);
  const matched = new Set(outcomes.filter((o) => o.ok).map((o) => o.name));
  t.log(`matched ${matched.size} of ${outcomes.length} exchanges`);
  const report = process.env.FLOWHOST_REPLAY_REPORT;
  if (report) writeFileSync(`${report}.${backendStoreUri('').split(':')[0]}.json`, JSON.stringify(outcomes, null, 1));

  for (const name of matching)
    t.true(matched.has(name), `${name} no longer matches: ${outcomes.find((o) => o.name === name)?.why}`);
  const newlyMatching = [...matched].filter((name) => !matching.includes(name));
  if (newlyMatching.length) t.log(`now matching too (add them to the list): ${newlyMatching.join(', ')}`);

  for (const [name, why] of Object.entries(EXPECTED_DEVIATIONS)) {
    const outcome = outcomes.find((o) => o.name === name)!;
    t.false(outcome.ok, `${name} was expected to differ (${why})`);
    t.regex(outcome.why, /status 4\d\d, expected 500 \(\{"error_code":"[A-Z_]+","message":/, `${name}: ${why}`);
  }
}
