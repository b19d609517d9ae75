/**
 * An artifact repository whose listings name paths outside the directory asked for, one way per
 * directory name, so the host's check can be shown to refuse each. `ok` lists well; `ok/file`
 * reads back as `hello`.
 */
import { defineArtifactRepository, type FileInfo } from '@flowhost/sdk';

const file = (path: string): FileInfo => ({ path, isDir: false, fileSize: 5 });

export const ESCAPES: Record<string, FileInfo[]> = {
  parent: [file('../outside.txt')],
  'parent-deep': [file('parent-deep/../../outside.txt')],
  absolute: [file('/etc/passwd')],
  sibling: [file('siblingx/file')],
  grandchild: [file('grandchild/a/b')],
  dotdot: [file('dotdot/..')],
  encoded: [file('encoded/%2e%2e')],
  'double-encoded': [file('double-encoded/%252e%252e')],
  backslash: [file('backslash/..\\..\\outside.txt')],
  drive: [file('C:/Windows/win.ini')],
  empty: [file('empty/')],
  duplicate: [file('duplicate/a'), file('duplicate/a')],
  'negative-size': [{ path: 'negative-size/a', isDir: false, fileSize: -1 }],
  // A directory that keeps containing itself one level down, without end.
  endless: [{ path: 'endless/d', isDir: true, fileSize: null }],
};

export default defineArtifactRepository(() => ({
  writeArtifact: async () => {},
  async *readArtifact() {
    yield new TextEncoder().encode('hello');
  },
  listArtifacts(path) {
    if (path === null)
      return [
        { path: 'ok', isDir: true, fileSize: null },
        ...Object.keys(ESCAPES).map((name) => ({ path: name, isDir: true, fileSize: null })),
      ];
    if (path === 'ok') return [file('ok/file')];
    if (path.startsWith('endless/')) return [{ path: `${path}/d`, isDir: true, fileSize: null }];
    return ESCAPES[path] ?? [];
  },
}));
