/**
 * @module The response cache's doorkeeper for answers the front makes itself (issue 27): a replica answer is
 * stored from the second ask of its key on (`query-forward.ts`), since a resolver's traffic asks most names
 * once per TTL and storing each of those costs more than making the answer again.
 *
 * A Bloom filter (two bits a key, 2^21 bits: 256 KiB) over the key's octets (`hashKey`, which the response
 * cache's LRU shares; or the characters of its latin1 string, the same values), not a Set of the keys: the
 * Set kept up to 65,536 key strings alive, so every minor GC copied them and each ask hashed a new string into
 * a large table; the UDP bench's miss mix measured it at about 1 µs a query (issue 27, session 8). After
 * `capacity` keys the filter is cleared, as the Set was emptied. A false "asked before" (about 0.4% at
 * capacity) only stores an answer a first time; the stored answer is right either way.
 *
 * Hand-rolled rather than a library: it is on the front's hot path, and it is twenty lines.
 */

/** Bits of the filter. */
const BITS = 1 << 21;
const MASK = BITS - 1;

export class AskedOnce {
  private readonly bits = new Int32Array(BITS >>> 5);
  private keys = 0;
  /** `hashKey`'s output for `askedBefore`. */
  private readonly hashes = new Int32Array(2);

  /** @param capacity keys remembered before the filter is cleared */
  constructor(private readonly capacity: number) {}

  /**
   * True when `key` (a cache key's latin1 string) was asked since the last clear (or, rarely, another key set
   * the same bits); remembers it. The front hashes octets instead (`askedBeforeHashed`).
   */
  askedBefore(key: string): boolean {
    const octets = Buffer.from(key, "latin1");
    hashKey(octets, octets.length, this.hashes);
    return this.askedBeforeHashed(this.hashes[0]!, this.hashes[1]!);
  }

  /** `askedBefore` of a key whose two hashes `hashKey` gave (the same bits as for its latin1 string). */
  askedBeforeHashed(h1: number, h2: number): boolean {
    const a = h1 & MASK;
    const b = (h2 ^ (h2 >>> 15)) & MASK;
    const bits = this.bits;
    if ((bits[a >>> 5]! & (1 << (a & 31))) !== 0 && (bits[b >>> 5]! & (1 << (b & 31))) !== 0) return true;
    if (this.keys >= this.capacity) {
      bits.fill(0);
      this.keys = 0;
    }
    bits[a >>> 5]! |= 1 << (a & 31);
    bits[b >>> 5]! |= 1 << (b & 31);
    this.keys++;
    return false;
  }
}

/**
 * The doorkeeper's two hashes of a key given as its first `length` octets, into `out[0]` and `out[1]` (FNV-1a,
 * and the same walk with MurmurHash's multiplier). The forward hashes a query's key once, for
 * the doorkeeper and the response cache's LRU both (issue 27, session 11), and makes no string of it.
 */
export function hashKey(key: ArrayLike<number>, length: number, out: Int32Array): void {
  let h1 = 0x811c9dc5;
  let h2 = 0x9747b28c;
  for (let i = 0; i < length; i++) {
    const c = key[i]!;
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
  }
  out[0] = h1;
  out[1] = h2;
}
