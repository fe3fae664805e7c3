/**
 * @module dns-packet as an independent oracle: for the types it reads byte-exactly, our codecs give the
 * same octets as dns-packet's encoder and the same fields as its decoder, for any value; and short rdata
 * fails with `RdataError` (dns-packet would read past it). dns-packet is used here only: nothing in dns/
 * depends on it at run time.
 *
 * | type            | oracle? | why |
 * |-----------------|---------|-----|
 * | DS, CDS         | yes     | fixed fields + opaque digest: byte-exact |
 * | TLSA, SMIMEA    | yes     | fixed fields + opaque data: byte-exact |
 * | A               | yes     | four octets, printed as a dotted quad |
 * | TXT             | yes     | character-strings kept as octets (Buffers) |
 * | names (NS, MX, SOA, SRV, RRSIG signer, NSEC next, …) | no | names decode through UTF-8 strings and encode by splitting on dots: label bytes outside ASCII and escaped dots are lost |
 * | HINFO, NAPTR, CAA | no    | character-strings decode through UTF-8 strings: non-UTF-8 octets are lost |
 * | DNSKEY, CDNSKEY | no      | decode throws when the protocol octet is not 3, which is still data we must carry |
 * | SSHFP           | no      | only knows the fingerprint length of hash types 1 and 2 |
 * | NSEC, NSEC3     | no      | names as above; the bitmap goes through mnemonics |
 * | SVCB, HTTPS, NSEC3PARAM, ZONEMD, TSIG, LOC, URI, CSYNC | no | no codec at all |
 *
 * Nor does dns-packet have a presentation (zone-file) format, so text is checked only through our own
 * round trip (round-trip.property.test.ts).
 */
import { Buffer } from "node:buffer";
import dnsPacket from "dns-packet";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RRType } from "../constants.ts";
import { Name } from "../name.ts";
import { codecs, decodeRdata, rdataFromText, rdataToText, RdataError } from "./index.ts";

/** dns-packet's per-type codec: `decode` reads RDLENGTH and the rdata, `encode` writes both. */
interface PacketRdataCodec<V> {
  encode(value: V): Buffer;
  decode(buf: Buffer, offset?: number): V;
}
interface PacketCodecs {
  ds: PacketRdataCodec<{ keyTag: number; algorithm: number; digestType: number; digest: Buffer }>;
  tlsa: PacketRdataCodec<{ usage: number; selector: number; matchingType: number; certificate: Buffer }>;
  a: PacketRdataCodec<string>;
  txt: PacketRdataCodec<Buffer[]>;
}
const oracle = dnsPacket as unknown as PacketCodecs;

/** dns-packet's encoding without its RDLENGTH prefix. */
function packetEncode<V>(codec: PacketRdataCodec<V>, value: V): string {
  return hex(codec.encode(value).subarray(2));
}

/** dns-packet's decoding of exactly `rdata`, with RDLENGTH prepended as it expects. */
function packetDecode<V>(codec: PacketRdataCodec<V>, rdata: Uint8Array): V {
  const buf = Buffer.alloc(rdata.length + 2);
  buf.writeUInt16BE(rdata.length, 0);
  buf.set(rdata, 2);
  return codec.decode(buf, 0);
}

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
const toBuffer = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.length);
const origin = Name.parse("example.");

describe("dns-packet oracle", () => {
  it("DS: same octets as the field codec, both ways", () => {
    const value = fc.record({
      keyTag: fc.integer({ min: 0, max: 0xffff }),
      algorithm: fc.integer({ min: 0, max: 255 }),
      digestType: fc.integer({ min: 0, max: 255 }),
      digest: fc.uint8Array({ maxLength: 64 }),
    });
    fc.assert(
      fc.property(value, (v) => {
        const wire = codecs.ds.encode(v);
        expect(hex(wire)).toBe(packetEncode(oracle.ds, { ...v, digest: toBuffer(v.digest) }));
        const theirs = packetDecode(oracle.ds, wire);
        expect(codecs.ds.decode(wire)).toEqual({ ...theirs, digest: new Uint8Array(theirs.digest) });
        expect(codecs.cds).toBe(codecs.ds);
        // And through the registry, as DS and CDS: text and back gives the same octets.
        for (const type of [RRType.DS, RRType.CDS]) expect(hex(rdataFromText(type, rdataToText(type, wire), origin))).toBe(hex(wire));
      }),
      { seed: 4034, numRuns: 500 },
    );
  });

  it("TLSA: same octets as the field codec, both ways", () => {
    const value = fc.record({
      usage: fc.integer({ min: 0, max: 255 }),
      selector: fc.integer({ min: 0, max: 255 }),
      matchingType: fc.integer({ min: 0, max: 255 }),
      data: fc.uint8Array({ maxLength: 64 }),
    });
    fc.assert(
      fc.property(value, (v) => {
        const wire = codecs.tlsa.encode(v);
        const { data, ...fixed } = v;
        expect(hex(wire)).toBe(packetEncode(oracle.tlsa, { ...fixed, certificate: toBuffer(data) }));
        const { certificate, ...theirs } = packetDecode(oracle.tlsa, wire);
        expect(codecs.tlsa.decode(wire)).toEqual({ ...theirs, data: new Uint8Array(certificate) });
        expect(codecs.smimea).toBe(codecs.tlsa);
        for (const type of [RRType.TLSA, RRType.SMIMEA]) expect(hex(rdataFromText(type, rdataToText(type, wire), origin))).toBe(hex(wire));
      }),
      { seed: 6698, numRuns: 500 },
    );
  });

  it("A: same octets and the same dotted quad", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), (wire) => {
        const text = packetDecode(oracle.a, wire);
        expect(rdataToText(RRType.A, wire)).toBe(text);
        expect(hex(rdataFromText(RRType.A, text, origin))).toBe(packetEncode(oracle.a, text));
      }),
      { seed: 1035, numRuns: 500 },
    );
  });

  it("TXT: same octets as dns-packet, both ways", () => {
    const strings = fc.array(fc.uint8Array({ maxLength: 255 }), { minLength: 1, maxLength: 6 });
    fc.assert(
      fc.property(strings, (v) => {
        const wire = codecs.txt.encode({ strings: v });
        expect(hex(wire)).toBe(packetEncode(oracle.txt, v.map(toBuffer)));
        expect(decodeRdata(RRType.TXT, wire)).toEqual({ strings: packetDecode(oracle.txt, wire).map((b) => new Uint8Array(b)) });
      }),
      { seed: 1464, numRuns: 500 },
    );
  });

  it.each([
    ["DS", () => codecs.ds.decode(Uint8Array.of(1, 2, 3))],
    ["TLSA", () => codecs.tlsa.decode(Uint8Array.of(1, 2))],
    ["DS empty", () => codecs.ds.decode(new Uint8Array(0))],
  ])("%s: short rdata is an RdataError", (_what, run) => {
    expect(run).toThrow(RdataError);
  });
});
