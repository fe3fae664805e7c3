/**
 * @module Rdata fields: the building blocks every type's codec is made of (as ldns and BIND describe
 * rdata as a list of typed fields). Each field knows its wire form, its presentation form, and how to
 * read itself from zone-file tokens. Fields that run "to the end" (base 64, hex, type lists) must come last.
 *
 * Wire reading is bounded by the `WireReader` confined to one rdata, so a field can never read past it.
 */
import { Name, NameError } from "../name.ts";
import { WireError, type WireReader } from "../wire/reader.ts";
import type { WireWriter } from "../wire/writer.ts";
import { fromBase16, toBase16 } from "./base16.ts";
import { fromBase32Hex, toBase32Hex } from "./base32hex.ts";
import { fromBase64, toBase64 } from "./base64.ts";
import { escapeText, quoteText, unescapeText } from "./character-string.ts";
import { timeFromText, timeToText } from "./dnssec-time.ts";
import { ipv4FromText, ipv4ToText, ipv6FromText, ipv6ToText } from "./ip-address.ts";
import { RdataError } from "./rdata-error.ts";
import { fieldError, type Token, type TokenCursor } from "./token.ts";
import { readNxtBitmap, readTypeBitmap, typeListFromText, typeListToText, writeNxtBitmap, writeTypeBitmap } from "./type-bitmap.ts";
import { typeFromString, typeToString } from "../constants.ts";
import { parseDuration } from "../zonefile/ttl.ts";

export interface Field<T> {
  read(r: WireReader): T;
  write(w: WireWriter, value: T): void;
  /** Presentation text; empty string means "print nothing" (an empty optional tail). */
  print(value: T): string;
  parse(c: TokenCursor, origin: Name): T;
}

/** Re-locates an error from a helper that only knows offsets within the token. */
function at(token: Token, err: unknown): never {
  if (err instanceof RdataError || err instanceof NameError) {
    // Inside a quoted token, offsets count from the character after the opening quote.
    const offset = (err.column ?? 0) + (token.quoted ? 1 : 0);
    throw new RdataError("bad-text", err.message, (token.column ?? 0) + offset, token.line);
  }
  throw err;
}

function unsigned(bits: 8 | 16 | 32, what: string): Field<number> {
  const max = 2 ** bits - 1;
  return {
    read: (r) => (bits === 8 ? r.u8() : bits === 16 ? r.u16() : r.u32()),
    write: (w, v) => (bits === 8 ? w.u8(v) : bits === 16 ? w.u16(v) : w.u32(v)),
    print: (v) => v.toString(),
    parse: (c) => {
      const token = c.next(what);
      if (token.quoted || !/^[0-9]+$/.test(token.text) || Number(token.text) > max) {
        throw fieldError("bad-text", token, `${what}: "${token.text}" is not an integer from 0 to ${max}`);
      }
      return Number(token.text);
    },
  };
}

export const u8 = (what: string): Field<number> => unsigned(8, what);
export const u16 = (what: string): Field<number> => unsigned(16, what);
export const u32 = (what: string): Field<number> => unsigned(32, what);

/**
 * A 32-bit time interval (SOA refresh, retry, expire, minimum): printed in seconds, read in seconds or in
 * BIND's unit form (`1h`, `2w`), which BIND and Knot both accept there.
 */
export function duration(what: string): Field<number> {
  const plain = u32(what);
  return {
    ...plain,
    parse: (c) => {
      const token = c.next(what);
      const v = token.quoted ? undefined : parseDuration(token.text);
      if (v === undefined) throw fieldError("bad-text", token, `${what}: "${token.text}" is not a time interval`);
      return v;
    },
  };
}

/** A domain name, never compressed here: rdata bytes are always the uncompressed form. */
export function name(what: string): Field<Name> {
  return {
    read: (r) => r.name(),
    write: (w, v) => w.name(v, false),
    print: (v) => v.toString(),
    parse: (c, origin) => {
      const token = c.next(what);
      try {
        return Name.parse(token.text, origin);
      } catch (err) {
        return at(token, err);
      }
    },
  };
}

/** One <character-string>: length octet and up to 255 octets; always printed quoted. */
export function characterString(what: string): Field<Uint8Array> {
  return {
    read: (r) => r.characterString().slice(),
    write: (w, v) => w.characterString(v),
    print: quoteText,
    parse: (c) => parseCharacterString(c.next(what)),
  };
}

export function parseCharacterString(token: Token): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = unescapeText(token.text);
  } catch (err) {
    return at(token, err);
  }
  if (bytes.length > 255) throw fieldError("too-long", token, `character-string of ${bytes.length} octets exceeds 255`);
  return bytes;
}

/** One or more character-strings up to the end (TXT, SPF). */
export function characterStrings(what: string): Field<Uint8Array[]> {
  return {
    read: (r) => {
      const out: Uint8Array[] = [];
      do out.push(r.characterString().slice());
      while (r.remaining > 0);
      return out;
    },
    write: (w, v) => v.forEach((s) => w.characterString(s)),
    print: (v) => v.map(quoteText).join(" "),
    parse: (c) => {
      const tokens = c.rest();
      if (tokens.length === 0) c.next(what);
      return tokens.map(parseCharacterString);
    },
  };
}

/** Octets to the end, written as one escaped string (CAA value, URI target): no length octet. */
export function textToEnd(what: string): Field<Uint8Array> {
  return {
    read: (r) => r.rest().slice(),
    write: (w, v) => w.bytes(v),
    print: (v) => `"${escapeText(v)}"`,
    parse: (c) => {
      const token = c.next(what);
      try {
        return unescapeText(token.text);
      } catch (err) {
        return at(token, err);
      }
    },
  };
}

/** Joins the rest of the tokens (whitespace is allowed inside base 64 and hex blobs). */
function blob(c: TokenCursor, what: string, allowEmpty: boolean): { text: string; token: Token } {
  const tokens = c.rest();
  if (tokens.length === 0) {
    if (allowEmpty) return { text: "", token: { text: "", quoted: false } };
    c.next(what);
  }
  for (const t of tokens) if (t.quoted) throw fieldError("bad-text", t, `${what} may not be quoted`);
  return { text: tokens.map((t) => t.text).join(""), token: tokens[0]! };
}

/** Base 64 to the end of the rdata (DNSKEY, RRSIG, OPENPGPKEY). */
export function base64ToEnd(what: string): Field<Uint8Array> {
  return {
    read: (r) => r.rest().slice(),
    write: (w, v) => w.bytes(v),
    print: toBase64,
    parse: (c) => {
      const { text, token } = blob(c, what, true);
      const bytes = fromBase64(text);
      if (bytes === undefined) throw fieldError("bad-text", token, `${what}: not valid base 64`);
      return bytes;
    },
  };
}

/** Hex to the end of the rdata (DS, TLSA, SSHFP, ZONEMD). */
export function hexToEnd(what: string): Field<Uint8Array> {
  return {
    read: (r) => r.rest().slice(),
    write: (w, v) => w.bytes(v),
    print: toBase16,
    parse: (c) => {
      const { text, token } = blob(c, what, true);
      const bytes = fromBase16(text);
      if (bytes === undefined) throw fieldError("bad-text", token, `${what}: not valid hex`);
      return bytes;
    },
  };
}

/** A length octet and that many octets, printed as hex or `-` when empty (NSEC3 salt, RFC 5155 §3.3). */
export function hexWithLength(what: string): Field<Uint8Array> {
  return {
    read: (r) => r.bytes(r.u8()).slice(),
    write: (w, v) => {
      w.u8(v.length);
      w.bytes(v);
    },
    print: (v) => (v.length === 0 ? "-" : toBase16(v)),
    parse: (c) => {
      const token = c.next(what);
      if (token.text === "-" && !token.quoted) return new Uint8Array(0);
      const bytes = fromBase16(token.text);
      if (bytes === undefined || bytes.length === 0 || token.quoted) throw fieldError("bad-text", token, `${what}: not valid hex`);
      if (bytes.length > 255) throw fieldError("too-long", token, `${what}: more than 255 octets`);
      return bytes;
    },
  };
}

/** A length octet and that many octets, printed as unpadded base32hex (NSEC3 next hashed owner). */
export function base32WithLength(what: string): Field<Uint8Array> {
  return {
    write: (w, v) => {
      w.u8(v.length);
      w.bytes(v);
    },
    print: toBase32Hex,
    // Checked on read too: an empty hash prints as nothing, which no parser reads back.
    read: (r) => {
      const length = r.u8();
      wireCheck(length > 0, "empty next hashed owner name", r);
      return r.bytes(length).slice();
    },
    parse: (c) => {
      const token = c.next(what);
      const bytes = fromBase32Hex(token.text);
      if (bytes === undefined || bytes.length === 0 || token.quoted) throw fieldError("bad-text", token, `${what}: not valid base32hex`);
      if (bytes.length > 255) throw fieldError("too-long", token, `${what}: more than 255 octets`);
      return bytes;
    },
  };
}

export function ipv4(what: string): Field<Uint8Array> {
  return {
    read: (r) => r.bytes(4).slice(),
    write: (w, v) => w.bytes(v),
    print: ipv4ToText,
    parse: (c) => {
      const token = c.next(what);
      const bytes = ipv4FromText(token.text);
      if (bytes === undefined || token.quoted) throw fieldError("bad-text", token, `${what}: "${token.text}" is not an IPv4 address`);
      return bytes;
    },
  };
}

export function ipv6(what: string): Field<Uint8Array> {
  return {
    read: (r) => r.bytes(16).slice(),
    write: (w, v) => w.bytes(v),
    print: ipv6ToText,
    parse: (c) => {
      const token = c.next(what);
      const bytes = ipv6FromText(token.text);
      if (bytes === undefined || token.quoted) throw fieldError("bad-text", token, `${what}: "${token.text}" is not an IPv6 address`);
      return bytes;
    },
  };
}

/** A 16-bit RR type, printed as its mnemonic (RRSIG type covered). */
export function rrType(what: string): Field<number> {
  return {
    read: (r) => r.u16(),
    write: (w, v) => w.u16(v),
    print: typeToString,
    parse: (c) => {
      const token = c.next(what);
      const type = typeFromString(token.text);
      if (type === undefined || token.quoted) throw fieldError("bad-text", token, `${what}: unknown type "${token.text}"`);
      return type;
    },
  };
}

/** A 32-bit signature time (RFC 4034 §3.2). */
export function time(what: string): Field<number> {
  return {
    read: (r) => r.u32(),
    write: (w, v) => w.u32(v),
    print: timeToText,
    parse: (c) => {
      const token = c.next(what);
      const v = timeFromText(token.text);
      if (v === undefined || token.quoted) throw fieldError("bad-text", token, `${what}: "${token.text}" is not YYYYMMDDHHmmSS`);
      return v;
    },
  };
}

/** NSEC/NSEC3/CSYNC type bitmap to the end; may be empty (RFC 4034 §4.1.2 allows an empty list). */
export function typeBitmap(): Field<number[]> {
  return {
    read: readTypeBitmap,
    write: writeTypeBitmap,
    print: typeListToText,
    parse: (c) => typeListFromText(c),
  };
}

export function nxtBitmap(): Field<number[]> {
  return {
    read: readNxtBitmap,
    write: writeNxtBitmap,
    print: typeListToText,
    parse: (c) => {
      const types = typeListFromText(c);
      if (types.some((t) => t < 1 || t > 127)) throw new RdataError("bad-text", "NXT can list only types 1 to 127");
      return types;
    },
  };
}

/** For codecs that check a value after reading it. */
export function wireCheck(ok: boolean, message: string, r: WireReader): void {
  if (!ok) throw new WireError("inconsistent", message, r.offset);
}
