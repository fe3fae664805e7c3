/**
 * @module The rdata registry: one codec per known type, and RFC 3597 generic `\# len hex` for all others.
 *
 * The contract that keeps a secondary honest: rdata bytes are the truth and are stored and forwarded
 * unchanged. Text is a view of them. `rdataToText` prints a type's own format only when parsing that
 * format back gives the very same bytes (checked by re-encoding); otherwise (unknown type, a LOC version
 * we do not know, an NSEC bitmap with a needless zero octet, …) it prints the generic form, which BIND and
 * Knot accept for any type (RFC 3597 §5).
 */
import { RRType } from "../constants.ts";
import type { Name } from "../name.ts";
import { a, aaaa } from "./address.ts";
import { caa } from "./caa.ts";
import type { RdataCodec } from "./codec.ts";
import { openpgpkey, smimea, sshfp, tlsa } from "./dane.ts";
import { cdnskey, cds, csync, dnskey, ds, nsec, nsec3, nsec3param, nxt, rrsig, sig, zonemd } from "./dnssec.ts";
import { cname, dname, ns, ptr } from "./domain-name.ts";
import { genericFromText, genericToText, isGeneric } from "./generic.ts";
import { loc } from "./loc.ts";
import { minfo, px, rp } from "./name-pair.ts";
import { afsdb, kx, mx, rt } from "./preference-name.ts";
import { RdataError } from "./rdata-error.ts";
import { naptr, srv, uri } from "./service.ts";
import { soa } from "./soa.ts";
import { https, svcb } from "./svcb.ts";
import { hinfo, spf, txt } from "./text.ts";
import { tokenize, type Token } from "./token.ts";

export { RdataError } from "./rdata-error.ts";
export type { RdataCodec } from "./codec.ts";
export type { Token } from "./token.ts";
export { tokenize } from "./token.ts";
export { canonicalRdata, lowercasedInCanonicalForm, mayCompress, mustDecompress, namesInRdata } from "./embedded-names.ts";

/** Every codec by type number. The values' shapes are each codec's own (see the family files). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a heterogeneous registry; callers that want a typed value use the codec itself.
const CODECS = new Map<number, RdataCodec<any>>([
  [RRType.A, a],
  [RRType.AAAA, aaaa],
  [RRType.NS, ns],
  [RRType.CNAME, cname],
  [RRType.DNAME, dname],
  [RRType.PTR, ptr],
  [RRType.SOA, soa],
  [RRType.MX, mx],
  [RRType.AFSDB, afsdb],
  [RRType.RT, rt],
  [RRType.KX, kx],
  [RRType.RP, rp],
  [RRType.MINFO, minfo],
  [RRType.PX, px],
  [RRType.TXT, txt],
  [RRType.SPF, spf],
  [RRType.HINFO, hinfo],
  [RRType.SRV, srv],
  [RRType.NAPTR, naptr],
  [RRType.URI, uri],
  [RRType.CAA, caa],
  [RRType.SSHFP, sshfp],
  [RRType.TLSA, tlsa],
  [RRType.SMIMEA, smimea],
  [RRType.OPENPGPKEY, openpgpkey],
  [RRType.LOC, loc],
  [RRType.SVCB, svcb],
  [RRType.HTTPS, https],
  [RRType.DS, ds],
  [RRType.CDS, cds],
  [RRType.DNSKEY, dnskey],
  [RRType.CDNSKEY, cdnskey],
  [RRType.RRSIG, rrsig],
  [RRType.SIG, sig],
  [RRType.NSEC, nsec],
  [RRType.NXT, nxt],
  [RRType.NSEC3, nsec3],
  [RRType.NSEC3PARAM, nsec3param],
  [RRType.ZONEMD, zonemd],
  [RRType.CSYNC, csync],
]);

export const codecs = {
  a, aaaa, ns, cname, dname, ptr, soa, mx, afsdb, rt, kx, rp, minfo, px, txt, spf, hinfo, srv, naptr, uri, caa,
  sshfp, tlsa, smimea, openpgpkey, loc, svcb, https, ds, cds, dnskey, cdnskey, rrsig, sig, nsec, nxt, nsec3,
  nsec3param, zonemd, csync,
};

/** True when `type` has its own presentation format here (otherwise only `\#` is used). */
export function hasCodec(type: number): boolean {
  return CODECS.has(type);
}

/**
 * The structured value of `rdata` (uncompressed wire form) for a known type.
 * @throws RdataError for an unknown type or rdata that does not decode.
 */
export function decodeRdata(type: number, rdata: Uint8Array): unknown {
  const codec = CODECS.get(type);
  if (codec === undefined) throw new RdataError("bad-wire", `no codec for type ${type}`);
  return codec.decode(rdata);
}

/** Inverse of `decodeRdata`. */
export function encodeRdata(type: number, value: unknown): Uint8Array {
  const codec = CODECS.get(type);
  if (codec === undefined) throw new RdataError("bad-wire", `no codec for type ${type}`);
  return codec.encode(value);
}

function sameBytes(x: Uint8Array, y: Uint8Array): boolean {
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** Presentation text of rdata: the type's own format when it is lossless, else `\# len hex`. */
export function rdataToText(type: number, rdata: Uint8Array): string {
  const codec = CODECS.get(type);
  if (codec !== undefined) {
    try {
      const value = codec.decode(rdata);
      if (sameBytes(codec.encode(value), rdata)) return codec.toText(value);
    } catch (err) {
      if (!(err instanceof RdataError)) throw err;
    }
  }
  return genericToText(rdata);
}

/**
 * Rdata from presentation tokens (or a string, tokenized here). Relative names are completed with
 * `origin`. The generic `\#` form is accepted for every type; unknown types accept only it.
 * @throws RdataError naming the token's column (and line, when the tokens carry one).
 */
export function rdataFromText(type: number, tokens: readonly Token[] | string, origin: Name): Uint8Array {
  const list = typeof tokens === "string" ? tokenize(tokens) : tokens;
  if (isGeneric(list)) return genericFromText(list);
  const codec = CODECS.get(type);
  if (codec === undefined) {
    const first = list[0];
    throw new RdataError("bad-text", `type ${type} is unknown here: give its rdata as \\# length hex`, first?.column, first?.line);
  }
  return codec.encode(codec.fromText(list, origin));
}
