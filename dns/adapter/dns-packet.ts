/**
 * @module The one door to dns-packet (and so the one file in dns/ that may touch Buffer).
 *
 * dns-packet's per-type codecs are used where they are byte-exact, and wrapped so that they take and
 * give Uint8Array, read exactly one rdata (no trailing bytes, no reads past it) and fail with `RdataError`:
 *
 * | type            | dns-packet? | why |
 * |-----------------|-------------|-----|
 * | DS, CDS         | yes         | fixed fields + opaque digest: byte-exact |
 * | TLSA, SMIMEA    | yes         | fixed fields + opaque data: byte-exact |
 * | names (NS, MX, SOA, SRV, RRSIG signer, NSEC next, …) | no | names decode through UTF-8 strings and encode by splitting on dots: label bytes outside ASCII and escaped dots are lost |
 * | HINFO, NAPTR, CAA | no        | character-strings decode through UTF-8 strings: non-UTF-8 octets are lost |
 * | DNSKEY, CDNSKEY | no          | decode throws when the protocol octet is not 3, which is still data we must carry |
 * | SSHFP           | no          | only knows the fingerprint length of hash types 1 and 2 |
 * | NSEC, NSEC3     | no          | names as above; the bitmap goes through mnemonics |
 * | SVCB, HTTPS, NSEC3PARAM, ZONEMD, TSIG, LOC, URI, CSYNC | no | no codec at all |
 *
 * Nor does dns-packet have a presentation (zone-file) format, so text is ours for every type.
 */
import { Buffer } from "node:buffer";
import dnsPacket from "dns-packet";
import { RdataError } from "../rdata/rdata-error.ts";

/** dns-packet's per-type codec: `decode` reads RDLENGTH and the rdata, `encode` writes both. */
interface PacketRdataCodec<V> {
  encode(value: V): Buffer;
  decode(buf: Buffer, offset?: number): V;
}
interface PacketCodecs {
  ds: PacketRdataCodec<{ keyTag: number; algorithm: number; digestType: number; digest: Buffer }>;
  tlsa: PacketRdataCodec<{ usage: number; selector: number; matchingType: number; certificate: Buffer }>;
}
const codecs = dnsPacket as unknown as PacketCodecs;

/** Runs a dns-packet rdata decoder over exactly `rdata`, with RDLENGTH prepended as dns-packet expects. */
function decodeExact<V>(codec: PacketRdataCodec<V>, rdata: Uint8Array, minLength: number, what: string): V {
  // dns-packet reads fixed fields without checking the length, so short rdata is refused here.
  if (rdata.length < minLength) throw new RdataError("bad-wire", `${what}: rdata of ${rdata.length} octets is too short`);
  const buf = Buffer.alloc(rdata.length + 2);
  buf.writeUInt16BE(rdata.length, 0);
  buf.set(rdata, 2);
  try {
    return codec.decode(buf, 0);
  } catch (err) {
    throw new RdataError("bad-wire", `${what}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function encodeExact<V>(codec: PacketRdataCodec<V>, value: V): Uint8Array {
  const buf = codec.encode(value);
  return new Uint8Array(buf.buffer, buf.byteOffset + 2, buf.length - 2).slice();
}

const toBuffer = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.length);

export interface DsValue {
  keyTag: number;
  algorithm: number;
  digestType: number;
  digest: Uint8Array;
}

export function decodeDs(rdata: Uint8Array): DsValue {
  const v = decodeExact(codecs.ds, rdata, 4, "DS");
  return { keyTag: v.keyTag, algorithm: v.algorithm, digestType: v.digestType, digest: new Uint8Array(v.digest) };
}

export function encodeDs(value: DsValue): Uint8Array {
  return encodeExact(codecs.ds, { ...value, digest: toBuffer(value.digest) });
}

export interface TlsaValue {
  usage: number;
  selector: number;
  matchingType: number;
  data: Uint8Array;
}

export function decodeTlsa(rdata: Uint8Array): TlsaValue {
  const v = decodeExact(codecs.tlsa, rdata, 3, "TLSA");
  return { usage: v.usage, selector: v.selector, matchingType: v.matchingType, data: new Uint8Array(v.certificate) };
}

export function encodeTlsa(value: TlsaValue): Uint8Array {
  return encodeExact(codecs.tlsa, {
    usage: value.usage,
    selector: value.selector,
    matchingType: value.matchingType,
    certificate: toBuffer(value.data),
  });
}
