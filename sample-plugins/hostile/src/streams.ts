/**
 * Not an attack: an in-memory artifact repository that moves byte streams, so tests can show
 * streams crossing at the `worker` and `sandbox` levels (MessagePorts) and refused, clearly, at the
 * `process` level, which has no ports. No Node imports: it runs in a Compartment.
 */
import { MlflowError, defineArtifactRepository } from '@flowhost/sdk';

export default defineArtifactRepository(() => {
  const files = new Map<string, Uint8Array>();
  return {
    async writeArtifact(path, content) {
      const chunks: Uint8Array[] = [];
      let total = 0;
      // Each chunk is valid until the next is asked for: keep copies.
      for await (const chunk of content) {
        chunks.push(chunk.slice());
        total += chunk.byteLength;
      }
      const whole = new Uint8Array(total);
      let offset = 0;
      for (const chunk of chunks) {
        whole.set(chunk, offset);
        offset += chunk.byteLength;
      }
      files.set(path, whole);
    },
    readArtifact(path) {
      const bytes = files.get(path);
      if (!bytes) throw MlflowError.resourceDoesNotExist(`no artifact ${path}`);
      return (async function* () {
        yield bytes;
      })();
    },
    listArtifacts: () => [...files].map(([path, bytes]) => ({ path, isDir: false, fileSize: bytes.byteLength })),
  };
});
