import { describe, expect, it } from "vitest";
import { Name } from "../name.ts";
import { WireError, WireReader } from "./reader.ts";
import { WireOverflow, WireWriter } from "./writer.ts";

const n = (t: string) => Name.parse(t);

describe("WireWriter name compression (RFC 1035 §4.1.4)", () => {
  it("compresses repeated suffixes, ignoring case, and the reader expands them", () => {
    const w = new WireWriter();
    w.u16(0xabcd); // something before, so offsets are not zero
    w.name(n("www.example.com."));
    w.name(n("MAIL.Example.COM."));
    w.name(n("example.com."));
    w.name(n("www.example.com."));
    const wire = w.finish();
    // www.example.com. = 17 octets; mail + pointer = 7; pointer = 2; pointer = 2.
    expect(wire.length).toBe(2 + 17 + 7 + 2 + 2);
    const r = new WireReader(wire, 2);
    expect(r.name().toString()).toBe("www.example.com.");
    expect(r.name().toString()).toBe("MAIL.example.com.");
    expect(r.name().toString()).toBe("example.com.");
    expect(r.name().toString()).toBe("www.example.com.");
    expect(r.remaining).toBe(0);
  });

  it("with preserveCase, compresses only onto suffixes written with the same octets", () => {
    const w = new WireWriter({ preserveCase: true });
    w.name(n("www.example.com."));
    w.name(n("MAIL.Example.COM."));
    w.name(n("mail.example.com."));
    const wire = w.finish();
    // 17 in full; MAIL.Example.COM. shares no exact suffix, so 18 in full; mail + pointer = 7.
    expect(wire.length).toBe(17 + 18 + 7);
    const r = new WireReader(wire);
    expect([r.name(), r.name(), r.name()].map(String)).toEqual(["www.example.com.", "MAIL.Example.COM.", "mail.example.com."]);
  });

  it("writes uncompressed and lowercased names when asked", () => {
    const w = new WireWriter();
    w.name(n("A.b."));
    w.name(n("A.b."), false, true);
    expect([...w.finish()]).toEqual([1, 0x41, 1, 0x62, 0, 1, 0x61, 1, 0x62, 0]);
  });

  it("never points at offsets above 0x3FFF", () => {
    const w = new WireWriter();
    w.bytes(new Uint8Array(0x4000));
    w.name(n("far.example."));
    w.name(n("far.example."));
    const wire = w.finish();
    expect(wire.length).toBe(0x4000 + 2 * 13);
  });

  it("rolls back writes and compression targets", () => {
    const w = new WireWriter({ maxSize: 40 });
    w.name(n("keep.example."));
    const mark = w.mark();
    w.name(n("dropped.other."));
    w.rollback(mark);
    w.name(n("dropped.other."));
    // Had the rolled-back target survived, this would be a 2-octet pointer to garbage.
    expect(w.length).toBe(14 + 15);
    expect(() => w.bytes(new Uint8Array(20))).toThrowError(WireOverflow);
    expect(w.length).toBe(29);
  });
});

describe("WireReader bad input", () => {
  const cases: Array<[label: string, bytes: number[], offset: number, code: WireError["code"]]> = [
    ["empty", [], 0, "truncated"],
    ["label past end", [5, 0x61, 0x62], 0, "truncated"],
    ["no terminator", [1, 0x61], 0, "truncated"],
    ["pointer to itself", [0xc0, 0x00], 0, "bad-pointer"],
    ["forward pointer", [0xc0, 0x02, 0x00], 0, "bad-pointer"],
    ["pointer cut short", [0xc0], 0, "truncated"],
    ["two-step loop", [1, 0x61, 0xc0, 0x00, 0xc0, 0x00], 4, "bad-pointer"],
    ["extended label type", [0x41, 0x00], 0, "bad-label-type"],
    ["reserved label type", [0x80, 0x00], 0, "bad-label-type"],
  ];
  it.each(cases)("%s → %s", (_label, bytes, offset, code) => {
    const r = new WireReader(Uint8Array.from(bytes), offset);
    expect(() => r.name()).toThrowError(WireError);
    try {
      new WireReader(Uint8Array.from(bytes), offset).name();
    } catch (err) {
      expect((err as WireError).code).toBe(code);
    }
  });

  it("rejects names over 255 octets built from pointers", () => {
    // A chain of 63-octet labels each pointing back to the previous one: 5 × 64 > 255.
    const bytes: number[] = [0];
    let prev = 0;
    for (let i = 0; i < 5; i++) {
      const at = bytes.length;
      bytes.push(63, ...new Array<number>(63).fill(0x61), 0xc0 | (prev >> 8), prev & 0xff);
      prev = at;
    }
    const r = new WireReader(Uint8Array.from(bytes), prev);
    expect(() => r.name()).toThrowError(/exceeds 255/);
  });

  it("bounds integers and byte runs, and confines reads to `end`", () => {
    const r = new WireReader(Uint8Array.from([1, 2, 3, 4, 5]), 0, 3);
    expect(r.u16()).toBe(0x0102);
    expect(() => r.u16()).toThrowError(WireError);
    expect(r.u8()).toBe(3);
    expect(() => r.bytes(1)).toThrowError(WireError);
    expect(() => new WireReader(Uint8Array.from([1, 2])).expectEnd()).toThrowError(/left over/);
  });
});
