/**
 * How the host reads a file that a plugin package ships (its package.json at discovery, its modules
 * when bundling for a Compartment): only regular files, opened without following a final link and
 * without waiting (O_NONBLOCK, so a named pipe opens at once and is then refused), size-capped
 * before and while reading. A package can hold anything its author put there, FIFOs, devices and
 * links to the host's secrets included; these reads never block the host and never read through
 * them.
 */
import { constants, closeSync, fstatSync, openSync, readSync, readlinkSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { sep } from 'node:path';

const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = constants;
const READ_FLAGS = O_RDONLY | O_NOFOLLOW | O_NONBLOCK;

export class PackageFileError extends Error {
  override readonly name = 'PackageFileError';
}

function whatIs(info: {
  isFIFO(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
  isSocket(): boolean;
  isDirectory(): boolean;
}): string {
  if (info.isFIFO()) return 'a named pipe';
  if (info.isCharacterDevice() || info.isBlockDevice()) return 'a device';
  if (info.isSocket()) return 'a socket';
  if (info.isDirectory()) return 'a folder';
  return 'not a regular file';
}

function openError(path: string, error: unknown): PackageFileError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ELOOP')
    return new PackageFileError(
      `${path} is a symbolic link; a plugin package's files are read only as regular files, never through a link`,
    );
  return new PackageFileError(`${path} cannot be read: ${code ?? (error as Error).message}`);
}

/** Checks what an open file is: a regular file of at most `maxBytes`, with one link when `singleLink`. */
function checkOpened(
  path: string,
  info: { size: number; nlink: number; isFile(): boolean } & Parameters<typeof whatIs>[0],
  maxBytes: number,
  singleLink: boolean,
): void {
  if (!info.isFile())
    throw new PackageFileError(`${path} is ${whatIs(info)}; only regular files are read from a plugin package`);
  if (singleLink && info.nlink > 1) {
    throw new PackageFileError(
      `${path} has ${info.nlink} hard links; a hard link may bring any file into a package, so linked files are refused (install the plugin as copies, e.g. pnpm's package-import-method=copy)`,
    );
  }
  if (info.size > maxBytes)
    throw new PackageFileError(`${path} holds ${info.size} bytes, over the ${maxBytes}-byte limit of one package file`);
}

const grew = (path: string) =>
  new PackageFileError(
    `${path} grew while it was read; a plugin package's files must not change while the host reads them`,
  );

/** `path`'s text, synchronously (discovery runs in the Flowhost constructor): a regular file of at most `maxBytes`. */
export function readRegularFileSync(path: string, maxBytes: number): string {
  let fd: number;
  try {
    fd = openSync(path, READ_FLAGS);
  } catch (error) {
    throw openError(path, error);
  }
  try {
    const info = fstatSync(fd);
    checkOpened(path, info, maxBytes, false);
    // One byte more than the size: a file that grows while it is read is caught, not truncated.
    const buffer = Buffer.alloc(info.size + 1);
    let filled = 0;
    for (;;) {
      const read = readSync(fd, buffer, filled, buffer.length - filled, null);
      if (read === 0) break;
      filled += read;
      if (filled === buffer.length) throw grew(path);
    }
    return buffer.toString('utf8', 0, filled);
  } finally {
    closeSync(fd);
  }
}

/** Whether `path` lies in the folder `root` (both real paths). */
export function inside(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/**
 * The content of `path`, a file of the package whose real folder is `root`: a regular file with one
 * link, of at most `maxBytes`, that really lies under `root`. The last is checked on the opened
 * file itself (Linux: where /proc/self/fd/N leads), so a link swapped in after `path` was resolved
 * cannot lead the read elsewhere.
 */
export async function readPackageFile(path: string, root: string, maxBytes: number): Promise<Buffer> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, READ_FLAGS);
  } catch (error) {
    throw openError(path, error);
  }
  try {
    let where: string;
    try {
      where = readlinkSync(`/proc/self/fd/${handle.fd}`);
    } catch {
      where = path; // no procfs: the caller's real-path check stands alone
    }
    if (!inside(where, root))
      throw new PackageFileError(`${path} leads to ${where}, outside the plugin's package ${root}`);
    const info = await handle.stat();
    checkOpened(path, info, maxBytes, true);
    const buffer = Buffer.alloc(info.size + 1);
    let filled = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, null);
      if (bytesRead === 0) break;
      filled += bytesRead;
      if (filled === buffer.length) throw grew(path);
    }
    return buffer.subarray(0, filled);
  } finally {
    await handle.close();
  }
}
