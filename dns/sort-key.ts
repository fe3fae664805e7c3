/**
 * @module Sort keys: bytes whose plain byte order (memcmp, and so SQLite's BLOB order) is the canonical
 * order of names (RFC 4034 §6.1), for indexes. Labels go root-first, lowercased, each followed by 0x00;
 * octets 0x00 and 0x01 inside a label are escaped as 0x01 0x01 and 0x01 0x02, so the separator stays below
 * every label octet. An ancestor's key is a prefix of its descendants' keys, and so sorts before them.
 *
 * Written once, over an uncompressed wire name: ingest calls it straight on the record stream, where a
 * 1M-record transfer would otherwise allocate millions of label arrays, and `Name.sortKey()` calls it on
 * the name's own wire form.
 */

/** Reusable scratch for label offsets (a name has at most 127 labels). */
const starts = new Int32Array(128);

export class WireNameError extends Error {
  override readonly name = "WireNameError";
}

/**
 * The sort key of the uncompressed name at `offset`, and the offset just past it.
 * @throws WireNameError for a compression pointer, a bad label type or a name running past `end`.
 */
export function wireSortKey(buf: Uint8Array, offset: number, end = buf.length): { key: Uint8Array; next: number } {
  let pos = offset, labels = 0, size = 0;
  for (;;) {
    if (pos >= end) throw new WireNameError("name runs past the end");
    const len = buf[pos]!;
    if (len === 0) break;
    if (len > 63) throw new WireNameError(len >= 0xc0 ? "compressed name" : "bad label type");
    if (pos + 1 + len > end) throw new WireNameError("label runs past the end");
    if (labels >= 127 || pos + 1 + len - offset > 254) throw new WireNameError("name longer than 255 octets");
    starts[labels++] = pos;
    size += len + 1;
    for (let i = pos + 1; i <= pos + len; i++) if (buf[i]! <= 1) size++;
    pos += len + 1;
  }
  const key = new Uint8Array(size);
  let k = 0;
  for (let l = labels - 1; l >= 0; l--) {
    const at = starts[l]!;
    k = writeKeyLabel(buf, at + 1, at + 1 + buf[at]!, key, k);
  }
  return { key, next: pos + 1 };
}

/**
 * Writes the label `src[from, to)` into `key` at `k` as a sort key holds it (lowercased, 0x00 and 0x01
 * escaped, then the 0x00 separator) and returns the offset past it. Shared by `wireSortKey` and
 * `Name.sortKey`, which size `key` first.
 */
export function writeKeyLabel(src: Uint8Array, from: number, to: number, key: Uint8Array, k: number): number {
  for (let i = from; i < to; i++) {
    let b = src[i]!;
    // name.ts's asciiLower, written out: this loop runs for every octet of every owner of an ingest,
    // and the call measured slower here.
    if (b >= 0x41 && b <= 0x5a) b |= 0x20;
    if (b <= 1) {
      key[k++] = 1;
      key[k++] = b + 1;
    } else key[k++] = b;
  }
  key[k++] = 0;
  return k;
}

/** True when `key` is `prefix` or below it (sort keys of names: ancestry is a byte prefix). */
export function keyHasPrefix(key: Uint8Array, prefix: Uint8Array): boolean {
  if (key.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (key[i] !== prefix[i]) return false;
  return true;
}

/** Scratch for `compareWireNames`' label offsets, one per side. */
const startsA = new Int32Array(128);
const startsB = new Int32Array(128);

/** The label offsets of the uncompressed, already checked name at `at` into `out`; the label count. */
function labelStarts(buf: Uint8Array, at: number, out: Int32Array): number {
  let n = 0;
  for (let pos = at; buf[pos]! !== 0; pos += buf[pos]! + 1) out[n++] = pos;
  return n;
}

/**
 * Canonical order (RFC 4034 §6.1) of two uncompressed wire names that are known to be well formed (a
 * record stream's owners, once `RecordFrames` has read them), compared where they lie: negative, zero or
 * positive exactly as their `wireSortKey`s compare, without building either key. For ingest, which
 * compares each owner with the one before it and needs keys only at block boundaries.
 */
export function compareWireNames(a: Uint8Array, aAt: number, b: Uint8Array, bAt: number): number {
  const na = labelStarts(a, aAt, startsA), nb = labelStarts(b, bAt, startsB);
  const common = Math.min(na, nb);
  for (let i = 1; i <= common; i++) {
    const pa = startsA[na - i]!, pb = startsB[nb - i]!;
    const la = a[pa]!, lb = b[pb]!;
    const n = Math.min(la, lb);
    for (let k = 1; k <= n; k++) {
      let x = a[pa + k]!, y = b[pb + k]!;
      if (x >= 0x41 && x <= 0x5a) x |= 0x20;
      if (y >= 0x41 && y <= 0x5a) y |= 0x20;
      if (x !== y) return x - y;
    }
    if (la !== lb) return la - lb;
  }
  return na - nb;
}

/**
 * True when the uncompressed, well-formed name at `at` is `apex` (uncompressed wire form) or below it,
 * letter case aside (RFC 4343): `keyHasPrefix` of the two keys, without building them.
 */
export function wireNameAtOrBelow(buf: Uint8Array, at: number, apex: Uint8Array): boolean {
  let end = at;
  while (buf[end]! !== 0) end += buf[end]! + 1;
  const n = end + 1 - at, L = apex.length;
  if (n < L) return false;
  const from = at + n - L;
  for (let i = 0; i < L; i++) {
    let x = buf[from + i]!, y = apex[i]!;
    if (x >= 0x41 && x <= 0x5a) x |= 0x20;
    if (y >= 0x41 && y <= 0x5a) y |= 0x20;
    if (x !== y) return false;
  }
  // On a label boundary of the name.
  let pos = at;
  while (pos < from) pos += buf[pos]! + 1;
  return pos === from;
}
