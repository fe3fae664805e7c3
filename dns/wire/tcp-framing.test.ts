/**
 * @module RFC 7766 §8 framing: messages split at every possible point, several per segment, zero length.
 */
import { concatBytes } from "../bytes.ts";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FrameDecoder, FramingError, frame } from "./tcp-framing.ts";

const msg = (n: number, fill: number) => new Uint8Array(n).fill(fill);


describe("frame", () => {
  it.each([
    [1, [0, 1]],
    [12, [0, 12]],
    [256, [1, 0]],
    [65535, [0xff, 0xff]],
  ])("a %d-octet message gets length prefix %j", (n, prefix) => {
    const f = frame(msg(n, 7));
    expect([...f.subarray(0, 2)]).toEqual(prefix);
    expect(f.length).toBe(n + 2);
  });
  it("refuses a message over 65535 octets", () => {
    expect(() => frame(msg(65536, 0))).toThrow(RangeError);
  });
});

describe("FrameDecoder", () => {
  const stream = concatBytes([frame(msg(12, 1)), frame(msg(300, 2)), frame(msg(65535, 3)), frame(msg(13, 4))]);
  const lengths = [12, 300, 65535, 13];

  it.each([
    { name: "all at once", cuts: [] as number[] },
    { name: "one octet of a length prefix", cuts: [1] },
    { name: "between prefix and body", cuts: [2] },
    { name: "inside the second prefix", cuts: [15] },
    { name: "every 1000 octets", cuts: Array.from({ length: 65 }, (_, i) => (i + 1) * 1000) },
  ])("reassembles when cut $name", ({ cuts }) => {
    const d = new FrameDecoder();
    const out: Uint8Array[] = [];
    let from = 0;
    for (const cut of [...cuts, stream.length]) {
      out.push(...d.push(stream.subarray(from, cut)));
      from = cut;
    }
    expect(out.map((m) => m.length)).toEqual(lengths);
    expect(out.map((m) => m[0])).toEqual([1, 2, 3, 4]);
    expect(d.pending).toBe(0);
  });

  it("reassembles for any split points (property)", () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 20 }), (raw) => {
        const cuts = [...raw].sort((a, b) => a - b);
        const d = new FrameDecoder();
        const out: number[] = [];
        let from = 0;
        for (const cut of [...cuts, stream.length]) {
          out.push(...d.push(stream.subarray(from, cut)).map((m) => m.length));
          from = cut;
        }
        expect(out).toEqual(lengths);
      }),
      { numRuns: 200 },
    );
  });

  it("returned messages are copies that later input does not change", () => {
    const d = new FrameDecoder();
    const buf = frame(msg(12, 9));
    const [m] = d.push(buf);
    buf.fill(0);
    expect(m![0]).toBe(9);
  });

  it("a zero length prefix is a broken stream", () => {
    const d = new FrameDecoder();
    expect(() => d.push(new Uint8Array([0, 0, 1, 2]))).toThrow(FramingError);
  });

  it("keeps a partial message pending", () => {
    const d = new FrameDecoder();
    expect(d.push(frame(msg(100, 5)).subarray(0, 50))).toEqual([]);
    expect(d.pending).toBe(50);
  });
});
