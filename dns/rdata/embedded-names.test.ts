/**
 * @module Names inside rdata: which types are decompressed on receipt and compressed on sending
 * (RFC 3597 §4), and which are lowercased in canonical form (RFC 4034 §6.2, RFC 6840 §5.1).
 */
import { describe, expect, it } from "vitest";
import { RRType, typeFromString } from "../constants.ts";
import { Name } from "../name.ts";
import { WireWriter } from "../wire/writer.ts";
import { toBase16 } from "./base16.ts";
import { WireReader } from "../wire/reader.ts";
import { readRdata, writeRdata } from "../wire/rdata-names.ts";
import { canonicalRdata, lowercasedInCanonicalForm, mayCompress, mustDecompress, namesInRdata, rdataFromText, rdataToText } from "./index.ts";

/** Reads the rdata at `offset` back out of a message, as the message decoder does. */
function expandRdata(type: number, message: Uint8Array, offset: number, length: number): Uint8Array {
  return readRdata(new WireReader(message, offset), type, length);
}

const origin = Name.parse("example.com.");

/** [type, rdata text, compressed when sent, decompressed when received, lowercased in canonical form]. */
const RULES: Array<[string, string, boolean, boolean, boolean]> = [
  ["NS", "NS1.Example.COM.", true, true, true],
  ["CNAME", "Www.Example.COM.", true, true, true],
  ["SOA", "NS1.Example.COM. Host.Example.COM. 1 2 3 4 5", true, true, true],
  ["MX", "10 Mail.Example.COM.", true, true, true],
  ["PTR", "Host.Example.COM.", true, true, true],
  ["MINFO", "A.Example.COM. B.Example.COM.", true, true, true],
  ["RP", "A.Example.COM. B.Example.COM.", false, true, true],
  ["AFSDB", "1 A.Example.COM.", false, true, true],
  ["RT", "1 A.Example.COM.", false, true, true],
  ["PX", "1 A.Example.COM. B.Example.COM.", false, true, true],
  ["SRV", "1 2 3 A.Example.COM.", false, true, true],
  ["NAPTR", '1 2 "S" "SIP+D2U" "" A.Example.COM.', false, true, true],
  ["NXT", "A.Example.COM. A NS", false, true, true],
  ["SIG", "A 1 2 3 4 5 6 A.Example.COM. AQID", false, true, true],
  ["KX", "1 A.Example.COM.", false, false, true],
  ["DNAME", "A.Example.COM.", false, false, true],
  ["RRSIG", "A 1 2 3 4 5 6 A.Example.COM. AQID", false, false, true],
  ["NSEC", "A.Example.COM. A NS", false, false, false], // RFC 6840 §5.1
  ["SVCB", "1 A.Example.COM.", false, false, false],
  ["TXT", '"Example.COM."', false, false, false],
];

/** A message with `example.com.` at offset 0, then the record's rdata written with compression. */
function messageWithRdata(type: number, rdata: Uint8Array): { message: Uint8Array; offset: number } {
  const w = new WireWriter();
  w.name(origin);
  const offset = w.length;
  writeRdata(w, type, rdata, true);
  return { message: w.finish(), offset };
}

describe("names inside rdata", () => {
  it.each(RULES)("%s %s", (typeName, text, compressed, decompressed, lowercased) => {
    const type = typeFromString(typeName)!;
    const rdata = rdataFromText(type, text, origin);

    expect([mayCompress(type), mustDecompress(type), lowercasedInCanonicalForm(type)]).toEqual([compressed, decompressed, lowercased]);
    const { message, offset } = messageWithRdata(type, rdata);
    const written = message.length - offset;
    expect(written < rdata.length).toBe(compressed);
    // A receiver reads the uncompressed rdata back. Compression matches suffixes ignoring case, so a
    // compressed suffix comes back in the case of its first occurrence (here `example.com.`).
    const expanded = expandRdata(type, message, offset, written);
    if (compressed) expect(toBase16(expanded.map((b) => (b >= 0x41 && b <= 0x5a ? b + 32 : b)))).toBe(toBase16(canonicalRdata(type, rdata)));
    else expect(toBase16(expanded)).toBe(toBase16(rdata));

    // Decompression is only for the listed types: elsewhere a pointer-like octet pair is data.
    const pointerOnly = Uint8Array.of(0xc0, 0x00);
    if (!decompressed) {
      expect(toBase16(expandRdata(type, Uint8Array.of(...message.subarray(0, offset), ...pointerOnly), offset, 2))).toBe("C000");
    }

    const names = namesInRdata(type, rdata);
    const canonical = canonicalRdata(type, rdata);
    expect(canonical.length).toBe(rdata.length);
    const expected = lowercased ? names.map((n) => n.lower().toString()) : names.map((n) => n.toString());
    expect(namesInRdata(type, canonical).map((n) => n.toString())).toEqual(expected);
    if (!lowercased) expect(toBase16(canonical)).toBe(toBase16(rdata));
  });

  it("expands a compressed SRV target (RFC 3597 §4) but leaves an unknown type's bytes alone", () => {
    const w = new WireWriter();
    w.name(Name.parse("sip.example.com."));
    const offset = w.length;
    w.u16(10);
    w.u16(20);
    w.u16(5060);
    w.u16(0xc000); // pointer to sip.example.com.
    const message = w.finish();
    expect(rdataToText(RRType.SRV, expandRdata(RRType.SRV, message, offset, 8))).toBe("10 20 5060 sip.example.com.");
    expect(toBase16(expandRdata(65280, message, offset, 8))).toBe("000A001413C4C000");
  });
});
