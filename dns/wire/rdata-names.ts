/**
 * @module Where domain names sit inside RDATA, for the types whose names may arrive compressed, and the two
 * operations that need it: expanding received RDATA to its uncompressed form, and writing RDATA with
 * compression where that is allowed.
 *
 * RFC 3597 §4:
 * - only the types defined in RFC 1035 are "well-known": their RDATA names MAY be compressed on send, and
 *   receivers MUST decompress them (NS, MD, MF, CNAME, SOA, MB, MG, MR, PTR, MINFO, MX);
 * - receivers SHOULD also decompress RP, AFSDB, RT, SIG, PX, NXT, NAPTR and SRV, whose RFCs once allowed
 *   compression, but senders MUST NOT compress them (nor any other type).
 *
 * Every other type's RDATA is opaque here and copied as-is: later types (RRSIG, NSEC, DNAME, SVCB…) forbid
 * compression, so their names are already in full form on the wire.
 */
import type { Name } from "../name.ts";
import { RRType } from "../constants.ts";
import { WireError, WireReader } from "./reader.ts";
import type { WireWriter } from "./writer.ts";

/** One field of an RDATA layout. */
export type RdataField =
  | { readonly kind: "name" }
  | { readonly kind: "fixed"; readonly length: number }
  | { readonly kind: "character-string" }
  /** Everything to the end of the RDATA (SIG's signature, NXT's type bitmap). */
  | { readonly kind: "rest" };

export interface RdataNameLayout {
  readonly fields: readonly RdataField[];
  /** True for the RFC 1035 types, whose RDATA names a sender may compress. */
  readonly compressible: boolean;
}

const NAME: RdataField = { kind: "name" };
const REST: RdataField = { kind: "rest" };
const CSTR: RdataField = { kind: "character-string" };
const fixed = (length: number): RdataField => ({ kind: "fixed", length });

const rfc1035 = (...fields: RdataField[]): RdataNameLayout => ({ fields, compressible: true });
const decompressOnly = (...fields: RdataField[]): RdataNameLayout => ({ fields, compressible: false });

const LAYOUTS: ReadonlyMap<number, RdataNameLayout> = new Map<number, RdataNameLayout>([
  // RFC 1035 §3.3
  [RRType.NS, rfc1035(NAME)],
  [RRType.MD, rfc1035(NAME)],
  [RRType.MF, rfc1035(NAME)],
  [RRType.CNAME, rfc1035(NAME)],
  [RRType.SOA, rfc1035(NAME, NAME, fixed(20))], // MNAME RNAME SERIAL REFRESH RETRY EXPIRE MINIMUM
  [RRType.MB, rfc1035(NAME)],
  [RRType.MG, rfc1035(NAME)],
  [RRType.MR, rfc1035(NAME)],
  [RRType.PTR, rfc1035(NAME)],
  [RRType.MINFO, rfc1035(NAME, NAME)], // RMAILBX EMAILBX
  [RRType.MX, rfc1035(fixed(2), NAME)], // PREFERENCE EXCHANGE
  // RFC 3597 §4: decompress on receipt, never compress on send.
  [RRType.RP, decompressOnly(NAME, NAME)], // RFC 1183 §2.2: mbox-dname txt-dname
  [RRType.AFSDB, decompressOnly(fixed(2), NAME)], // RFC 1183 §1: subtype hostname
  [RRType.RT, decompressOnly(fixed(2), NAME)], // RFC 1183 §3.3: preference intermediate-host
  // RFC 2535 §4.1: type covered(2) algorithm(1) labels(1) original TTL(4) expiration(4) inception(4)
  // key tag(2), signer's name, signature.
  [RRType.SIG, decompressOnly(fixed(18), NAME, REST)],
  [RRType.PX, decompressOnly(fixed(2), NAME, NAME)], // RFC 2163 §4: PREFERENCE MAP822 MAPX400
  [RRType.NXT, decompressOnly(NAME, REST)], // RFC 2535 §5.2: next domain name, type bitmap
  // RFC 3403 §4.1: ORDER PREFERENCE FLAGS SERVICES REGEXP REPLACEMENT
  [RRType.NAPTR, decompressOnly(fixed(4), CSTR, CSTR, CSTR, NAME)],
  [RRType.SRV, decompressOnly(fixed(6), NAME)], // RFC 2782: priority weight port target
]);

/** The layout of names in `type`'s RDATA, or undefined for a type whose RDATA is opaque here. */
export function rdataNameLayout(type: number): RdataNameLayout | undefined {
  return LAYOUTS.get(type);
}

/** The largest RDATA an RR can carry (RDLENGTH is 16 bits). */
const MAX_RDATA_LENGTH = 0xffff;

/**
 * Reads `rdlength` octets of RDATA of `type` at the reader's position, expanding compressed names, and
 * returns the uncompressed RDATA (a copy, independent of the message). The reader moves past the RDATA.
 *
 * Pointers inside RDATA may point anywhere earlier in the message (the reader's whole buffer), but the RDATA
 * itself must be consumed exactly: RFC 1035 §3.2.1 makes RDLENGTH the length of the field.
 * @throws WireError "truncated" when the layout needs more than RDLENGTH, "trailing-data" when it leaves some
 * over, "inconsistent" when the expanded RDATA would not fit in 65535 octets.
 */
export function readRdata(reader: WireReader, type: number, rdlength: number): Uint8Array {
  const start = reader.offset;
  const end = start + rdlength;
  if (end > reader.end) {
    throw new WireError("truncated", `RDATA of ${rdlength} octets runs past the end`, start);
  }
  const layout = LAYOUTS.get(type);
  if (layout === undefined) {
    reader.offset = end;
    return reader.buf.slice(start, end);
  }
  const sub = new WireReader(reader.buf, start, end);
  const parts: Uint8Array[] = [];
  let total = 0;
  for (const field of layout.fields) {
    let part: Uint8Array;
    switch (field.kind) {
      case "name":
        part = sub.name().toWire();
        break;
      case "fixed":
        part = sub.bytes(field.length);
        break;
      case "character-string": {
        const at = sub.offset;
        sub.characterString();
        part = sub.buf.subarray(at, sub.offset);
        break;
      }
      case "rest":
        part = sub.rest();
        break;
    }
    parts.push(part);
    total += part.length;
  }
  sub.expectEnd(`RDATA of type ${type}`);
  if (total > MAX_RDATA_LENGTH) {
    throw new WireError("inconsistent", `expanded RDATA of ${total} octets exceeds ${MAX_RDATA_LENGTH}`, start);
  }
  const out = new Uint8Array(total);
  let pos = 0;
  for (const part of parts) {
    out.set(part, pos);
    pos += part.length;
  }
  reader.offset = end;
  return out;
}

/**
 * Writes uncompressed `rdata` of `type` (without RDLENGTH), compressing its names when `compress` is set and
 * the type is one of RFC 1035's. Returns the octets written, for RDLENGTH.
 *
 * RDATA that does not match its layout (it was built elsewhere, or is deliberately odd) is written as-is:
 * the uncompressed form is always a valid encoding of itself, so nothing is lost by not compressing it.
 */
export function writeRdata(writer: WireWriter, type: number, rdata: Uint8Array, compress = true): number {
  const start = writer.length;
  const layout = compress ? LAYOUTS.get(type) : undefined;
  const fields = layout?.compressible ? splitRdata(layout, rdata) : undefined;
  if (fields === undefined) {
    writer.bytes(rdata);
  } else {
    for (const f of fields) {
      if (f instanceof Uint8Array) writer.bytes(f);
      else writer.name(f, true);
    }
  }
  return writer.length - start;
}

/**
 * Cuts uncompressed RDATA into its names and the octets between them, or undefined when it does not follow
 * the layout exactly (a compression pointer inside stored RDATA counts as not following it).
 */
function splitRdata(layout: RdataNameLayout, rdata: Uint8Array): Array<Uint8Array | Name> | undefined {
  const r = new WireReader(rdata);
  const out: Array<Uint8Array | Name> = [];
  try {
    for (const field of layout.fields) {
      switch (field.kind) {
        case "name": {
          const at = r.offset;
          const name = r.name();
          if (r.offset - at !== name.wireLength) return undefined;
          out.push(name);
          break;
        }
        case "fixed":
          out.push(r.bytes(field.length));
          break;
        case "character-string": {
          const at = r.offset;
          r.characterString();
          out.push(rdata.subarray(at, r.offset));
          break;
        }
        case "rest":
          out.push(r.rest());
          break;
      }
    }
  } catch (err) {
    if (err instanceof WireError) return undefined;
    throw err;
  }
  return r.remaining === 0 ? out : undefined;
}
