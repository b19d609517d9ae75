/**
 * A well-behaved artifact repository that stores nothing: writes are read to the end and dropped,
 * `<n>.bin` reads back as n bytes of a pattern (byte i is `i & 0xff`). What the memory tests and
 * the benchmark stream through, so they measure the transport and not a disk.
 */
import { defineArtifactRepository } from '@flowhost/sdk';
import { drain, patternSource, sizeOfPath } from './lib/artifacts.js';

export default defineArtifactRepository(() => ({
  async writeArtifact(_path, content) {
    await drain(content);
  },
  readArtifact: (path) => patternSource(sizeOfPath(path)),
  listArtifacts: () => [],
  deleteArtifacts: () => {},
}));
