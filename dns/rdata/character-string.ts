/**
 * @module RFC 1035 §5.1 text escapes for character-strings (TXT, HINFO, NAPTR, CAA and URI values, SVCB
 * values): `\X` is the character X, `\DDD` the octet with decimal value DDD; other characters stand for
 * their UTF-8 octets. Output quotes every string and escapes `"`, `\` and every octet outside printable
 * ASCII as `\DDD`, as BIND prints them, so the text survives any zone-file reader.
 */
import { RdataError } from "./rdata-error.ts";

const encoder = new TextEncoder();

/**
 * The octets that escaped text stands for.
 * @throws RdataError for a bad `\DDD` (the column is relative to the start of `text`).
 */
export function unescapeText(text: string): Uint8Array {
  const bytes = encoder.encode(text);
  const out = new Uint8Array(bytes.length);
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b !== 0x5c) {
      out[n++] = b;
      continue;
    }
    if (i + 1 >= bytes.length) throw new RdataError("bad-text", "text ends with a lone backslash", i);
    const d1 = bytes[i + 1]!;
    if (d1 >= 0x30 && d1 <= 0x39) {
      const d2 = bytes[i + 2], d3 = bytes[i + 3];
      if (d2 === undefined || d3 === undefined || d2 < 0x30 || d2 > 0x39 || d3 < 0x30 || d3 > 0x39) {
        throw new RdataError("bad-text", "\\DDD escape needs three digits", i);
      }
      const v = (d1 - 0x30) * 100 + (d2 - 0x30) * 10 + (d3 - 0x30);
      if (v > 255) throw new RdataError("bad-text", `\\${v} is not an octet`, i);
      out[n++] = v;
      i += 3;
    } else {
      out[n++] = d1;
      i += 1;
    }
  }
  return out.slice(0, n);
}

/** Escapes octets for use inside double quotes. `extra` lists more characters to backslash (SVCB lists: `,`). */
export function escapeText(bytes: Uint8Array, extra = ""): string {
  let out = "";
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    const c = String.fromCharCode(b);
    if (b === 0x22 || b === 0x5c || (extra !== "" && extra.includes(c))) out += "\\" + c;
    else if (b >= 0x20 && b < 0x7f) out += c;
    else out += "\\" + b.toString().padStart(3, "0");
  }
  return out;
}

/** A quoted character-string. */
export function quoteText(bytes: Uint8Array): string {
  return `"${escapeText(bytes)}"`;
}
