/**
 * @module Base 16 (RFC 4648 §8) as DS, TLSA, SSHFP, NSEC3 salts and RFC 3597 generic rdata write it:
 * uppercase on output, either case and whitespace between tokens accepted on input.
 */

const HEX = "0123456789ABCDEF";

export function toBase16(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i++) out += HEX[bytes[i]! >> 4]! + HEX[bytes[i]! & 15]!;
  return out;
}

/** Decodes hex digits; undefined when the text holds a non-digit or an odd number of digits. */
export function fromBase16(text: string): Uint8Array | undefined {
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) return undefined;
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}
