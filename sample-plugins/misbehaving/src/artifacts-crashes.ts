/**
 * A local artifact repository (the SDK's, at the URI's path) that dies in the middle of a stream:
 * after 8 MiB of an upload or a download its worker exits (paths containing `exit`), or its
 * stream throws (paths containing `throw`). Writing a path containing `early` answers "stored" at
 * once without reading a byte. Other paths work, so a test can look at what the failure left
 * behind through the same repository.
 */
import { MlflowError, defineArtifactRepository, type ByteStream } from '@flowhost/sdk';
import { resolve } from 'node:path';
import { createLocalArtifactRepository } from '@flowhost/sdk/artifact-store';
import { uriPath } from '@flowhost/sdk/file-store';

const FAIL_AFTER = 8 * 1024 * 1024;

function failing(path: string, content: ByteStream): ByteStream {
  if (!path.includes('exit') && !path.includes('throw')) return content;
  return (async function* () {
    let seen = 0;
    for await (const chunk of content) {
      seen += chunk.byteLength;
      if (seen > FAIL_AFTER) {
        if (path.includes('exit')) process.exit(1);
        throw new MlflowError(`the disk behind ${path} failed`, 'IO_ERROR');
      }
      yield chunk;
    }
  })();
}

export default defineArtifactRepository(({ artifactUri }) => {
  // `artifacts-crashes:/tmp/x` → `/tmp/x`: the URI's path, as MLflow's test plugin maps its URIs.
  const local = createLocalArtifactRepository({ root: resolve(decodeURIComponent(uriPath(artifactUri))) });
  return {
    ...local,
    writeArtifact: async (path, content) => {
      if (path.includes('early')) return;
      await local.writeArtifact(path, failing(path, content));
    },
    readArtifact: async (path) => failing(path, await local.readArtifact(path)),
  };
});
