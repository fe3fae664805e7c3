/**
 * Finding the TSIG record in raw messages (RFC 8945 §5.1: last record of the additional section, only
 * one, class ANY, TTL 0), and what counts as malformed.
 */
import { describe, expect, it } from "vitest";
import { RRClass, RRType } from "../constants.ts";
import { Name } from "../name.ts";
import { WireWriter } from "../wire/writer.ts";
import { TsigError } from "./errors.ts";
import type { TsigRecord } from "./record.ts";
import { findTsig, readTimeBytes, readTsigAt, timeBytes, unsignedParts, writeTsigRecord } from "./record.ts";
import { aRecord, buildMessage } from "./testing.ts";

const record = (over: Partial<TsigRecord> = {}): TsigRecord => ({
  keyName: Name.parse("Key.Example."),
  algorithmName: Name.parse("hmac-sha256."),
  timeSigned: 1_700_000_000,
  fudge: 300,
  mac: new Uint8Array(32).fill(7),
  originalId: 0x1234,
  error: 0,
  otherData: new Uint8Array(0),
  ...over,
});

/** A message with `rrs` extra records after a question; `tsigAt` lists which of them are TSIG. */
function message(opts: { sections: [number, number, number]; tsigAt: number[]; cls?: number; ttl?: number; trailing?: number }): Uint8Array {
  const [an, ns, ar] = opts.sections;
  const w = new WireWriter();
  w.u16(0x1234);
  w.u16(0x8400);
  w.u16(1);
  w.u16(an);
  w.u16(ns);
  w.u16(ar);
  w.name(Name.parse("example.com."));
  w.u16(RRType.SOA);
  w.u16(RRClass.IN);
  for (let i = 0; i < an + ns + ar; i++) {
    if (opts.tsigAt.includes(i)) {
      const start = w.length;
      writeTsigRecord(w, record());
      if (opts.cls !== undefined || opts.ttl !== undefined) {
        const bytes = w.finish();
        const view = new DataView(bytes.buffer);
        const typeAt = start + Name.parse("Key.Example.").wireLength;
        if (opts.cls !== undefined) view.setUint16(typeAt + 2, opts.cls);
        if (opts.ttl !== undefined) view.setUint32(typeAt + 4, opts.ttl);
        const w2 = new WireWriter();
        w2.bytes(bytes);
        return w2.finish();
      }
    } else {
      w.name(Name.parse(`r${i}.example.com.`));
      w.u16(RRType.A);
      w.u16(RRClass.IN);
      w.u32(60);
      w.u16(4);
      w.u32(0x0a000001);
    }
  }
  for (let i = 0; i < (opts.trailing ?? 0); i++) w.u8(0);
  return w.finish();
}

describe("findTsig", () => {
  it.each([
    { case: "no TSIG", sections: [2, 0, 1] as const, tsigAt: [], found: false },
    { case: "TSIG alone in additional", sections: [0, 0, 1] as const, tsigAt: [0], found: true },
    { case: "TSIG last after other additional records", sections: [1, 1, 3] as const, tsigAt: [4], found: true },
  ])("$case", ({ sections, tsigAt, found }) => {
    const located = findTsig(message({ sections: [...sections], tsigAt }));
    expect(located !== undefined).toBe(found);
    if (located) {
      expect(located.record).toEqual(record());
      expect(located.record.keyName.toString()).toBe("Key.Example."); // case kept as sent
    }
  });

  it.each([
    { case: "TSIG in the answer section", sections: [1, 0, 0] as const, tsigAt: [0], text: /not the last record/ },
    { case: "TSIG not last in additional", sections: [0, 0, 2] as const, tsigAt: [0], text: /not the last record/ },
    { case: "two TSIG records", sections: [0, 0, 2] as const, tsigAt: [0, 1], text: /not the last record/ },
    { case: "class IN", sections: [0, 0, 1] as const, tsigAt: [0], cls: RRClass.IN, text: /class 1 and TTL 0/ },
    { case: "TTL 60", sections: [0, 0, 1] as const, tsigAt: [0], ttl: 60, text: /class 255 and TTL 60/ },
    { case: "octets after the last record", sections: [0, 0, 1] as const, tsigAt: [0], trailing: 3, text: /3 octet\(s\) after/ },
  ])("malformed: $case", ({ sections, tsigAt, cls, ttl, trailing, text }) => {
    const m = message({ sections: [...sections], tsigAt, cls, ttl, trailing });
    expect(() => findTsig(m)).toThrow(TsigError);
    expect(() => findTsig(m)).toThrow(text);
  });

  it("never throws anything but TsigError on truncated or random input", () => {
    const m = message({ sections: [1, 0, 1], tsigAt: [1] });
    for (let cut = 0; cut < m.length; cut++) {
      try {
        findTsig(m.subarray(0, cut));
      } catch (err) {
        expect(err).toBeInstanceOf(TsigError);
      }
    }
    let seed = 1;
    for (let i = 0; i < 2000; i++) {
      const junk = m.slice();
      for (let j = 0; j < 3; j++) {
        seed = (seed * 1103515245 + 12345) >>> 0;
        junk[seed % junk.length] = seed >>> 24;
      }
      try {
        findTsig(junk);
      } catch (err) {
        expect(err).toBeInstanceOf(TsigError);
      }
    }
  });
});

describe("readTsigAt (the offset a message decoder found)", () => {
  it("reads the same record findTsig finds", () => {
    const m = message({ sections: [1, 1, 3], tsigAt: [4] });
    const found = findTsig(m)!;
    expect(readTsigAt(m, found.offset)).toEqual(found);
  });

  it.each([
    { case: "an offset that is not a TSIG record", shift: -19, text: /not TSIG|unreadable/ },
    { case: "an offset past the end", shift: 1000, text: /unreadable/ },
    { case: "an offset inside the TSIG record", shift: 5, text: /unreadable|not TSIG|does not end/ },
  ])("malformed: $case", ({ shift, text }) => {
    const m = message({ sections: [0, 0, 2], tsigAt: [1] });
    const at = findTsig(m)!.offset + shift;
    expect(() => readTsigAt(m, at)).toThrow(TsigError);
    expect(() => readTsigAt(m, at)).toThrow(text);
  });

  it("refuses a TSIG record that does not end the message", () => {
    const m = message({ sections: [0, 0, 1], tsigAt: [0], trailing: 2 });
    expect(() => readTsigAt(m, 12 + 17)).toThrow(/does not end the message/);
  });
});

describe("unsignedParts", () => {
  it("restores the original ID and decrements ARCOUNT without touching the message", () => {
    const m = message({ sections: [0, 0, 2], tsigAt: [1] });
    m[0] = 0xab; // a forwarder's new ID
    const located = findTsig(m)!;
    const [header, rest] = unsignedParts(m, located);
    expect([header[0], header[1], header[10], header[11]]).toEqual([0x12, 0x34, 0, 1]);
    expect(m[0]).toBe(0xab);
    expect(rest.length).toBe(located.offset - 12);
  });
});

describe("48-bit times", () => {
  it.each([0, 1, 1_700_000_000, 2 ** 32 - 1, 2 ** 32, 2 ** 48 - 1])("%d round-trips through six octets", (t) => {
    expect(readTimeBytes(timeBytes(t))).toBe(t);
  });

  it("other lengths are not a time", () => {
    expect(readTimeBytes(new Uint8Array(4))).toBeUndefined();
  });
});

describe("test messages", () => {
  it("buildMessage writes what findTsig walks", () => {
    const m = buildMessage({ id: 1, flags: 0, answers: [aRecord("a.example", "192.0.2.1")] });
    expect(findTsig(m)).toBeUndefined();
  });
});
