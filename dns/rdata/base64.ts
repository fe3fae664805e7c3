/**
 * @module Base 64 (RFC 4648 §4) for DNSKEY keys, RRSIG signatures, OPENPGPKEY and SVCB `ech`.
 * Strict on input (padding required, no stray characters) so a typo is an error rather than silently
 * different key material. Uses the Web-standard `atob`/`btoa`, present in workerd and Node.
 */

export function toBase64(bytes: Uint8Array): string {
  let binary = "";
  // Chunks keep String.fromCharCode's argument list short for large keys.
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** Decodes base 64; undefined when the text is not canonical padded base 64. */
export function fromBase64(text: string): Uint8Array | undefined {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}
