/**
 * All-or-nothing groups of file writes (MLflow's `log_batch`, which its SQL stores commit in one
 * transaction), as an undo journal:
 *
 *  1. the writer, holding the lock of the files' owner (a run), writes the journal: every write it
 *     is about to make with what is needed to undo it; the journal appears whole (rename) or not;
 *  2. it makes the writes;
 *  3. it removes the journal: the group is committed.
 *
 * If the writer fails at step 2 it undoes the writes itself; if it dies (killed, out of memory), the
 * journal stays and the next user of the owner, holding the same lock, undoes them (`rollBack`)
 * before reading or writing anything. Readers check for a journal first, so nobody ever sees half a
 * group. Undoing is exact for the store's own files; what other writers did meanwhile is kept:
 *
 *  - an append is undone by cutting out exactly its bytes (found at or after the size the file had
 *    before), so lines appended by other writers after it stay; a part-written append (a writer
 *    killed inside a multi-page write) is cut off the same way;
 *  - a created file is removed if it still holds what the group wrote;
 *  - a replaced file gets its previous content back if it still holds what the group wrote.
 *
 * The journal is not flushed to disk: it protects against the death of the process (the page cache
 * survives it), not against a power loss, as MLflow's FileStore, which flushes nothing either.
 */
import * as fs from 'node:fs';
import { errnoOf, removeQuietly, replaceFile } from './atomic.js';

export type JournalEntry =
  | { readonly kind: 'append'; readonly file: string; readonly data: string; readonly from: number }
  | { readonly kind: 'create'; readonly file: string; readonly data: string }
  | { readonly kind: 'replace'; readonly file: string; readonly data: string; readonly previous: string | null };

export function writeJournal(journalPath: string, entries: readonly JournalEntry[]): void {
  replaceFile(journalPath, JSON.stringify(entries));
}

export function hasJournal(journalPath: string): boolean {
  return fs.existsSync(journalPath);
}

function readOrNull(file: string): Buffer | null {
  try {
    return fs.readFileSync(file);
  } catch (error) {
    if (errnoOf(error) === 'ENOENT' || errnoOf(error) === 'ENOTDIR') return null;
    throw error;
  }
}

/** Cuts `data` (or the part of it a killed writer got out) from `file`, looking at or after `from`. */
function undoAppend(file: string, data: Buffer, from: number): void {
  const content = readOrNull(file);
  if (content === null) return;
  let start = content.indexOf(data, from);
  let length = data.length;
  if (start < 0) {
    // A part-written append is the end of the file and a prefix of `data`.
    const firstLine = data.subarray(0, data.indexOf(0x0a) + 1 || data.length);
    for (let at = content.indexOf(firstLine, from); at >= 0; at = content.indexOf(firstLine, at + 1)) {
      if (data.subarray(0, content.length - at).equals(content.subarray(at))) {
        start = at;
        length = content.length - at;
        break;
      }
    }
    if (start < 0) {
      // Not even its first line got out, or only part of it.
      const tail = content.subarray(Math.max(from, content.lastIndexOf(0x0a) + 1));
      if (tail.length === 0 || !data.subarray(0, tail.length).equals(tail)) return;
      start = content.length - tail.length;
      length = tail.length;
    }
  }
  if (start === 0 && length === content.length && from === 0) {
    fs.unlinkSync(file);
    return;
  }
  const fd = fs.openSync(file, 'r+');
  try {
    // Lines appended after the group's move up in place (descriptors other writers hold stay valid).
    const after = content.subarray(start + length);
    if (after.length > 0) fs.writeSync(fd, after, 0, after.length, start);
    fs.ftruncateSync(fd, start + after.length);
  } finally {
    fs.closeSync(fd);
  }
}

function undo(entry: JournalEntry): void {
  const data = Buffer.from(entry.data, 'utf8');
  switch (entry.kind) {
    case 'append':
      undoAppend(entry.file, data, entry.from);
      return;
    case 'create': {
      if (readOrNull(entry.file)?.equals(data)) fs.unlinkSync(entry.file);
      return;
    }
    case 'replace': {
      if (!readOrNull(entry.file)?.equals(data)) return;
      if (entry.previous === null) fs.unlinkSync(entry.file);
      else replaceFile(entry.file, entry.previous);
    }
  }
}

/** Undoes the group recorded in `journalPath` (if any), last write first, then removes the journal. */
export function rollBack(journalPath: string): void {
  let text: string;
  try {
    text = fs.readFileSync(journalPath, 'utf8');
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return;
    throw error;
  }
  const entries = JSON.parse(text) as JournalEntry[];
  for (let i = entries.length - 1; i >= 0; i--) undo(entries[i]);
  removeQuietly(journalPath);
}

/** Commits the group: its writes stay. */
export function commitJournal(journalPath: string): void {
  fs.unlinkSync(journalPath);
}
