/**
 * The file-system calls the stores write through. Every write path of the tracking, registry and
 * artifact stores goes through this one object, so a test can make a call fail (a full disk, a
 * short write) exactly where it wants and check that the store leaves every file as it was.
 *
 * Not a plugin API: the SDK's package entry points do not export it, and a bundled plugin holds its
 * own copy of the SDK, so changing it there changes only that plugin's own store.
 */
import * as fs from 'node:fs';

export const io = {
  openSync: fs.openSync,
  writeSync: fs.writeSync as (fd: number, buffer: Uint8Array, offset?: number, length?: number) => number,
  fsyncSync: fs.fsyncSync,
  ftruncateSync: fs.ftruncateSync,
  renameSync: fs.renameSync,
  linkSync: fs.linkSync,
  mkdirSync: fs.mkdirSync,
};
