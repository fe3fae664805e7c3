/**
 * @module Byte strings: joining them (with a plain ArrayBuffer behind the result, which Web Crypto's
 * BufferSource type requires), comparing them in memcmp order, and resizable ArrayBuffers (grown in place, or
 * given back before a garbage collection finds them dead).
 */

/** Joins byte arrays into one new array. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** An ArrayBuffer that grows or shrinks in place (ES2024: Node 20 and workerd have it; the ES2023 lib types do not). */
export type ResizableBuffer = ArrayBuffer & { readonly resizable: true; resize(byteLength: number): void };

/** Whether `buffer` is resizable. */
export function isResizable(buffer: ArrayBufferLike): buffer is ResizableBuffer {
  return (buffer as { resizable?: boolean }).resizable === true;
}

/**
 * A resizable ArrayBuffer of `length` octets that may grow to `maxByteLength` (reserved as address space,
 * committed as written); undefined where the runtime has none or refuses the reservation.
 */
export function resizableBuffer(length: number, maxByteLength: number): ResizableBuffer | undefined {
  try {
    const make = ArrayBuffer as unknown as new (length: number, options: { maxByteLength: number }) => ArrayBuffer;
    const buffer = new make(length, { maxByteLength });
    return isResizable(buffer) ? buffer : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `n` zeroed octets that whoever ends up owning them can give back at once (`releaseBytes`), in a resizable
 * ArrayBuffer where the runtime has one. A transfer's 1 MB chunk otherwise lives until a garbage collection
 * finds it dead, and V8 collects for ArrayBuffers only every ~64 MB of them: with little other garbage (issue
 * 28, session 8) that was ~45 MiB of a 1M-record transfer's peak RSS, chunks the Worker had long stored.
 */
export function releasableBytes(n: number): Uint8Array {
  const buffer = resizableBuffer(n, n);
  return buffer === undefined ? new Uint8Array(n) : new Uint8Array(buffer, 0, n);
}

/**
 * Gives `bytes`' memory back now when it came from `releasableBytes` (its buffer shrinks to nothing, and every
 * view of it reads as empty from then on); otherwise nothing. Only for the last holder of the octets.
 */
export function releaseBytes(bytes: Uint8Array): void {
  const buffer = bytes.buffer;
  if (isResizable(buffer) && bytes.byteOffset === 0 && bytes.byteLength === buffer.byteLength) buffer.resize(0);
}

/**
 * memcmp order, shorter-prefix first (RFC 4034 §6.3's octet-string order; also SQLite's BLOB order, which
 * the D1 indexes on `Name.sortKey()` rely on). Negative, zero or positive.
 */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}
