import { describe, expect, it } from "vitest";
import { Opcode, Rcode } from "./constants.ts";
import { type Flags, type Header, HEADER_LENGTH, decodeHeader, noFlags, packFlagsWord, setCounts, setTruncatedBit, unpackFlagsWord, writeHeader } from "./header.ts";
import { WireError } from "./wire/reader.ts";
import { WireWriter } from "./wire/writer.ts";

const f = (...set: Array<keyof Flags>): Flags => {
  const flags = noFlags();
  for (const k of set) flags[k] = true;
  return flags;
};

describe("header flags word (RFC 1035 §4.1.1, RFC 4035 §3.2)", () => {
  // [what, second 16-bit word as seen on the wire, opcode, flags, rcode]
  const cases: Array<[label: string, word: number, opcode: number, flags: Flags, rcode: number]> = [
    ["plain query with RD", 0x0100, Opcode.QUERY, f("rd"), Rcode.NOERROR],
    ["dig's default query (RD, AD)", 0x0120, Opcode.QUERY, f("rd", "ad"), Rcode.NOERROR],
    ["authoritative answer", 0x8400, Opcode.QUERY, f("qr", "aa"), Rcode.NOERROR],
    ["recursive answer", 0x8180, Opcode.QUERY, f("qr", "rd", "ra"), Rcode.NOERROR],
    ["NXDOMAIN", 0x8403, Opcode.QUERY, f("qr", "aa"), Rcode.NXDOMAIN],
    ["truncated answer", 0x8600, Opcode.QUERY, f("qr", "aa", "tc"), Rcode.NOERROR],
    ["CD set", 0x0110, Opcode.QUERY, f("rd", "cd"), Rcode.NOERROR],
    ["reserved Z bit kept", 0x0040, Opcode.QUERY, f("z"), Rcode.NOERROR],
    ["NOTIFY (RFC 1996)", 0x2400, Opcode.NOTIFY, f("aa"), Rcode.NOERROR],
    ["NOTIFY response", 0xa400, Opcode.NOTIFY, f("qr", "aa"), Rcode.NOERROR],
    ["UPDATE refused", 0xa805, Opcode.UPDATE, f("qr"), Rcode.REFUSED],
    ["STATUS, NOTIMP", 0x9004, Opcode.STATUS, f("qr"), Rcode.NOTIMP],
    ["IQUERY (obsolete)", 0x0800, Opcode.IQUERY, f(), Rcode.NOERROR],
    ["DSO (RFC 8490)", 0x3000, Opcode.DSO, f(), Rcode.NOERROR],
    ["unassigned opcode 15, rcode 15", 0xf80f, 15, f("qr"), 15],
    ["every bit", 0xffff, 15, f("qr", "aa", "tc", "rd", "ra", "z", "ad", "cd"), 15],
  ];
  it.each(cases)("%s: 0x%s", (_label, word, opcode, flags, rcode) => {
    expect(packFlagsWord(opcode, flags, rcode)).toBe(word);
    expect(unpackFlagsWord(word)).toEqual({ opcode, flags, rcode });
  });

  it("round-trips every opcode with every header rcode", () => {
    for (let opcode = 0; opcode < 16; opcode++) {
      for (let rcode = 0; rcode < 16; rcode++) {
        const back = unpackFlagsWord(packFlagsWord(opcode, f("qr"), rcode));
        expect([back.opcode, back.rcode, back.flags.qr]).toEqual([opcode, rcode, true]);
      }
    }
  });
});

describe("header read/write", () => {
  const header: Header = { id: 0xbeef, opcode: Opcode.NOTIFY, flags: f("aa"), rcode: 0, qdcount: 1, ancount: 2, nscount: 3, arcount: 4 };

  it("writes 12 octets in network order and reads them back", () => {
    const w = new WireWriter();
    writeHeader(w, header);
    const wire = w.finish();
    expect(Array.from(wire)).toEqual([0xbe, 0xef, 0x24, 0x00, 0, 1, 0, 2, 0, 3, 0, 4]);
    expect(decodeHeader(wire)).toEqual(header);
  });

  it("patches counts and TC in place", () => {
    const w = new WireWriter();
    writeHeader(w, { ...header, qdcount: 0, ancount: 0, nscount: 0, arcount: 0 });
    setCounts(w, 1, 0x102, 0, 0xffff);
    const wire = w.finish();
    expect(decodeHeader(wire)).toMatchObject({ qdcount: 1, ancount: 0x102, nscount: 0, arcount: 0xffff });
    setTruncatedBit(wire, true);
    expect(decodeHeader(wire).flags).toEqual(f("aa", "tc"));
    setTruncatedBit(wire, false);
    expect(decodeHeader(wire).flags).toEqual(f("aa"));
  });

  const short: Array<[length: number]> = [[0], [1], [11]];
  it.each(short)("rejects a %d-octet header with a typed error", (length) => {
    expect(() => decodeHeader(new Uint8Array(length))).toThrowError(WireError);
    expect(() => setTruncatedBit(new Uint8Array(length), true)).toThrowError(WireError);
  });

  it("reads the header of a message whose body is garbage (for FORMERR answers)", () => {
    const wire = new Uint8Array(HEADER_LENGTH + 3).fill(0xff);
    wire.set([0x12, 0x34, 0x00, 0x00]);
    expect(decodeHeader(wire)).toMatchObject({ id: 0x1234, opcode: 0, qdcount: 0xffff });
  });

  const badFields: Array<[label: string, over: Partial<Header>]> = [
    ["id above 65535", { id: 0x10000 }],
    ["negative id", { id: -1 }],
    ["opcode above 15", { opcode: 16 }],
    ["header rcode above 15", { rcode: 16 }],
    ["fractional id", { id: 1.5 }],
  ];
  it.each(badFields)("refuses to write a header with %s", (_label, over) => {
    expect(() => writeHeader(new WireWriter(), { ...header, ...over })).toThrowError(RangeError);
  });
});
