/**
 * @module Base 32 with the extended hex alphabet (RFC 4648 §7), unpadded, as NSEC3 writes its Next Hashed
 * Owner Name (RFC 5155 §3.3). Uppercase on output as BIND and Knot print it; either case on input.
 */

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUV";

export function toBase32Hex(bytes: Uint8Array): string {
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (let i = 0; i < bytes.length; i++) {
    buffer = (buffer << 8) | bytes[i]!;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(buffer >> bits) & 31]!;
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += ALPHABET[(buffer << (5 - bits)) & 31]!;
  return out;
}

/**
 * Decodes unpadded base32hex; undefined for a character outside the alphabet, a length that no whole
 * number of octets produces, or non-zero leftover bits (which would not survive a round trip).
 */
export function fromBase32Hex(text: string): Uint8Array | undefined {
  const upper = text.toUpperCase();
  const out: number[] = [];
  let buffer = 0;
  let bits = 0;
  for (const c of upper) {
    const v = ALPHABET.indexOf(c);
    if (v < 0) return undefined;
    buffer = (buffer << 5) | v;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((buffer >> bits) & 0xff);
      buffer &= (1 << bits) - 1;
    }
  }
  if (bits >= 5 || buffer !== 0) return undefined;
  return Uint8Array.from(out);
}
