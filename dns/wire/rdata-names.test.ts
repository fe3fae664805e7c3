import { describe, expect, it } from "vitest";
import { RRType } from "../constants.ts";
import { Name } from "../name.ts";
import { readRdata, rdataNameLayout, writeRdata } from "./rdata-names.ts";
import { WireError, WireReader } from "./reader.ts";
import { WireWriter } from "./writer.ts";

const n = (t: string) => Name.parse(t);
const u8 = (...b: number[]) => Uint8Array.from(b);
type Part = Name | Uint8Array;

/** The uncompressed RDATA from its parts. */
function flat(parts: Part[]): Uint8Array {
  const w = new WireWriter();
  for (const p of parts) {
    if (p instanceof Uint8Array) w.bytes(p);
    else w.name(p, false);
  }
  return w.finish();
}

/**
 * A message fragment where every name was written once before the RDATA, and the RDATA's names are
 * pointers to those: what an old sender (or knotd, for SRV) puts on the wire. Returns the buffer and where
 * the RDATA starts and how long it is.
 */
function compressedInMessage(parts: Part[]): { buf: Uint8Array; start: number; length: number } {
  const w = new WireWriter();
  w.u16(0xabcd);
  for (const p of parts) if (p instanceof Name) w.name(p, true);
  const start = w.length;
  for (const p of parts) {
    if (p instanceof Uint8Array) w.bytes(p);
    else w.name(p, true);
  }
  return { buf: w.finish(), start, length: w.length - start };
}

// [type, RDATA parts in order, compressible on send (RFC 1035 type)]
const cases: Array<[type: keyof typeof RRType, parts: Part[], compressible: boolean]> = [
  ["NS", [n("ns1.example.com.")], true],
  ["MD", [n("md.example.")], true],
  ["MF", [n("mf.example.")], true],
  ["CNAME", [n("target.example.net.")], true],
  ["SOA", [n("ns1.example.com."), n("hostmaster.example.com."), new Uint8Array(20).fill(7)], true],
  ["MB", [n("mb.example.")], true],
  ["MG", [n("mg.example.")], true],
  ["MR", [n("mr.example.")], true],
  ["PTR", [n("host.example.")], true],
  ["MINFO", [n("rmail.example."), n("email.example.")], true],
  ["MX", [u8(0, 10), n("mail.example.com.")], true],
  ["RP", [n("admin.example."), n("info.example.")], false],
  ["AFSDB", [u8(0, 1), n("afs.example.")], false],
  ["RT", [u8(0, 5), n("relay.example.")], false],
  ["SIG", [new Uint8Array(18).fill(3), n("signer.example."), u8(9, 9, 9, 9)], false],
  ["PX", [u8(0, 10), n("map822.example."), n("mapx400.example.")], false],
  ["NXT", [n("next.example."), u8(0x40, 0x01, 0x00, 0x00, 0x00, 0x03)], false],
  ["NAPTR", [u8(0, 100, 0, 10), u8(1, 0x53), u8(7, ...new TextEncoder().encode("SIP+D2U")), u8(0), n("_sip._udp.example.")], false],
  ["SRV", [u8(0, 0, 0, 5, 0x13, 0xc4), n("sip.example.")], false],
];

describe("RDATA name layouts (RFC 1035 §3.3, RFC 3597 §4)", () => {
  it.each(cases)("%s: compressed names are expanded on read", (type, parts) => {
    const { buf, start, length } = compressedInMessage(parts);
    expect(length).toBeLessThan(flat(parts).length); // the fixture really is compressed
    const r = new WireReader(buf, start);
    expect(Array.from(readRdata(r, RRType[type], length))).toEqual(Array.from(flat(parts)));
    expect(r.offset).toBe(start + length);
  });

  it.each(cases)("%s: names are compressed on write only for RFC 1035 types", (type, parts, compressible) => {
    expect(rdataNameLayout(RRType[type])?.compressible).toBe(compressible);
    const w = new WireWriter();
    for (const p of parts) if (p instanceof Name) w.name(p, true);
    const before = w.length;
    const written = writeRdata(w, RRType[type], flat(parts), true);
    expect(written).toBe(w.length - before);
    if (compressible) expect(written).toBeLessThan(flat(parts).length);
    else expect(Array.from(w.finish().subarray(before))).toEqual(Array.from(flat(parts)));
    // And read back, it is the uncompressed RDATA again.
    const r = new WireReader(w.finish(), before);
    expect(Array.from(readRdata(r, RRType[type], written))).toEqual(Array.from(flat(parts)));
  });

  // SIG and NXT end in a field that runs to the end of the RDATA, so their RDLENGTH cannot be "off by one".
  const exact = cases.filter(([type]) => rdataNameLayout(RRType[type])!.fields.at(-1)!.kind !== "rest");
  it.each(exact)("%s: RDLENGTH one short or one long is a typed error", (type, parts) => {
    const rdata = flat(parts);
    const padded = new Uint8Array(rdata.length + 1);
    padded.set(rdata);
    expect(() => readRdata(new WireReader(padded), RRType[type], rdata.length - 1)).toThrowError(WireError);
    expect(() => readRdata(new WireReader(padded), RRType[type], rdata.length + 1)).toThrowError(WireError);
  });

  const opaque: Array<[type: keyof typeof RRType]> = [["A"], ["AAAA"], ["TXT"], ["DNAME"], ["RRSIG"], ["NSEC"], ["SVCB"], ["KX"], ["TSIG"]];
  it.each(opaque)("%s: RDATA is copied as-is, even when it looks like a pointer", (type) => {
    expect(rdataNameLayout(RRType[type])).toBeUndefined();
    const rdata = u8(0xc0, 0x00, 1, 2, 3);
    const r = new WireReader(rdata);
    const out = readRdata(r, RRType[type], rdata.length);
    expect(Array.from(out)).toEqual(Array.from(rdata));
    rdata[2] = 99; // a copy, not a view into the message
    expect(out[2]).toBe(1);
    const w = new WireWriter();
    writeRdata(w, RRType[type], out, true);
    expect(Array.from(w.finish())).toEqual(Array.from(out));
  });

  const bad: Array<[label: string, type: number, buf: number[], start: number, rdlength: number, code: WireError["code"]]> = [
    ["RDLENGTH past the end of the message", RRType.A, [1, 2, 3], 0, 4, "truncated"],
    ["name runs past RDLENGTH", RRType.NS, [3, 0x61, 0x62, 0x63, 0], 0, 3, "truncated"],
    ["forward pointer inside RDATA", RRType.CNAME, [0xc0, 0x02, 0], 0, 2, "bad-pointer"],
    ["pointer to itself", RRType.PTR, [0, 0xc0, 0x01], 1, 2, "bad-pointer"],
    ["MX missing its preference", RRType.MX, [0], 0, 1, "truncated"],
    ["SRV with trailing octets", RRType.SRV, [0, 0, 0, 0, 0, 0, 0, 9], 0, 8, "trailing-data"],
    ["NAPTR string longer than RDATA", RRType.NAPTR, [0, 0, 0, 0, 200, 1, 2], 0, 7, "truncated"],
    ["label type 0x40", RRType.NS, [0x41, 0], 0, 2, "bad-label-type"],
  ];
  it.each(bad)("%s → %s", (_label, type, buf, start, rdlength, code) => {
    let caught: unknown;
    try {
      readRdata(new WireReader(Uint8Array.from(buf), start), type, rdlength);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(WireError);
    expect((caught as WireError).code).toBe(code);
  });

  it("rejects RDATA whose expansion would exceed 65535 octets", () => {
    // A SIG record of 65535 octets whose signer name is a pointer to a long name earlier in the message.
    const signer = n(`${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.`);
    const w = new WireWriter({ maxSize: 0x20000 });
    w.name(signer, true);
    const start = w.length;
    w.bytes(new Uint8Array(18));
    w.name(signer, true);
    w.bytes(new Uint8Array(0xffff - 18 - 2));
    expect(() => readRdata(new WireReader(w.finish(), start), RRType.SIG, 0xffff)).toThrowError(/exceeds 65535/);
  });

  it("writes stored RDATA that breaks its layout verbatim instead of reinterpreting it", () => {
    const odd: Array<[type: number, rdata: Uint8Array]> = [
      [RRType.MX, u8(0, 1, 0xc0, 0x0c)], // a pointer where the uncompressed name should be
      [RRType.SOA, u8(0)], // far too short
      [RRType.NS, u8(1, 0x61, 0, 0xff)], // trailing octet
    ];
    for (const [type, rdata] of odd) {
      const w = new WireWriter();
      w.name(n("a."), true);
      const before = w.length;
      writeRdata(w, type, rdata, true);
      expect(Array.from(w.finish().subarray(before))).toEqual(Array.from(rdata));
    }
  });
});
