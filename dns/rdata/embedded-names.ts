/**
 * @module Which domain names sit inside which rdata, and the rules that depend on it.
 *
 * 1. Decompression on receipt and compression on sending (RFC 3597 §4) live with the wire code, in
 *    dns/wire/rdata-names.ts; `mayCompress` and `mustDecompress` here answer from its table.
 * 2. Canonical form (RFC 4034 §6.2 item 3, as corrected by RFC 6840 §5.1): names in the rdata of NS, MD,
 *    MF, CNAME, SOA, MB, MG, MR, PTR, MINFO, MX, RP, AFSDB, RT, SIG, PX, NXT, NAPTR, KX, SRV, DNAME and
 *    RRSIG are lowercased; NSEC's Next Domain Name is NOT (RFC 6840 §5.1). HINFO is on RFC 4034's list
 *    but holds no names. A6 is on it too, but is historic (RFC 6563) and kept opaque here.
 */
import { RRType } from "../constants.ts";
import type { Name } from "../name.ts";
import { WireReader } from "../wire/reader.ts";
import { rdataNameLayout, type RdataField } from "../wire/rdata-names.ts";
import { WireWriter } from "../wire/writer.ts";

const NAME: RdataField = { kind: "name" };
const REST: RdataField = { kind: "rest" };

/** Types whose names matter only for canonical form: the wire table has no reason to list them. */
const CANONICAL_ONLY = new Map<number, readonly RdataField[]>([
  [RRType.KX, [{ kind: "fixed", length: 2 }, NAME, REST]], // RFC 2230 §3.1: preference exchanger
  [RRType.DNAME, [NAME]], // RFC 6672 §2.1
  [RRType.RRSIG, [{ kind: "fixed", length: 18 }, NAME, REST]], // RFC 4034 §3.1, like SIG
]);

function layoutOf(type: number): readonly RdataField[] | undefined {
  return rdataNameLayout(type)?.fields ?? CANONICAL_ONLY.get(type);
}

/** True when names in this type's rdata may be written compressed (RFC 1035 types, RFC 3597 §4). */
export function mayCompress(type: number): boolean {
  return rdataNameLayout(type)?.compressible === true;
}

/** True when a receiver expands compressed names in this type's rdata (RFC 3597 §4). */
export function mustDecompress(type: number): boolean {
  return rdataNameLayout(type) !== undefined;
}

/** True when this type's rdata names are lowercased in canonical form (RFC 4034 §6.2, RFC 6840 §5.1). */
export function lowercasedInCanonicalForm(type: number): boolean {
  return layoutOf(type) !== undefined;
}

/** Walks uncompressed rdata along a layout, handing each name and each stretch of other octets over. */
function walk(fields: readonly RdataField[], rdata: Uint8Array, onName: (n: Name) => void, onBytes: (b: Uint8Array) => void): void {
  const r = new WireReader(rdata);
  for (const field of fields) {
    switch (field.kind) {
      case "name":
        onName(r.name());
        break;
      case "fixed":
        onBytes(r.bytes(field.length));
        break;
      case "character-string": {
        const at = r.offset;
        r.characterString();
        onBytes(rdata.subarray(at, r.offset));
        break;
      }
      case "rest":
        onBytes(r.rest());
        break;
    }
  }
  r.expectEnd("rdata");
}

/**
 * The canonical form of uncompressed rdata (RFC 4034 §6.2): names lowercased for the listed types,
 * everything else unchanged (and returned as is).
 * @throws WireError when the rdata does not follow its type's layout.
 */
export function canonicalRdata(type: number, rdata: Uint8Array): Uint8Array {
  const fields = layoutOf(type);
  if (fields === undefined) return rdata;
  const w = new WireWriter();
  walk(fields, rdata, (n) => w.name(n, false, true), (b) => w.bytes(b));
  return w.finish();
}

/**
 * The names a record's uncompressed rdata holds, in order (NS hosts, MX exchanges, SRV targets, …), for
 * the types listed above.
 * @throws WireError when the rdata does not follow its type's layout.
 */
export function namesInRdata(type: number, rdata: Uint8Array): Name[] {
  const fields = layoutOf(type);
  if (fields === undefined) return [];
  const names: Name[] = [];
  walk(fields, rdata, (n) => names.push(n), () => {});
  return names;
}
