import { describe, expect, it } from "vitest";
import { Name } from "../name.ts";
import { WireError, WireReader } from "./reader.ts";
import { WireOverflow, WireWriter } from "./writer.ts";
import { asciiLower } from "../name.ts";
import { prng } from "../testing/prng.ts";

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

  it("reset empties it for a new message with a new limit, and setMaxSize moves the limit", () => {
    const w = new WireWriter({ maxSize: 100 });
    w.name(n("www.example.org."));
    w.reset(20);
    expect(w.length).toBe(0);
    expect(w.maxSize).toBe(20);
    // No target left from before the reset: the name is written in full, not as a pointer.
    w.name(n("example.org."));
    expect(w.length).toBe(13);
    expect(() => w.bytes(new Uint8Array(8))).toThrowError(WireOverflow);
    w.setMaxSize(21);
    w.bytes(new Uint8Array(8));
    expect(w.length).toBe(21);
    expect(() => w.setMaxSize(10)).toThrowError(RangeError);
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

/**
 * The compression as it was written before issue 27's session 8 (a string per suffix in a Map), kept here as
 * the reference the writer's numeric targets must match octet for octet.
 */
class ReferenceWriter {
  readonly out: number[] = [];
  private readonly targets = new Map<string, number>();
  constructor(private readonly exact: boolean) {}
  name(name: Name): void {
    const labels = name.labels;
    const keys: string[] = [];
    let acc = "";
    for (let i = labels.length - 1; i >= 0; i--) {
      let key = String.fromCharCode(labels[i]!.length);
      for (const b of labels[i]!) key += String.fromCharCode(this.exact ? b : asciiLower(b));
      acc = key + acc;
      keys[i] = acc;
    }
    for (let i = 0; i < labels.length; i++) {
      const target = this.targets.get(keys[i]!);
      if (target !== undefined) {
        this.out.push(0xc0 | (target >> 8), target & 0xff);
        return;
      }
      const at = this.out.length;
      this.out.push(labels[i]!.length, ...labels[i]!);
      if (at <= 0x3fff) this.targets.set(keys[i]!, at);
    }
    this.out.push(0);
  }
  bytes(n: number): void {
    for (let i = 0; i < n; i++) this.out.push(0xee);
  }
  rollback(mark: number): void {
    this.out.length = mark;
    for (const [key, offset] of this.targets) if (offset >= mark) this.targets.delete(key);
  }
}

describe("WireWriter compression against the reference", () => {
  const spell = (random: () => number, word: string): string => [...word].map((c) => (random() < 0.3 ? c.toUpperCase() : c)).join("");
  for (const exact of [false, true]) {
    it(`writes the same octets as the string-keyed compression it replaced (${exact ? "preserveCase" : "ignoring case"}), past 0x3FFF and through rollbacks`, () => {
      let longest = 0;
      // One writer for every seed, emptied by `reset` (as encodeMessage's): what a message left behind (its
      // targets, its index past 24 of them) must not show in the next.
      const reused = new WireWriter({ preserveCase: exact });
      for (let seed = 1; seed <= 40; seed++) {
        const random = prng(seed);
        const words = ["a", "b", "www", "mail", "ns1", "example", "com", "org", "z100000-1", "bench", "x".repeat(40)];
        const w = seed % 2 === 0 ? new WireWriter({ preserveCase: exact }) : reused;
        w.reset(65535);
        const ref = new ReferenceWriter(exact);
        // Marks between names, as encoders mark between records.
        const marks: number[] = [0];
        for (let step = 0; step < 3000; step++) {
          const r = random();
          if (r < 0.02) {
            const filler = Math.floor(random() * 1500);
            w.bytes(new Uint8Array(filler).fill(0xee));
            ref.bytes(filler);
          } else if (r < 0.03) {
            const mark = marks[Math.floor(random() * marks.length)]!;
            w.rollback(mark);
            ref.rollback(mark);
            while (marks[marks.length - 1]! > mark) marks.pop();
          } else {
            const depth = 1 + Math.floor(random() * 5);
            const labels = Array.from({ length: depth }, () => spell(random, words[Math.floor(random() * words.length)]!));
            const name = Name.parse(`${labels.join(".")}.`);
            w.name(name);
            ref.name(name);
          }
          marks.push(w.length);
          longest = Math.max(longest, w.length);
          if (w.length > 0x6000) break;
        }
        expect([...w.finish()], `seed ${seed}`).toEqual(ref.out);
      }
      // Some messages went past where pointers reach.
      expect(longest).toBeGreaterThan(0x3fff + 600);
    });
  }
});

describe("WireReader names", () => {
  it("reads random names of any octets back label for label, through pointers, each label an array of its own", () => {
    const random = prng(27);
    const names: Name[] = [];
    for (let i = 0; i < 400; i++) {
      // Suffixes of earlier names now and then, so the writer points into them.
      const base = names.length > 0 && random() < 0.5 ? names[Math.floor(random() * names.length)]!.labels : [];
      const labels = Array.from({ length: 1 + Math.floor(random() * 3) }, () => Uint8Array.from({ length: 1 + Math.floor(random() * 63) }, () => Math.floor(random() * 256)));
      let wire = 1;
      names.push(Name.fromLabels([...labels, ...base].filter((l) => (wire += l.length + 1) <= 255)));
    }
    const w = new WireWriter({ preserveCase: true, maxSize: 0xffff });
    for (const name of names) w.name(name);
    const r = new WireReader(w.finish());
    for (const name of names) {
      const read = r.name();
      expect(read.labels.map((l) => Buffer.from(l).toString("hex"))).toEqual(name.labels.map((l) => Buffer.from(l).toString("hex")));
      // A label holds no more than itself: keeping one alive keeps no other octets.
      for (const label of read.labels) expect([label.byteOffset, label.buffer.byteLength]).toEqual([0, label.length]);
    }
    expect(r.remaining).toBe(0);
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
