/**
 * @module Arrays for answers on their way out, carved from shared 64 KiB slabs (issue 27, session 10).
 *
 * Why: on the port-53 front every answer sent is a fresh array: a cache hit's copy (`cached-answer.ts`), a
 * replica answer's encoding (`dns/message.ts`). A `Uint8Array` of more than 64 octets has its own off-heap
 * `ArrayBuffer` in V8: a zeroed `malloc` (`calloc`), the collector's bookkeeping of external memory and the
 * array-buffer sweeper's `free` after a scavenge. Measured on Node 20 here, ~500–900 ns an array of 65–150
 * octets, against ~100–150 ns for a view of a slab (a miss's answer is often that long); an array of 64
 * octets or fewer lives on V8's heap, and costs about what a view does. A view is one small object on the
 * V8 heap.
 *
 * The rule that keeps this safe: octets once handed out are never written again by the slab. It only bumps
 * forward, and when a slab is full it starts a new one; a full slab is freed by the collector once the last
 * view of it is gone. So a view stays valid as long as someone holds it (a datagram queued in the kernel's
 * send path, a TCP write, a caller's copy), whatever the slab hands out afterwards.
 *
 * The cost of that rule: a view keeps its whole slab alive. Whatever keeps an answer for long (a response
 * cache) must keep a copy that owns its buffer (`ownCopy`), not the view.
 */

/** 64 KiB: below glibc's 128 KiB mmap threshold (so a slab is a heap `malloc`, not an `mmap` and page faults). */
export const SLAB_SIZE = 64 * 1024;
/** Views start on 8-octet boundaries. */
const ALIGN = 8;

/** Hands out arrays from shared slabs; arrays larger than a quarter slab get a buffer of their own. */
export class Slab {
  private buffer: ArrayBuffer | undefined;
  private used = 0;

  constructor(private readonly size: number = SLAB_SIZE) {
    if (!Number.isInteger(size) || size < 1024) throw new RangeError(`a slab of ${size} octets is too small`);
  }

  /** `length` octets, zeroed, never handed out before; a view of a slab (the slab's memory is zeroed when made). */
  take(length: number): Uint8Array {
    if (length > this.size >> 2) return new Uint8Array(length);
    if (this.buffer === undefined || this.used + length > this.size) {
      this.buffer = new ArrayBuffer(this.size);
      this.used = 0;
    }
    const out = new Uint8Array(this.buffer, this.used, length);
    this.used += (length + ALIGN - 1) & -ALIGN;
    return out;
  }
}

/** True when `array` is the whole of its buffer (not a view of a slab or of a larger message). */
export function ownsBuffer(array: Uint8Array): boolean {
  return array.byteOffset === 0 && array.byteLength === array.buffer.byteLength;
}

/** `array` itself when it owns its buffer, else a copy that does: for what is kept long (a cache entry). */
export function ownCopy(array: Uint8Array): Uint8Array {
  if (ownsBuffer(array)) return array;
  const out = new Uint8Array(array.length);
  out.set(array);
  return out;
}
