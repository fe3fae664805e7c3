/**
 * @module SVCB and HTTPS (RFC 9460): SvcPriority, TargetName, then SvcParams as key, length, value with
 * keys strictly increasing (§2.2). Known keys (§14.3.2): mandatory, alpn, no-default-alpn, port,
 * ipv4hint, ech, ipv6hint, dohpath (RFC 9461); any other is `keyNNNNN` with an opaque value.
 *
 * Presentation (§2.1, Appendix A): `key=value` words in any order (sorted on the way to the wire);
 * values may be quoted; value lists are comma-separated with `\,` for a literal comma. Printed in key
 * order with list values quoted, as BIND prints them.
 */
import { concatBytes } from "../bytes.ts";
import { Name } from "../name.ts";
import { WireError, type WireReader } from "../wire/reader.ts";
import { fromBase64, toBase64 } from "./base64.ts";
import { escapeText, unescapeText } from "./character-string.ts";
import { decodeWith, encodeWith, type RdataCodec } from "./codec.ts";
import { ipv4FromText, ipv4ToText, ipv6FromText, ipv6ToText } from "./ip-address.ts";
import { RdataError } from "./rdata-error.ts";
import { fieldError, TokenCursor, type Token } from "./token.ts";

export interface SvcbValue {
  priority: number;
  target: Name;
  /** Key → raw value octets, in strictly increasing key order. */
  params: Array<{ key: number; value: Uint8Array }>;
}

/**
 * Key names read on input. On output, key7 stays `key7`: BIND 9.18 reads `dohpath` but prints `key7`, and
 * Knot 3.2 refuses `dohpath` while reading `key7`.
 */
const KEY_NAMES = ["mandatory", "alpn", "no-default-alpn", "port", "ipv4hint", "ech", "ipv6hint", "dohpath"];
const PRINTED_NAMES = KEY_NAMES.length - 1;

function keyToText(key: number): string {
  return key < PRINTED_NAMES ? KEY_NAMES[key]! : `key${key}`;
}

function keyFromText(text: string): number | undefined {
  const known = KEY_NAMES.indexOf(text.toLowerCase());
  if (known >= 0) return known;
  const m = /^key([0-9]{1,5})$/i.exec(text);
  if (m === null) return undefined;
  const v = Number(m[1]);
  return v <= 0xffff ? v : undefined;
}

/**
 * RFC 9460 Appendix A.1: a value list is first read as a character-string (so `\\,` becomes `\,`), and
 * the octets are then split on commas, where a backslash makes the next octet literal. So a comma inside an
 * ALPN id is written `\\,` in a zone file, as BIND writes it.
 */
function splitListOctets(octets: Uint8Array): Uint8Array[] | undefined {
  const items: Uint8Array[] = [];
  let current: number[] = [];
  for (let i = 0; i < octets.length; i++) {
    const b = octets[i]!;
    if (b === 0x5c) {
      if (i + 1 >= octets.length) return undefined;
      current.push(octets[++i]!);
    } else if (b === 0x2c) {
      items.push(Uint8Array.from(current));
      current = [];
    } else current.push(b);
  }
  items.push(Uint8Array.from(current));
  return items;
}

/** The list-level escape of one item: `,` and `\` get a backslash (before character-string escaping). */
function escapeListItem(item: Uint8Array): Uint8Array {
  const out: number[] = [];
  for (const b of item) {
    if (b === 0x2c || b === 0x5c) out.push(0x5c);
    out.push(b);
  }
  return Uint8Array.from(out);
}

const latin1 = (bytes: Uint8Array) => String.fromCharCode(...bytes);

/** Presentation of one value; undefined when the octets are not a valid value for the key. */
function valueToText(key: number, v: Uint8Array): string | undefined {
  const view = new DataView(v.buffer, v.byteOffset, v.byteLength);
  switch (key) {
    case 0: {
      if (v.length === 0 || v.length % 2 !== 0) return undefined;
      const keys: string[] = [];
      for (let i = 0; i < v.length; i += 2) keys.push(keyToText(view.getUint16(i)));
      return keys.join(",");
    }
    case 1: {
      const ids: string[] = [];
      for (let i = 0; i < v.length; ) {
        const length = v[i]!;
        if (length === 0 || i + 1 + length > v.length) return undefined;
        ids.push(escapeText(escapeListItem(v.subarray(i + 1, i + 1 + length))));
        i += 1 + length;
      }
      return ids.length === 0 ? undefined : `"${ids.join(",")}"`;
    }
    case 2:
      return v.length === 0 ? "" : undefined;
    case 3:
      return v.length === 2 ? view.getUint16(0).toString() : undefined;
    case 4: {
      if (v.length === 0 || v.length % 4 !== 0) return undefined;
      const out: string[] = [];
      for (let i = 0; i < v.length; i += 4) out.push(ipv4ToText(v.subarray(i, i + 4)));
      return out.join(",");
    }
    case 5:
      return v.length === 0 ? undefined : toBase64(v);
    case 6: {
      if (v.length === 0 || v.length % 16 !== 0) return undefined;
      const out: string[] = [];
      for (let i = 0; i < v.length; i += 16) out.push(ipv6ToText(v.subarray(i, i + 16)));
      return out.join(",");
    }
    default:
      return v.length === 0 ? "" : `"${escapeText(v)}"`;
  }
}

function valueFromText(key: number, raw: string | undefined, token: Token): Uint8Array {
  const bad = (why: string) => fieldError("bad-text", token, `${keyToText(key)}: ${why}`);
  const need = (): string => {
    if (raw === undefined || raw === "") throw bad("needs a value");
    return raw;
  };
  const unescape = (text: string) => {
    try {
      return unescapeText(text);
    } catch (err) {
      throw bad(err instanceof Error ? err.message : String(err));
    }
  };
  const list = (): string[] => {
    const items = splitListOctets(unescape(need()));
    if (items === undefined) throw bad("value list ends with a lone backslash");
    return items.map(latin1);
  };
  switch (key) {
    case 0: {
      const keys = list().map((name) => {
        const k = keyFromText(name);
        if (k === undefined) throw bad(`unknown key "${name}"`);
        return k;
      });
      const out = new Uint8Array(keys.length * 2);
      keys.forEach((k, i) => new DataView(out.buffer).setUint16(2 * i, k));
      return out;
    }
    case 1: {
      const parts: number[] = [];
      const items = splitListOctets(unescape(need()));
      if (items === undefined) throw bad("value list ends with a lone backslash");
      for (const id of items) {
        if (id.length === 0 || id.length > 255) throw bad("each ALPN id must be 1-255 octets");
        parts.push(id.length, ...id);
      }
      return Uint8Array.from(parts);
    }
    case 2:
      if (raw !== undefined && raw !== "") throw bad("takes no value");
      return new Uint8Array(0);
    case 3: {
      const text = need();
      if (!/^[0-9]{1,5}$/.test(text) || Number(text) > 0xffff) throw bad(`"${text}" is not a port`);
      return Uint8Array.of(Number(text) >> 8, Number(text) & 0xff);
    }
    case 4:
    case 6: {
      const parse = key === 4 ? ipv4FromText : ipv6FromText;
      const parts = list().map((a) => {
        const bytes = parse(a);
        if (bytes === undefined) throw bad(`"${a}" is not an address`);
        return bytes;
      });
      return concatBytes(parts);
    }
    case 5: {
      const bytes = fromBase64(need());
      if (bytes === undefined || bytes.length === 0) throw bad("not valid base 64");
      return bytes;
    }
    default:
      return raw === undefined ? new Uint8Array(0) : unescape(raw);
  }
}

/**
 * RFC 9460 §8: every key that "mandatory" lists must be present, and it may not list itself. Checked on
 * the wire too, so rdata that the text form would refuse is printed generically instead.
 */
function mandatoryProblem(params: SvcbValue["params"]): string | undefined {
  const mandatory = params.find((p) => p.key === 0);
  if (mandatory === undefined) return undefined;
  const view = new DataView(mandatory.value.buffer, mandatory.value.byteOffset, mandatory.value.byteLength);
  for (let i = 0; i + 1 < mandatory.value.length; i += 2) {
    const k = view.getUint16(i);
    if (k === 0 || !params.some((p) => p.key === k)) return `mandatory lists ${keyToText(k)}, which is not present`;
  }
  return undefined;
}

function readParams(r: WireReader): SvcbValue["params"] {
  const params: SvcbValue["params"] = [];
  let last = -1;
  while (r.remaining > 0) {
    const at = r.offset;
    const key = r.u16();
    if (key <= last) throw new WireError("inconsistent", "SvcParamKeys not strictly increasing", at);
    const value = r.bytes(r.u16()).slice();
    if (valueToText(key, value) === undefined) throw new WireError("inconsistent", `bad value for ${keyToText(key)}`, at);
    params.push({ key, value });
    last = key;
  }
  const problem = mandatoryProblem(params);
  if (problem !== undefined) throw new WireError("inconsistent", problem, r.offset);
  return params;
}

export const svcb: RdataCodec<SvcbValue> = {
  decode: (rdata) =>
    decodeWith(rdata, "SVCB", (r) => ({ priority: r.u16(), target: r.name(), params: readParams(r) })),
  encode: (v) =>
    encodeWith((w) => {
      w.u16(v.priority);
      w.name(v.target, false);
      for (const p of v.params) {
        w.u16(p.key);
        w.u16(p.value.length);
        w.bytes(p.value);
      }
    }),
  toText: (v) => {
    const words = [v.priority.toString(), v.target.toString()];
    for (const p of v.params) {
      const text = valueToText(p.key, p.value) ?? "";
      words.push(text === "" ? keyToText(p.key) : `${keyToText(p.key)}=${text}`);
    }
    return words.join(" ");
  },
  fromText: (tokens, origin) => {
    const c = new TokenCursor(tokens);
    const priorityToken = c.next("SvcPriority");
    if (!/^[0-9]{1,5}$/.test(priorityToken.text) || Number(priorityToken.text) > 0xffff) {
      throw fieldError("bad-text", priorityToken, `SvcPriority "${priorityToken.text}" is not 0-65535`);
    }
    const targetToken = c.next("TargetName");
    let target: Name;
    try {
      target = Name.parse(targetToken.text, origin);
    } catch (err) {
      throw fieldError("bad-text", targetToken, err instanceof Error ? err.message : String(err));
    }
    const params: SvcbValue["params"] = [];
    while (!c.done) {
      const token = c.next("SvcParam");
      const eq = token.quoted ? -1 : token.text.indexOf("=");
      const keyText = eq < 0 ? token.text : token.text.slice(0, eq);
      let raw: string | undefined = eq < 0 ? undefined : token.text.slice(eq + 1);
      // `alpn="h2,h3"` arrives as one word with the quotes inside; `alpn= "h2"` as two tokens.
      if (raw !== undefined && raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"')) raw = raw.slice(1, -1);
      else if (raw === "" && c.peek()?.quoted) raw = c.next("SvcParam value").text;
      const key = keyFromText(keyText);
      if (key === undefined) throw fieldError("bad-text", token, `unknown SvcParamKey "${keyText}"`);
      if (params.some((p) => p.key === key)) throw fieldError("bad-text", token, `SvcParamKey ${keyText} given twice`);
      if (key === 65535) throw fieldError("bad-text", token, "key65535 is reserved");
      params.push({ key, value: valueFromText(key, raw, token) });
    }
    params.sort((x, y) => x.key - y.key);
    const problem = mandatoryProblem(params);
    if (problem !== undefined) throw new RdataError("bad-text", problem, priorityToken.column, priorityToken.line);
    return { priority: Number(priorityToken.text), target, params };
  },
};
export const https = svcb;
