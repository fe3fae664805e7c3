/**
 * @module SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012): a keyed 64-bit
 * hash of short messages, the MAC of RFC 9018's interoperable DNS server cookies.
 *
 * Hand-written rather than taken from npm: it runs for every port-53 query that carries a DNS cookie (once to
 * check the server cookie that came back, once more when a fresh one is issued), and the packages that
 * implement it either compute in BigInt (an allocation per 64-bit step, several microseconds a hash) or are
 * unmaintained. Here each 64-bit word is a pair of 32-bit halves in plain integers, nothing is allocated per
 * call, and the output is written into the caller's buffer. Runtime-neutral (no `node:` imports), so the
 * Worker could use it too. Tested against the paper's 64 reference vectors and RFC 9018's Appendix A.
 */

/** A 128-bit key prepared for `siphash24`: k0 and k1 as little-endian 32-bit halves (k0 low, k0 high, …). */
export type SipKey = Int32Array;

/** Prepares a 16-octet key (RFC 9018's server secret). */
export function sipKey(key: Uint8Array): SipKey {
  if (key.length !== 16) throw new RangeError(`a SipHash key is 16 octets, not ${key.length}`);
  const k = new Int32Array(4);
  for (let i = 0; i < 4; i++) k[i] = le32(key, i * 4);
  return k;
}

function le32(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24);
}

/**
 * SipHash-2-4 of `data[start, end)` under `key`, written as 8 octets (the 64-bit result little-endian, as
 * the paper's reference code and RFC 9018 write it) into `out` at `outAt`.
 */
export function siphash24(key: SipKey, data: Uint8Array, start: number, end: number, out: Uint8Array, outAt: number): void {
  // The state v0..v3 as high and low 32-bit halves, all locals: the SipRound is written out twice below (for
  // the message words and for the finalization) instead of called, so nothing leaves registers.
  const k0l = key[0]!, k0h = key[1]!, k1l = key[2]!, k1h = key[3]!;
  // "somepseudorandomlygeneratedbytes"
  let v0l = k0l ^ 0x70736575, v0h = k0h ^ 0x736f6d65;
  let v1l = k1l ^ 0x6e646f6d, v1h = k1h ^ 0x646f7261;
  let v2l = k0l ^ 0x6e657261, v2h = k0h ^ 0x6c796765;
  let v3l = k1l ^ 0x79746573, v3h = k1h ^ 0x74656462;
  let lo: number, hi: number;
  const length = end - start;
  const whole = start + (length & ~7);
  for (let at = start; ; at += 8) {
    let ml: number, mh: number;
    const last = at >= whole;
    if (!last) {
      ml = le32(data, at);
      mh = le32(data, at + 4);
    } else {
      // The last word: the remaining 0–7 octets, and the length (mod 256) in the top octet.
      ml = 0;
      mh = (length & 0xff) << 24;
      for (let i = 0; i < end - at; i++) {
        if (i < 4) ml |= data[at + i]! << (8 * i);
        else mh |= data[at + i]! << (8 * (i - 4));
      }
    }
    v3l ^= ml;
    v3h ^= mh;
    for (let r = 0; r < 2; r++) {
      // v0 += v1; v1 <<<= 13; v1 ^= v0; v0 <<<= 32
      lo = (v0l + v1l) | 0;
      v0h = (v0h + v1h + ((lo >>> 0) < (v0l >>> 0) ? 1 : 0)) | 0;
      v0l = lo;
      hi = (v1h << 13) | (v1l >>> 19);
      v1l = ((v1l << 13) | (v1h >>> 19)) ^ v0l;
      v1h = hi ^ v0h;
      lo = v0l;
      v0l = v0h;
      v0h = lo;
      // v2 += v3; v3 <<<= 16; v3 ^= v2
      lo = (v2l + v3l) | 0;
      v2h = (v2h + v3h + ((lo >>> 0) < (v2l >>> 0) ? 1 : 0)) | 0;
      v2l = lo;
      hi = (v3h << 16) | (v3l >>> 16);
      v3l = ((v3l << 16) | (v3h >>> 16)) ^ v2l;
      v3h = hi ^ v2h;
      // v0 += v3; v3 <<<= 21; v3 ^= v0
      lo = (v0l + v3l) | 0;
      v0h = (v0h + v3h + ((lo >>> 0) < (v0l >>> 0) ? 1 : 0)) | 0;
      v0l = lo;
      hi = (v3h << 21) | (v3l >>> 11);
      v3l = ((v3l << 21) | (v3h >>> 11)) ^ v0l;
      v3h = hi ^ v0h;
      // v2 += v1; v1 <<<= 17; v1 ^= v2; v2 <<<= 32
      lo = (v2l + v1l) | 0;
      v2h = (v2h + v1h + ((lo >>> 0) < (v2l >>> 0) ? 1 : 0)) | 0;
      v2l = lo;
      hi = (v1h << 17) | (v1l >>> 15);
      v1l = ((v1l << 17) | (v1h >>> 15)) ^ v2l;
      v1h = hi ^ v2h;
      lo = v2l;
      v2l = v2h;
      v2h = lo;
    }
    v0l ^= ml;
    v0h ^= mh;
    if (last) break;
  }
  v2l ^= 0xff;
  for (let r = 0; r < 4; r++) {
    // The same SipRound as above.
    lo = (v0l + v1l) | 0;
    v0h = (v0h + v1h + ((lo >>> 0) < (v0l >>> 0) ? 1 : 0)) | 0;
    v0l = lo;
    hi = (v1h << 13) | (v1l >>> 19);
    v1l = ((v1l << 13) | (v1h >>> 19)) ^ v0l;
    v1h = hi ^ v0h;
    lo = v0l;
    v0l = v0h;
    v0h = lo;
    lo = (v2l + v3l) | 0;
    v2h = (v2h + v3h + ((lo >>> 0) < (v2l >>> 0) ? 1 : 0)) | 0;
    v2l = lo;
    hi = (v3h << 16) | (v3l >>> 16);
    v3l = ((v3l << 16) | (v3h >>> 16)) ^ v2l;
    v3h = hi ^ v2h;
    lo = (v0l + v3l) | 0;
    v0h = (v0h + v3h + ((lo >>> 0) < (v0l >>> 0) ? 1 : 0)) | 0;
    v0l = lo;
    hi = (v3h << 21) | (v3l >>> 11);
    v3l = ((v3l << 21) | (v3h >>> 11)) ^ v0l;
    v3h = hi ^ v0h;
    lo = (v2l + v1l) | 0;
    v2h = (v2h + v1h + ((lo >>> 0) < (v2l >>> 0) ? 1 : 0)) | 0;
    v2l = lo;
    hi = (v1h << 17) | (v1l >>> 15);
    v1l = ((v1l << 17) | (v1h >>> 15)) ^ v2l;
    v1h = hi ^ v2h;
    lo = v2l;
    v2l = v2h;
    v2h = lo;
  }
  const rl = v0l ^ v1l ^ v2l ^ v3l;
  const rh = v0h ^ v1h ^ v2h ^ v3h;
  out[outAt] = rl;
  out[outAt + 1] = rl >>> 8;
  out[outAt + 2] = rl >>> 16;
  out[outAt + 3] = rl >>> 24;
  out[outAt + 4] = rh;
  out[outAt + 5] = rh >>> 8;
  out[outAt + 6] = rh >>> 16;
  out[outAt + 7] = rh >>> 24;
}
