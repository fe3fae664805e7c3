/**
 * @module The answer slab (`slab.ts`): arrays handed out never overlap and are never written again by the
 * slab, whatever it hands out after them; large arrays get a buffer of their own; `ownCopy` copies a view only.
 */
import { describe, expect, it } from "vitest";
import { ownCopy, ownsBuffer, Slab, SLAB_SIZE } from "./slab.ts";

describe("Slab", () => {
  it("hands out zeroed arrays of the length asked that never overlap, across many slabs", () => {
    const slab = new Slab();
    const taken: Uint8Array[] = [];
    let total = 0;
    for (let i = 0; total < 4 * SLAB_SIZE; i++) {
      const a = slab.take(1 + ((i * 37) % 300));
      expect(a.length).toBe(1 + ((i * 37) % 300));
      expect(a.every((b) => b === 0)).toBe(true);
      a.fill(i & 0xff);
      taken.push(a);
      total += a.length;
    }
    // Each array still holds what was written into it: nothing handed out later wrote over it.
    taken.forEach((a, i) => expect(a.every((b) => b === (i & 0xff))).toBe(true));
    expect(new Set(taken.map((a) => a.buffer)).size).toBeGreaterThan(3);
  });

  it("gives an array larger than a quarter slab a buffer of its own", () => {
    const slab = new Slab();
    const big = slab.take(SLAB_SIZE / 4 + 1);
    expect(ownsBuffer(big)).toBe(true);
    expect(ownsBuffer(slab.take(100))).toBe(false);
  });

  it("refuses a slab too small to be one", () => {
    expect(() => new Slab(100)).toThrow(RangeError);
  });
});

describe("ownCopy", () => {
  it("keeps an array that owns its buffer, and copies a view", () => {
    const own = new Uint8Array([1, 2, 3]);
    expect(ownCopy(own)).toBe(own);
    const view = new Slab().take(3);
    view.set([4, 5, 6]);
    const copy = ownCopy(view);
    expect(copy).not.toBe(view);
    expect(ownsBuffer(copy)).toBe(true);
    expect([...copy]).toEqual([4, 5, 6]);
  });
});
