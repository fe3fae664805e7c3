/**
 * @module Byte strings: joining them (with a plain ArrayBuffer behind the result, which Web Crypto's
 * BufferSource type requires) and comparing them in memcmp order.
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
