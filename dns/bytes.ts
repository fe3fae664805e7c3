/**
 * @module Joining byte arrays. One shared copy, so every part of the code builds concatenations the same way
 * (and with a plain ArrayBuffer behind them, which Web Crypto's BufferSource type requires).
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
