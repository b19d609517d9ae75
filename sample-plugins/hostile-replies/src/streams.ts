/**
 * Byte-stream control messages with oversized or odd contents. No Node imports: it runs at every level.
 *
 *   writeArtifact(path, content): reads the first chunk of the upload, then aborts it with
 *     `abort-string:N`  a reason of N characters
 *     `abort-bytes:N`   an N-byte typed array as the reason
 *   readArtifact(path): yields one chunk, then its source throws
 *     `error-string:N`  an Error whose message is N characters long
 *     `error-bytes:N`   an N-byte typed array
 */
import { MlflowError, defineArtifactRepository } from '@flowhost/sdk';

type Abortable = AsyncIterable<Uint8Array> & { abort?(reason: unknown): void };

function parse(path: string): [string, number] {
  const [what, size] = path.split(':');
  return [what, Number(size)];
}

export default defineArtifactRepository(() => ({
  async writeArtifact(path, content) {
    const [what, n] = parse(path);
    const upload = content as Abortable;
    for await (const chunk of upload) {
      void chunk;
      break;
    }
    if (what === 'abort-string') upload.abort?.('r'.repeat(n));
    else if (what === 'abort-bytes') upload.abort?.(new Uint8Array(n));
    else throw MlflowError.invalidParameterValue(`unknown path ${path}`);
    // The upload is aborted; answer anyway, so the host sees the abort and the answer both.
  },
  readArtifact(path) {
    const [what, n] = parse(path);
    return (async function* () {
      yield new Uint8Array(1024);
      if (what === 'error-string') throw new Error('m'.repeat(n));
      if (what === 'error-bytes') throw new Uint8Array(n);
      throw MlflowError.invalidParameterValue(`unknown path ${path}`);
    })();
  },
  listArtifacts: () => [],
}));
