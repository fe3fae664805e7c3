/**
 * @module Type Bit Maps (RFC 4034 §4.1.2), shared by NSEC, NSEC3 (RFC 5155 §3.2.1) and CSYNC
 * (RFC 7477 §2.1.2): windows of 256 types, each written as window number, bitmap length (1–32) and the
 * bitmap with trailing zero octets removed, in increasing window order. Presentation is a list of type
 * mnemonics, `TYPEnnn` for those without one (RFC 3597 §5).
 *
 * Also the older NXT bitmap (RFC 2535 §5.2): one bitmap for types 0–127, bit 0 always clear.
 */
import { typeFromString, typeToString } from "../constants.ts";
import type { WireReader } from "../wire/reader.ts";
import { WireError } from "../wire/reader.ts";
import type { WireWriter } from "../wire/writer.ts";
import { fieldError, type TokenCursor } from "./token.ts";

/** Reads windows up to the reader's end. Types come back sorted, as the wire order implies. */
export function readTypeBitmap(r: WireReader): number[] {
  const types: number[] = [];
  let lastWindow = -1;
  while (r.remaining > 0) {
    const at = r.offset;
    const window = r.u8();
    const length = r.u8();
    if (window <= lastWindow) throw new WireError("inconsistent", "type bitmap windows out of order", at);
    if (length < 1 || length > 32) throw new WireError("inconsistent", `type bitmap length ${length}`, at);
    const bits = r.bytes(length);
    // RFC 4034 §4.1.2: trailing zero octets are not sent; a bitmap that ends in one is not canonical.
    if (bits[length - 1] === 0) throw new WireError("inconsistent", "type bitmap ends with a zero octet", at);
    for (let i = 0; i < length; i++) {
      for (let bit = 0; bit < 8; bit++) if (bits[i]! & (0x80 >> bit)) types.push(window * 256 + i * 8 + bit);
    }
    lastWindow = window;
  }
  return types;
}

export function writeTypeBitmap(w: WireWriter, types: readonly number[]): void {
  const sorted = [...new Set(types)].sort((a, b) => a - b);
  let i = 0;
  while (i < sorted.length) {
    const window = sorted[i]! >> 8;
    const bits = new Uint8Array(32);
    let length = 0;
    for (; i < sorted.length && sorted[i]! >> 8 === window; i++) {
      const low = sorted[i]! & 0xff;
      bits[low >> 3]! |= 0x80 >> (low & 7);
      length = (low >> 3) + 1;
    }
    w.u8(window);
    w.u8(length);
    w.bytes(bits.subarray(0, length));
  }
}

export function typeListToText(types: readonly number[]): string {
  return types.map(typeToString).join(" ");
}

/** Every token left is a type mnemonic or TYPEnnn. */
export function typeListFromText(c: TokenCursor): number[] {
  return c.rest().map((token) => {
    const type = typeFromString(token.text);
    if (type === undefined || token.quoted) throw fieldError("bad-text", token, `unknown type "${token.text}"`);
    return type;
  });
}

/** RFC 2535 §5.2: the NXT bitmap, bit n for type n, at most 16 octets, no trailing zero octet. */
export function readNxtBitmap(r: WireReader): number[] {
  const at = r.offset;
  const bits = r.rest();
  if (bits.length > 16) throw new WireError("inconsistent", "NXT bitmap longer than 16 octets", at);
  if (bits.length > 0 && bits[bits.length - 1] === 0) throw new WireError("inconsistent", "NXT bitmap ends with zero", at);
  const types: number[] = [];
  for (let i = 0; i < bits.length; i++) {
    for (let bit = 0; bit < 8; bit++) if (bits[i]! & (0x80 >> bit)) types.push(i * 8 + bit);
  }
  if (types[0] === 0) throw new WireError("inconsistent", "NXT bitmap has bit 0 set", at);
  return types;
}

export function writeNxtBitmap(w: WireWriter, types: readonly number[]): void {
  const bits = new Uint8Array(16);
  let length = 0;
  for (const t of types) {
    if (t < 1 || t > 127) throw new RangeError(`type ${t} does not fit an NXT bitmap`);
    bits[t >> 3]! |= 0x80 >> (t & 7);
    length = Math.max(length, (t >> 3) + 1);
  }
  w.bytes(bits.subarray(0, length));
}
