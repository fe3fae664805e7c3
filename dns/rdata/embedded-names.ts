/**
 * @module Where domain names sit inside rdata, and the three rules that depend on it:
 *
 * 1. Decompression on receipt: RFC 1035 types, and the types RFC 3597 §4 tells receivers to decompress
 *    (RP, AFSDB, RT, SIG, PX, NXT, NAPTR, SRV). Every other type's rdata is opaque: a pointer-like byte
 *    in it is data, never followed.
 * 2. Compression when sending: only the RFC 1035 types (RFC 3597 §4: "servers MUST NOT compress domain
 *    names embedded in the RDATA of types that are class-specific or not well-known").
 * 3. Canonical form (RFC 4034 §6.2 item 3, as corrected by RFC 6840 §5.1): names in the rdata of NS, MD,
 *    MF, CNAME, SOA, MB, MG, MR, PTR, MINFO, MX, RP, AFSDB, RT, SIG, PX, NXT, NAPTR, KX, SRV, DNAME and
 *    RRSIG are lowercased; NSEC's Next Domain Name is NOT (RFC 6840 §5.1). HINFO is on RFC 4034's list
 *    but holds no names. A6 is on it too, but is historic (RFC 6563) and kept opaque here.
 *
 * A layout lists the rdata's parts in order: a fixed number of octets, a name, or a character-string
 * (only NAPTR has strings before its name). Whatever follows the last part is copied as is.
 */
import type { Name } from "../name.ts";
import { WireError, WireReader } from "../wire/reader.ts";
import { WireWriter } from "../wire/writer.ts";
import { RRType } from "../constants.ts";

type Part = number | "name" | "string";

const LAYOUTS = new Map<number, readonly Part[]>([
  [RRType.NS, ["name"]],
  [RRType.MD, ["name"]],
  [RRType.MF, ["name"]],
  [RRType.CNAME, ["name"]],
  [RRType.SOA, ["name", "name"]],
  [RRType.MB, ["name"]],
  [RRType.MG, ["name"]],
  [RRType.MR, ["name"]],
  [RRType.PTR, ["name"]],
  [RRType.MINFO, ["name", "name"]],
  [RRType.MX, [2, "name"]],
  [RRType.RP, ["name", "name"]],
  [RRType.AFSDB, [2, "name"]],
  [RRType.RT, [2, "name"]],
  [RRType.SIG, [18, "name"]],
  [RRType.PX, [2, "name", "name"]],
  [RRType.NXT, ["name"]],
  [RRType.NAPTR, [4, "string", "string", "string", "name"]],
  [RRType.SRV, [6, "name"]],
  [RRType.KX, [2, "name"]],
  [RRType.DNAME, ["name"]],
  [RRType.RRSIG, [18, "name"]],
]);

/** RFC 1035 §3.3 types: the only ones whose rdata names may be compressed, in either direction. */
const RFC1035_TYPES = new Set<number>([
  RRType.NS, RRType.MD, RRType.MF, RRType.CNAME, RRType.SOA, RRType.MB, RRType.MG, RRType.MR, RRType.PTR,
  RRType.MINFO, RRType.MX,
]);

/** RFC 3597 §4: receivers also decompress these. */
const DECOMPRESSED_TYPES = new Set<number>([
  ...RFC1035_TYPES, RRType.RP, RRType.AFSDB, RRType.RT, RRType.SIG, RRType.PX, RRType.NXT, RRType.NAPTR, RRType.SRV,
]);

/** RFC 4034 §6.2 as corrected by RFC 6840 §5.1 (see the module comment). */
const LOWERCASED_TYPES = new Set<number>([
  ...DECOMPRESSED_TYPES, RRType.KX, RRType.DNAME, RRType.RRSIG,
]);

/** True when names in this type's rdata may be written compressed (RFC 3597 §4). */
export function mayCompress(type: number): boolean {
  return RFC1035_TYPES.has(type);
}

/** True when a receiver must expand compressed names in this type's rdata (RFC 3597 §4). */
export function mustDecompress(type: number): boolean {
  return DECOMPRESSED_TYPES.has(type);
}

/** True when this type's rdata names are lowercased in canonical form (RFC 4034 §6.2, RFC 6840 §5.1). */
export function lowercasedInCanonicalForm(type: number): boolean {
  return LOWERCASED_TYPES.has(type);
}

/**
 * Walks a layout: `onName` handles each name, `onBytes` each stretch of other octets, from `r`'s
 * position to its end.
 */
function walk(layout: readonly Part[], r: WireReader, onName: (n: Name) => void, onBytes: (b: Uint8Array) => void): void {
  for (const part of layout) {
    if (part === "name") onName(r.name());
    else if (part === "string") {
      const s = r.characterString();
      onBytes(Uint8Array.of(s.length));
      onBytes(s);
    } else onBytes(r.bytes(part));
  }
  onBytes(r.rest());
}

/**
 * The uncompressed rdata of a record inside a message: `message[offset, offset + length)` with any
 * compressed names (for the types of `mustDecompress`) expanded from the rest of the message.
 * @throws WireError for a malformed name or rdata that ends inside a field.
 */
export function expandRdata(type: number, message: Uint8Array, offset: number, length: number): Uint8Array {
  const end = offset + length;
  if (end > message.length) throw new WireError("truncated", `rdata of ${length} octets runs past the message`, offset);
  const layout = DECOMPRESSED_TYPES.has(type) ? LAYOUTS.get(type) : undefined;
  if (layout === undefined) return message.slice(offset, end);
  const r = new WireReader(message, offset, end);
  const w = new WireWriter();
  walk(layout, r, (n) => w.name(n, false), (b) => w.bytes(b));
  return w.finish();
}

/**
 * Writes uncompressed rdata into a message, compressing its names against the message when `compress`
 * is set and the type allows it (RFC 1035 types only); other rdata is copied byte for byte.
 */
export function writeRdata(w: WireWriter, type: number, rdata: Uint8Array, compress: boolean): void {
  const layout = compress && RFC1035_TYPES.has(type) ? LAYOUTS.get(type) : undefined;
  if (layout === undefined) {
    w.bytes(rdata);
    return;
  }
  walk(layout, new WireReader(rdata), (n) => w.name(n, true), (b) => w.bytes(b));
}

/** The canonical form of rdata for DNSSEC (RFC 4034 §6.2): names lowercased for the listed types. */
export function canonicalRdata(type: number, rdata: Uint8Array): Uint8Array {
  const layout = LOWERCASED_TYPES.has(type) ? LAYOUTS.get(type) : undefined;
  if (layout === undefined) return rdata;
  const w = new WireWriter();
  walk(layout, new WireReader(rdata), (n) => w.name(n, false, true), (b) => w.bytes(b));
  return w.finish();
}

/** The names a record's rdata holds, in order (NS targets, MX exchanges, …), for additional-section work. */
export function namesInRdata(type: number, rdata: Uint8Array): Name[] {
  const layout = LAYOUTS.get(type);
  if (layout === undefined) return [];
  const names: Name[] = [];
  walk(layout, new WireReader(rdata), (n) => names.push(n), () => {});
  return names;
}
