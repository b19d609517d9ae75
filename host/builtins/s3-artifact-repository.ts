/**
 * The built-in artifact repository for `s3://bucket/prefix` URIs: MLflow's `S3ArtifactRepository`
 * (mlflow/store/artifact/s3_artifact_repo.py) on the AWS SDK for JavaScript, run in a worker like
 * every other plugin. Objects are laid out as MLflow lays them out (`<prefix>/<artifact path>`), so
 * MLflow reads what flowhost writes and the other way round.
 *
 * Configuration, as MLflow reads it, from the variables the host grants this plugin:
 *  - `MLFLOW_S3_ENDPOINT_URL`: an S3-compatible server (path-style addressing, as MLflow asks boto3);
 *  - `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`: the credentials;
 *  - `AWS_DEFAULT_REGION` (or `AWS_REGION`): the region, `us-east-1` when unset;
 *  - `MLFLOW_S3_IGNORE_TLS=true`: do not verify the endpoint's certificate;
 *  - `MLFLOW_S3_UPLOAD_EXTRA_ARGS`: a JSON object of upload arguments (boto3's `ExtraArgs` names,
 *    which are S3's own: `ServerSideEncryption`, `SSEKMSKeyId`, `ACL`, `Metadata`, …).
 * Credentials come from those variables only: the SDK's default chain would read `~/.aws` and probe
 * the instance-metadata address, neither of which a plugin worker should reach.
 *
 * Bytes stream both ways in bounded memory: uploads are multipart (8 MiB parts, 4 in flight) once
 * they outgrow one part, and a failed upload is aborted so no complete-looking object appears;
 * downloads are a sequence of ranged GETs pinned to the object's ETag, so an object replaced while
 * it is read fails the read instead of mixing two versions.
 *
 * Differences from MLflow, each on purpose:
 *  - deleting `a` removes `a` and the objects below `a/`, not every key that merely starts with
 *    `a` (MLflow's prefix match also deletes `ab/…`), and it pages past 1,000 objects;
 *  - a folder marker object (`a/`, which MLflow writes for empty folders) is not listed as a file
 *    of its own folder.
 */
import { Agent } from 'node:https';
import { Readable } from 'node:stream';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  S3ServiceException,
  type PutObjectCommandInput,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { MlflowError, defineArtifactRepository, type ByteStream, type FileInfo } from '@flowhost/sdk';
import { checkArtifactFilePath, checkArtifactPath, joinArtifactPath } from '@flowhost/sdk/artifact-store';
import { compareCodePoints } from '@flowhost/sdk/mlflow';

/** Multipart part size and parts in flight: 32 MiB of upload buffers at most per stream. */
const PART_BYTES = 8 * 1024 * 1024;
const PARTS_IN_FLIGHT = 4;
/** One ranged GET's length: a failed range is all a retry repeats. */
const RANGE_BYTES = 8 * 1024 * 1024;
/** S3 deletes at most 1,000 keys per request. */
const DELETE_BATCH = 1000;

/** boto3's `S3Transfer.ALLOWED_UPLOAD_ARGS` that map onto PutObject / CreateMultipartUpload. */
const ALLOWED_UPLOAD_ARGS = new Set([
  'ACL',
  'CacheControl',
  'ChecksumAlgorithm',
  'ContentDisposition',
  'ContentEncoding',
  'ContentLanguage',
  'ContentType',
  'ExpectedBucketOwner',
  'Expires',
  'GrantFullControl',
  'GrantRead',
  'GrantReadACP',
  'GrantWriteACP',
  'Metadata',
  'ObjectLockLegalHoldStatus',
  'ObjectLockMode',
  'ObjectLockRetainUntilDate',
  'RequestPayer',
  'ServerSideEncryption',
  'StorageClass',
  'SSECustomerAlgorithm',
  'SSECustomerKey',
  'SSECustomerKeyMD5',
  'SSEKMSKeyId',
  'SSEKMSEncryptionContext',
  'Tagging',
  'WebsiteRedirectLocation',
]);

/**
 * Content types by extension, for the types MLflow's artifacts usually have (MLflow sets
 * `ContentType` from Python's `mimetypes.guess_type`, so a browser shows them inline).
 */
const CONTENT_TYPES: Record<string, string> = {
  txt: 'text/plain',
  log: 'text/plain',
  md: 'text/markdown',
  csv: 'text/csv',
  html: 'text/html',
  htm: 'text/html',
  json: 'application/json',
  yaml: 'application/yaml',
  yml: 'application/yaml',
  xml: 'application/xml',
  pdf: 'application/pdf',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  svg: 'image/svg+xml',
  tar: 'application/x-tar',
  zip: 'application/zip',
  pkl: 'application/octet-stream',
  py: 'text/x-python',
};
/** Python's `guess_type` reports these as encodings of the type underneath (`a.csv.gz`). */
const CONTENT_ENCODINGS: Record<string, string> = { gz: 'gzip', bz2: 'bzip2', xz: 'xz' };

export interface S3Location {
  readonly bucket: string;
  /** The key prefix, without leading or trailing slash ('' for the bucket's root). */
  readonly prefix: string;
}

/** MLflow's `parse_s3_compliant_uri`: `s3://bucket/a/b` → bucket `bucket`, prefix `a/b`. */
export function parseS3Uri(uri: string): S3Location {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw MlflowError.invalidParameterValue(`Not an S3 URI: '${uri}'. Expected s3://<bucket>/<path>.`);
  }
  if (url.protocol !== 's3:' || url.hostname === '') {
    throw MlflowError.invalidParameterValue(`Not an S3 URI: '${uri}'. Expected s3://<bucket>/<path>.`);
  }
  const prefix = decodeURIComponent(url.pathname).replace(/^\/+/, '').replace(/\/+$/, '');
  return { bucket: url.hostname, prefix };
}

function uploadExtraArgs(env: NodeJS.ProcessEnv): Partial<PutObjectCommandInput> {
  const raw = env.MLFLOW_S3_UPLOAD_EXTRA_ARGS;
  if (!raw) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw MlflowError.invalidParameterValue(`MLFLOW_S3_UPLOAD_EXTRA_ARGS is not valid JSON: ${raw}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw MlflowError.invalidParameterValue('MLFLOW_S3_UPLOAD_EXTRA_ARGS must be a JSON object of upload arguments');
  }
  for (const name of Object.keys(parsed)) {
    if (!ALLOWED_UPLOAD_ARGS.has(name)) {
      throw MlflowError.invalidParameterValue(
        `MLFLOW_S3_UPLOAD_EXTRA_ARGS names '${name}', which is not an upload argument. Allowed: ${[...ALLOWED_UPLOAD_ARGS].join(', ')}`,
      );
    }
  }
  return parsed as Partial<PutObjectCommandInput>;
}

function guessedContentHeaders(path: string): Partial<PutObjectCommandInput> {
  const parts = path.split('/').pop()!.toLowerCase().split('.');
  const headers: Partial<PutObjectCommandInput> = {};
  let ext = parts.length > 1 ? parts.pop()! : '';
  if (CONTENT_ENCODINGS[ext]) {
    headers.ContentEncoding = CONTENT_ENCODINGS[ext];
    ext = parts.length > 1 ? parts.pop()! : '';
  }
  if (CONTENT_TYPES[ext]) headers.ContentType = CONTENT_TYPES[ext];
  return headers;
}

function s3Client(env: NodeJS.ProcessEnv): S3Client {
  // The SDK warns on Node 20 that its releases after January 2027 need Node 22; flowhost's lock
  // file pins one that supports Node 20 (docs/decisions/0016-s3-artifact-repository.md), so the
  // notice would only repeat on every user's stderr.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) {
    throw new MlflowError(
      'S3 credentials are missing: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for the flowhost process ' +
        '(flowhost reads no ~/.aws files and no instance metadata)',
      'UNAUTHENTICATED',
    );
  }
  const ignoreTls = /^(true|1)$/i.test(env.MLFLOW_S3_IGNORE_TLS ?? '');
  return new S3Client({
    endpoint: env.MLFLOW_S3_ENDPOINT_URL || undefined,
    region: env.AWS_DEFAULT_REGION || env.AWS_REGION || 'us-east-1',
    // MLflow asks boto3 for path-style addressing: what S3-compatible servers understand.
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey, sessionToken: env.AWS_SESSION_TOKEN || undefined },
    requestHandler: ignoreTls ? { httpsAgent: new Agent({ rejectUnauthorized: false }) } : undefined,
    // Checksums only when S3 requires them: S3-compatible servers often reject the newer trailers.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 3,
  });
}

/** An S3 failure as an MlflowError naming the artifact path, never the bucket's internals only. */
function s3Error(error: unknown, artifactPath: string | null): MlflowError {
  if (error instanceof MlflowError) return error;
  const shown = artifactPath ?? '';
  if (error instanceof S3ServiceException) {
    const status = error.$metadata?.httpStatusCode;
    if (error.name === 'NoSuchKey' || error.name === 'NotFound' || status === 404) {
      return MlflowError.resourceDoesNotExist(
        error.name === 'NoSuchBucket'
          ? `No such bucket for artifact '${shown}': ${error.message}`
          : `No such file or directory: '${shown}'`,
      );
    }
    if (error.name === 'AccessDenied' || status === 403)
      return new MlflowError(`Permission denied: '${shown}' (${error.message})`, 'PERMISSION_DENIED');
    if (error.name === 'PreconditionFailed' || status === 412) {
      return new MlflowError(`'${shown}' was replaced while it was being read`, 'ABORTED');
    }
    return new MlflowError(`S3 failed for '${shown}': ${error.name}: ${error.message}`, 'IO_ERROR');
  }
  return new MlflowError(`S3 failed for '${shown}': ${(error as Error)?.message ?? String(error)}`, 'IO_ERROR');
}

/**
 * The stream's chunks, each copied: a received chunk is a view of a transfer buffer that is handed
 * back for reuse once the next chunk is asked for, and the uploader keeps chunks until a part fills.
 */
async function* copiedChunks(content: ByteStream): AsyncGenerator<Buffer> {
  for await (const chunk of content) yield Buffer.from(chunk);
}

export default defineArtifactRepository(({ artifactUri }) => {
  // A malformed URI fails each call with INVALID_PARAMETER_VALUE (the caller's mistake), rather
  // than the repository's start (which would read as a plugin failure).
  let location: S3Location | undefined;
  const where = () => (location ??= parseS3Uri(artifactUri));
  const env = process.env;
  // Made on first use, so a missing credential or a bad MLFLOW_S3_UPLOAD_EXTRA_ARGS fails the call
  // that needs it with its own message (as in MLflow), not the repository's start.
  let madeClient: S3Client | undefined;
  const client = {
    send: ((command: never) => (madeClient ??= s3Client(env)).send(command)) as S3Client['send'],
  };
  const keyOf = (artifactPath: string | null) => {
    const { prefix } = where();
    return artifactPath ? (prefix ? `${prefix}/${artifactPath}` : artifactPath) : prefix;
  };
  /** The prefix that lists what is below `artifactPath` (a folder), with its trailing slash. */
  const folderPrefix = (artifactPath: string | null) => {
    const key = keyOf(artifactPath);
    return key ? `${key}/` : '';
  };

  /** Every key at or below `artifactPath`, page by page. */
  async function* keysBelow(artifactPath: string | null): AsyncGenerator<string[]> {
    const exact = artifactPath ? keyOf(artifactPath) : null;
    let continuationToken: string | undefined;
    do {
      const page = await client.send(
        new ListObjectsV2Command({
          Bucket: where().bucket,
          Prefix: exact ?? folderPrefix(null),
          ContinuationToken: continuationToken,
        }),
      );
      const keys = (page.Contents ?? [])
        .map((o) => o.Key!)
        .filter((key) => exact === null || key === exact || key.startsWith(`${exact}/`));
      if (keys.length) yield keys;
      continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (continuationToken);
  }

  return {
    async writeArtifact(path, content) {
      const checked = checkArtifactFilePath(path);
      const extraArgs = uploadExtraArgs(env);
      const upload = new Upload({
        client: (madeClient ??= s3Client(env)),
        params: {
          Bucket: where().bucket,
          Key: keyOf(checked),
          Body: Readable.from(copiedChunks(content)),
          ...guessedContentHeaders(checked),
          ...extraArgs,
        },
        partSize: PART_BYTES,
        queueSize: PARTS_IN_FLIGHT,
        // A failed multipart upload is aborted: its parts are dropped and no object appears.
        leavePartsOnError: false,
      });
      try {
        await upload.done();
      } catch (error) {
        throw s3Error(error, checked);
      }
    },

    async readArtifact(path) {
      const checked = checkArtifactFilePath(path);
      const key = keyOf(checked);
      let size: number;
      let etag: string | undefined;
      try {
        const head = await client.send(new HeadObjectCommand({ Bucket: where().bucket, Key: key }));
        size = head.ContentLength ?? 0;
        etag = head.ETag;
      } catch (error) {
        throw s3Error(error, checked);
      }
      async function* ranges(): AsyncGenerator<Uint8Array> {
        for (let offset = 0; offset < size;) {
          const end = Math.min(offset + RANGE_BYTES, size) - 1;
          let body: Readable | undefined;
          try {
            const part = await client.send(
              new GetObjectCommand({
                Bucket: where().bucket,
                Key: key,
                Range: `bytes=${offset}-${end}`,
                IfMatch: etag,
              }),
            );
            body = part.Body as Readable;
            for await (const chunk of body) {
              offset += (chunk as Uint8Array).byteLength;
              yield chunk as Uint8Array;
            }
          } catch (error) {
            throw s3Error(error, checked);
          } finally {
            // The reader stopped early (aborted): the rest of this range is not wanted.
            body?.destroy();
          }
          if (offset <= end) throw s3Error(new Error(`the object ended at byte ${offset} of ${size}`), checked);
        }
      }
      return ranges() satisfies ByteStream;
    },

    async listArtifacts(path) {
      const checked = checkArtifactPath(path);
      const listed = folderPrefix(checked);
      const infos: FileInfo[] = [];
      let continuationToken: string | undefined;
      try {
        do {
          const page = await client.send(
            new ListObjectsV2Command({
              Bucket: where().bucket,
              Prefix: listed,
              Delimiter: '/',
              ContinuationToken: continuationToken,
            }),
          );
          for (const folder of page.CommonPrefixes ?? []) {
            const name = folder.Prefix!.slice(listed.length, -1);
            if (name) infos.push({ path: joinArtifactPath(checked, name), isDir: true, fileSize: null });
          }
          for (const object of page.Contents ?? []) {
            const name = object.Key!.slice(listed.length);
            // The folder's own marker object (`a/`), written by MLflow for empty folders.
            if (name)
              infos.push({ path: joinArtifactPath(checked, name), isDir: false, fileSize: Number(object.Size ?? 0) });
          }
          continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
        } while (continuationToken);
      } catch (error) {
        throw s3Error(error, checked);
      }
      return infos.sort((a, b) => compareCodePoints(a.path, b.path));
    },

    async deleteArtifacts(path) {
      const checked = checkArtifactPath(path);
      try {
        for await (const keys of keysBelow(checked)) {
          for (let i = 0; i < keys.length; i += DELETE_BATCH) {
            const batch = keys.slice(i, i + DELETE_BATCH);
            const result = await client.send(
              new DeleteObjectsCommand({
                Bucket: where().bucket,
                Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
              }),
            );
            const failed = result.Errors ?? [];
            if (failed.length)
              throw new Error(
                `${failed.length} objects were not deleted, first '${failed[0].Key}': ${failed[0].Message}`,
              );
          }
        }
      } catch (error) {
        throw s3Error(error, checked);
      }
    },
  };
});
