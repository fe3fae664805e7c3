/**
 * @module A seeded pseudo-random generator for tests, fuzzing and generated zones: a fixed seed makes every
 * run the same, so a failing case can be replayed from its seed. Not for anything secret.
 */

/** mulberry32: small and fast, good enough to spread mutations and pick names. Returns numbers in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
