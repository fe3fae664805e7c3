/** The doorkeeper of replica answers (`asked-once.ts`): first ask no, later asks yes, cleared at capacity. */
import { describe, expect, it } from "vitest";
import { AskedOnce, hashKey } from "./asked-once.ts";

describe("AskedOnce", () => {
  it("says no to a key's first ask and yes to its later ones", () => {
    const asked = new AskedOnce(100);
    expect(asked.askedBefore("a")).toBe(false);
    expect(asked.askedBefore("b")).toBe(false);
    expect(asked.askedBefore("a")).toBe(true);
    expect(asked.askedBefore("a")).toBe(true);
    expect(asked.askedBefore("b")).toBe(true);
  });

  it("forgets every key once `capacity` keys were remembered", () => {
    const asked = new AskedOnce(3);
    for (const key of ["k1", "k2", "k3"]) expect(asked.askedBefore(key)).toBe(false);
    expect(asked.askedBefore("k1")).toBe(true);
    // The fourth new key clears the filter first.
    expect(asked.askedBefore("k4")).toBe(false);
    expect(asked.askedBefore("k1")).toBe(false);
    expect(asked.askedBefore("k4")).toBe(true);
  });

  it("rarely says yes to a key never asked, even full", () => {
    const capacity = 65_536;
    const asked = new AskedOnce(capacity);
    // Keys shaped like the cache's: a few fixed octets, then a query name.
    const key = (i: number) => `\u0002\u0000\u0001\u0000\u0000\u0000\u0000\u0001\u0000\u0001host-${i}.z100000-1.bench.`;
    for (let i = 0; i < capacity; i++) asked.askedBefore(key(i));
    let wrong = 0;
    for (let i = capacity; i < capacity + 20_000; i++) if (asked.askedBefore(key(i))) wrong++;
    // ~0.4% expected with two bits a key in 2^21; a bad hash would be far above 1%.
    expect(wrong / 20_000).toBeLessThan(0.01);
  });

  it("hashes a key's octets (hashKey) to the same bits as its latin1 string, so either form finds the other", () => {
    const keys = ["\u0002\u0000\u0001\u0000\u0000\u0000\u0000\u0001\u0000\u0001www.example.org.", "k\u00ff\u0080x", ""];
    const hashes = new Int32Array(2);
    for (const key of keys) {
      const asked = new AskedOnce(100);
      const octets = Buffer.from(key, "latin1");
      hashKey(octets, octets.length, hashes);
      expect(asked.askedBeforeHashed(hashes[0]!, hashes[1]!)).toBe(false);
      expect(asked.askedBefore(key)).toBe(true);
      const again = new AskedOnce(100);
      expect(again.askedBefore(key)).toBe(false);
      expect(again.askedBeforeHashed(hashes[0]!, hashes[1]!)).toBe(true);
    }
  });
});
