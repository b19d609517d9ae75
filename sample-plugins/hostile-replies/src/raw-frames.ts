/**
 * At the `worker` level a plugin can post to the host's port itself, past the runtime: these write
 * reply frames by hand, bytes the runtime would never produce, and never answer the call. The host
 * must refuse each from its scan, before decoding it. `getMetricHistory(shape, n)`:
 *
 *   tiny-objects   one reply message of `n` empty maps (one byte each)
 *   deep           one reply message nested `n` arrays deep
 *   lying-count    an array header that claims 2^32 - 1 elements, and nothing after it
 *   many-messages  `n` reply messages of 16,000 empty maps each, in one frame (each under the cap)
 *   unknown-ext    a msgpack extension replies never carry
 *   oversized      a frame of `n` bytes (refused from its length alone)
 */
import { parentPort, store } from './lib.js';

/** `[1, 0, …]`: the start of a reply to call 1 with status ok (the scan refuses before any id is looked up). */
const REPLY_HEAD = [0x93, 0x01, 0x00];

function arrayOfEmptyMaps(n: number): number[] {
  return [0xdd, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

function frame(shape: string, n: number): Uint8Array {
  switch (shape) {
    case 'tiny-objects': {
      const head = [...REPLY_HEAD, ...arrayOfEmptyMaps(n)];
      const bytes = new Uint8Array(head.length + n).fill(0x80);
      bytes.set(head);
      return bytes;
    }
    case 'deep': {
      const bytes = new Uint8Array(REPLY_HEAD.length + n + 1).fill(0x91);
      bytes.set(REPLY_HEAD);
      bytes[bytes.length - 1] = 0x90;
      return bytes;
    }
    case 'lying-count':
      return Uint8Array.from([...REPLY_HEAD, 0xdd, 0xff, 0xff, 0xff, 0xff]);
    case 'many-messages': {
      const one = frame('tiny-objects', 16_000);
      const bytes = new Uint8Array(one.length * n);
      for (let i = 0; i < n; i++) bytes.set(one, i * one.length);
      return bytes;
    }
    case 'oversized':
      return new Uint8Array(n);
    case 'unknown-ext':
      return Uint8Array.from([...REPLY_HEAD, 0xd6, 0x01, 0, 0, 0, 0]);
    default:
      throw new Error(`unknown shape ${shape}`);
  }
}

export default store((shape, key) => {
  const bytes = frame(shape, Number(key));
  parentPort().postMessage(bytes, [bytes.buffer]);
  // No answer: the host must fail this call from what it refused.
  return new Promise(() => {});
});
