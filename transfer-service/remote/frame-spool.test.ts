/**
 * @module The transfer spool: order is kept across memory and disk, whatever the interleaving of arrivals
 * and reads; failures and the end of the stream come through.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FrameSpool } from "./frame-spool.ts";

/** Frame i: 3 + (i % 500) octets, first two holding i. */
const frameOf = (i: number) => {
  const f = new Uint8Array(3 + (i % 500));
  f[0] = i >> 8;
  f[1] = i & 0xff;
  return f;
};
const idOf = (f: Uint8Array) => (f[0]! << 8) | f[1]!;

describe("FrameSpool", () => {
  it.each([
    { name: "all arrive before any read", batches: [[0, 300]], memoryFrames: 8 },
    { name: "arrivals and reads interleave", batches: [[0, 20], [20, 50], [50, 51], [51, 400]], memoryFrames: 4 },
    { name: "memory only", batches: [[0, 5]], memoryFrames: 64 },
  ])("keeps order: $name", async ({ batches, memoryFrames }) => {
    const spool = new FrameSpool({ memoryFrames });
    const got: number[] = [];
    for (const [from, to] of batches) {
      spool.push(Array.from({ length: to! - from! }, (_, k) => frameOf(from! + k)));
      // Read about half of what is queued before the next batch arrives.
      for (let k = 0; k < Math.ceil((to! - from!) / 2); k++) got.push(idOf((await spool.next())!));
    }
    spool.end();
    for (let f = await spool.next(); f; f = await spool.next()) got.push(idOf(f));
    const total = batches.at(-1)![1]!;
    expect(got).toEqual(Array.from({ length: total }, (_, i) => i));
    if (total > memoryFrames) expect(spool.spooledBytes).toBeGreaterThan(0);
    await spool.close();
  });

  it("keeps order for any interleaving (property)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 30 })), { maxLength: 15 }), async (steps) => {
        const spool = new FrameSpool({ memoryFrames: 3 });
        let pushed = 0;
        const got: number[] = [];
        for (const [add, take] of steps) {
          spool.push(Array.from({ length: add }, () => frameOf(pushed++)));
          for (let k = 0; k < Math.min(take, pushed - got.length); k++) got.push(idOf((await spool.next())!));
        }
        spool.end();
        for (let f = await spool.next(); f; f = await spool.next()) got.push(idOf(f));
        await spool.close();
        expect(got).toEqual(Array.from({ length: pushed }, (_, i) => i));
      }),
      { numRuns: 60, seed: 1995 },
    );
  });

  it("spools in large pieces: frames of up to 64 KiB cross the reader's 1 MiB reads intact, in a few file operations", async () => {
    const spool = new FrameSpool({ memoryFrames: 2 });
    // 150 frames of 40-65 KiB (~8 MB), their bytes a function of their number, in batches as a socket delivers them.
    const big = (i: number) => {
      const f = new Uint8Array(40_000 + ((i * 7919) % 25_535));
      for (let k = 0; k < f.length; k += 997) f[k] = (i + k) & 0xff;
      f[0] = i;
      return f;
    };
    for (let i = 0; i < 150; i += 10) spool.push(Array.from({ length: 10 }, (_, k) => big(i + k)));
    spool.end();
    let n = 0;
    for (let f = await spool.next(); f; f = await spool.next(), n++) expect(Buffer.compare(f, big(n)), `frame ${n}`).toBe(0);
    expect(n).toBe(150);
    // A write per batch and a read per MiB or so, not one write and two reads per frame.
    expect(spool.fileOps).toBeLessThan(40);
    await spool.close();
  });

  it("a failure reaches the reader", async () => {
    const spool = new FrameSpool();
    const pending = spool.next();
    spool.fail(new Error("reset by peer"));
    await expect(pending).rejects.toThrow("reset by peer");
  });
});
