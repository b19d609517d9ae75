/**
 * Appending whole lines to line files (MLflow's metric files), so that every line is either all
 * there or not at all:
 *
 *  - a file that does not exist yet is created by `createFileExclusive` with its first lines, so
 *    no reader ever sees it empty (an empty metric file makes MLflow fail every read of the run);
 *  - each append is one O_APPEND write; if it fails part way (a full disk takes what fits), the
 *    bytes it wrote are cut off again, so the file is as it was;
 *  - a file found not to end with a line break (a writer killed inside a multi-page write, or one
 *    whose undo failed) has that unfinished line cut off before anything is appended, so a new
 *    line is never glued onto a fragment. Such a fragment was never acknowledged to anyone.
 *
 * Files are kept open between appends (opening costs ~6 µs against ~1 µs for the write), most
 * recently used last. An `fstat` before each write checks the file still has a name: a file deleted
 * or replaced behind the store's back is reopened by path, never written into the void.
 */
import * as fs from 'node:fs';
import { createFileExclusive, errnoOf, withParents, writeFailure } from './atomic.js';
import { io } from './io.js';

const NEWLINE = 0x0a;
const TAIL_CHUNK = 4096;

/** The size `fd`'s file would have with its unfinished last line cut off. */
function sizeWithoutFragment(fd: number, size: number): number {
  const buffer = Buffer.alloc(TAIL_CHUNK);
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - TAIL_CHUNK);
    const read = fs.readSync(fd, buffer, 0, end - start, start);
    const at = buffer.subarray(0, read).lastIndexOf(NEWLINE);
    if (at >= 0) return start + at + 1;
    end = start;
  }
  return 0;
}

/** The size of `file` up to the end of its last complete line (0 if it does not exist). */
export function completeLinesSize(file: string): number {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (error) {
    if (errnoOf(error) === 'ENOENT' || errnoOf(error) === 'ENOTDIR') return 0;
    throw error;
  }
  try {
    return sizeWithoutFragment(fd, fs.fstatSync(fd).size);
  } finally {
    fs.closeSync(fd);
  }
}

export class LineFiles {
  private readonly open = new Map<string, number>();
  private readonly byte = Buffer.alloc(1);

  /**
   * @param store  how errors name the store (`file store at /x/mlruns`)
   * @param limit  how many files stay open
   */
  constructor(
    private readonly store: string,
    private readonly limit = 64,
  ) {}

  /** Appends `lines` (complete lines) to `file`; `tempDir` holds the temporary file of a new one. */
  append(file: string, lines: string, tempDir: string): void {
    const data = Buffer.from(lines, 'utf8');
    let fd = this.take(file);
    if (fd === undefined) {
      try {
        fd = withParents(file, () => io.openSync(file, fs.constants.O_RDWR | fs.constants.O_APPEND));
      } catch (error) {
        if (errnoOf(error) !== 'ENOENT') throw writeFailure(error, this.store, file);
        try {
          if (createFileExclusive(file, data, { tempDir })) return;
        } catch (inner) {
          throw writeFailure(inner, this.store, file);
        }
        // Created by another writer in between: append to theirs.
        fd = io.openSync(file, fs.constants.O_RDWR | fs.constants.O_APPEND);
      }
      if (this.open.size >= this.limit) this.closeOne();
    }
    this.open.set(file, fd);
    this.write(fd, file, data);
  }

  /** The open descriptor of `file`, if it still names it; removed from the list (put back by the caller). */
  private take(file: string): number | undefined {
    const fd = this.open.get(file);
    if (fd === undefined) return undefined;
    this.open.delete(file);
    if (fs.fstatSync(fd).nlink > 0) return fd;
    fs.closeSync(fd);
    return undefined;
  }

  private write(fd: number, file: string, data: Buffer): void {
    let before = fs.fstatSync(fd).size;
    if (before > 0 && (fs.readSync(fd, this.byte, 0, 1, before - 1) !== 1 || this.byte[0] !== NEWLINE)) {
      const whole = sizeWithoutFragment(fd, before);
      io.ftruncateSync(fd, whole);
      before = whole;
    }
    let written = 0;
    try {
      while (written < data.length) written += io.writeSync(fd, data, written, data.length - written);
    } catch (error) {
      // Cut off what this write left, unless another writer appended after it (then the fragment
      // is cut off by the next append that finds it, as above).
      if (written > 0) {
        try {
          if (fs.fstatSync(fd).size === before + written) io.ftruncateSync(fd, before);
        } catch {
          // Left for the next append to find.
        }
      }
      throw writeFailure(error, this.store, file);
    }
  }

  private closeOne(): void {
    const [file, fd] = this.open.entries().next().value as [string, number];
    this.open.delete(file);
    fs.closeSync(fd);
  }

  closeAll(): void {
    while (this.open.size > 0) this.closeOne();
  }
}
