/**
 * @module A growable DNS wire writer with name compression (RFC 1035 §4.1.4) and a size limit.
 *
 * The limit makes truncation clean: a caller `mark()`s before each RR, and when a write raises
 * `WireOverflow` it `rollback()`s to the mark (dropping the compression targets written since), sets TC
 * and finishes. Hand-written for the same reasons as the reader: hot path, exact control of every octet.
 */
import { asciiLower, type Name } from "../name.ts";

/** Raised by a write that would take the message past `maxSize`. Nothing of that write is kept. */
export class WireOverflow extends Error {
  override readonly name = "WireOverflow";
  constructor(readonly maxSize: number) {
    super(`message would exceed ${maxSize} octets`);
  }
}

/** Compression pointers carry 14 bits of offset. */
const MAX_POINTER_TARGET = 0x3fff;
/** Compression targets looked up by a scan; past this many, through a hash index (a zone transfer's messages). */
const SCAN_TARGETS = 24;

export interface WireWriterOptions {
  /** Hard limit on the message size (UDP payload size, 65535 for TCP). Default 65535. */
  maxSize?: number;
  /** First allocation; the buffer doubles as needed. Default 512. */
  initialCapacity?: number;
  /**
   * Compress a name only onto a suffix written with exactly the same octets, so every name reads back with
   * the case it was written with (RFC 4343 §4.1 asks for case preservation; a pointer onto
   * `EXAMPLE.com` would turn `www.example.com` into `www.EXAMPLE.com`). Default false: match ignoring case,
   * which compresses more.
   */
  preserveCase?: boolean;
  /**
   * Write into this array (from offset 0) instead of allocating one; it is replaced by a larger one only
   * when it is too small. For an encoder that owns a scratch array and copies the result out (`written`).
   */
  buffer?: Uint8Array;
}

export class WireWriter {
  private buf: Uint8Array;
  private len = 0;
  private readonly preserveCase: boolean;
  /**
   * Compression targets (RFC 1035 §4.1.4), one entry per label written uncompressed: entry k is the suffix
   * whose first label `targetLabel[k]` was written at `targetAt[k]`, followed by the suffix of entry
   * `targetNext[k]` (-1: the root). Entries are in the order written, so in offset order. A name's longest
   * suffix already written is found label by label from the root: (suffix of entry p, label) → entry.
   * Numbers, not strings: the string per suffix this replaced was the answer engine's largest cost in
   * encoding (issue 27). Each suffix's first entry is the one found (a later entry of the same suffix is only
   * written when the first lies past 0x3FFF, where a pointer cannot reach, so it cannot be reached either).
   */
  private readonly targetAt: number[] = [];
  private readonly targetNext: number[] = [];
  private readonly targetLabel: Uint8Array[] = [];
  /**
   * Entries in use: the arrays above are only ever grown, so a writer used again (`reset`) writes over its old
   * entries instead of growing new arrays (one writer serves every message `encodeMessage` writes).
   */
  private targets = 0;
  /** Past SCAN_TARGETS entries, an open-addressing index of them by (next, label) hash; entry index + 1, 0 = free. */
  private targetIndex: Int32Array | undefined;
  private limit: number;

  constructor(options: WireWriterOptions = {}) {
    this.limit = options.maxSize ?? 65535;
    this.preserveCase = options.preserveCase ?? false;
    this.buf = options.buffer ?? new Uint8Array(Math.min(options.initialCapacity ?? 512, this.limit));
  }

  /** The hard limit on the message size. */
  get maxSize(): number {
    return this.limit;
  }

  get length(): number {
    return this.len;
  }

  /** Empties the writer (nothing written, no compression targets) for a new message of at most `maxSize` octets. */
  reset(maxSize: number): void {
    this.len = 0;
    this.targets = 0;
    this.targetIndex = undefined;
    this.limit = maxSize;
  }

  /**
   * Moves the size limit (not below what is written): an encoder that set room aside for records that must
   * not be dropped (OPT, TSIG) writes the body within the lower limit, then the rest within the higher.
   */
  setMaxSize(maxSize: number): void {
    if (maxSize < this.len) throw new RangeError(`limit ${maxSize} below the ${this.len} octets written`);
    this.limit = maxSize;
  }

  private reserve(n: number): number {
    const at = this.len;
    const needed = at + n;
    if (needed > this.limit) throw new WireOverflow(this.limit);
    if (needed > this.buf.length) {
      let size = this.buf.length * 2 || 512;
      while (size < needed) size *= 2;
      const grown = new Uint8Array(Math.min(size, Math.max(this.limit, needed)));
      grown.set(this.buf.subarray(0, this.len));
      this.buf = grown;
    }
    this.len = needed;
    return at;
  }

  u8(v: number): void {
    // Reserve first: it may replace this.buf.
    const at = this.reserve(1);
    this.buf[at] = v;
  }

  u16(v: number): void {
    const at = this.reserve(2);
    // Octet by octet, no DataView: a writer is made per message (issue 27).
    this.buf[at] = v >>> 8;
    this.buf[at + 1] = v;
  }

  u32(v: number): void {
    const at = this.reserve(4);
    const buf = this.buf;
    buf[at] = v >>> 24;
    buf[at + 1] = v >>> 16;
    buf[at + 2] = v >>> 8;
    buf[at + 3] = v;
  }

  bytes(b: Uint8Array): void {
    const at = this.reserve(b.length);
    this.buf.set(b, at);
  }

  /** An RFC 1035 <character-string>. Callers check the 255-octet limit when they build the data. */
  characterString(b: Uint8Array): void {
    this.u8(b.length);
    this.bytes(b);
  }

  /** Overwrites a 16-bit field already written (counts, RDLENGTH). */
  setU16(offset: number, v: number): void {
    this.buf[offset] = v >>> 8;
    this.buf[offset + 1] = v;
  }

  /**
   * Writes a name. With `compress`, the longest suffix already in the message becomes a pointer, and each
   * new suffix written below offset 0x3FFF becomes a target (matching ignores case unless `preserveCase`). RFC 3597 §4: only
   * names in RFC 1035 types may be compressed; callers pass `compress: false` for all others. `lower`
   * writes the canonical (lowercased) form, for DNSSEC and TSIG digests.
   */
  name(name: Name, compress = true, lower = false): void {
    const labels = name.labels;
    const count = labels.length;
    if (!compress) {
      for (let i = 0; i < count; i++) this.writeLabel(labels[i]!, lower);
      this.u8(0);
      return;
    }
    // The longest suffix written before at an offset a pointer reaches: from the root label by label.
    let next = -1;
    let end = count;
    let pointTo = -1;
    for (let i = count - 1; i >= 0; i--) {
      const entry = this.findTarget(next, labels[i]!);
      if (entry < 0) break;
      next = entry;
      if (this.targetAt[entry]! <= MAX_POINTER_TARGET) {
        end = i;
        pointTo = entry;
      }
    }
    // Written whole before any entry is recorded, so an overflow leaves no target pointing past the end.
    const start = this.len;
    for (let i = 0; i < end; i++) this.writeLabel(labels[i]!, lower);
    if (pointTo >= 0) this.u16(0xc000 | this.targetAt[pointTo]!);
    else this.u8(0);
    const first = this.targets;
    for (let i = 0, at = start; i < end; i++) {
      this.addTarget(at, i + 1 < end ? first + i + 1 : pointTo, labels[i]!);
      at += 1 + labels[i]!.length;
    }
  }

  /** The first entry for the suffix `label` + (entry `next`'s suffix), or -1. */
  private findTarget(next: number, label: Uint8Array): number {
    const entries = this.targets;
    if (this.targetIndex === undefined) {
      for (let k = 0; k < entries; k++) if (this.targetNext[k] === next && this.sameLabel(this.targetLabel[k]!, label)) return k;
      return -1;
    }
    const index = this.targetIndex;
    const mask = index.length - 1;
    for (let slot = this.targetHash(next, label) & mask; ; slot = (slot + 1) & mask) {
      const k = index[slot]! - 1;
      if (k < 0) return -1;
      if (this.targetNext[k] === next && this.sameLabel(this.targetLabel[k]!, label)) return k;
    }
  }

  private addTarget(at: number, next: number, label: Uint8Array): void {
    const k = this.targets++;
    // In place when a reset writer has the slot already, else appended (k is the arrays' length then).
    this.targetAt[k] = at;
    this.targetNext[k] = next;
    this.targetLabel[k] = label;
    if (this.targetIndex === undefined) {
      if (k + 1 > SCAN_TARGETS) this.rebuildIndex();
      return;
    }
    if ((k + 1) * 2 > this.targetIndex.length) {
      this.rebuildIndex();
      return;
    }
    this.indexTarget(this.targetIndex, k);
  }

  /** Puts entry k in the index unless an entry of the same suffix is there (the first one is the one found). */
  private indexTarget(index: Int32Array, k: number): void {
    const mask = index.length - 1;
    const next = this.targetNext[k]!;
    const label = this.targetLabel[k]!;
    for (let slot = this.targetHash(next, label) & mask; ; slot = (slot + 1) & mask) {
      const other = index[slot]! - 1;
      if (other < 0) {
        index[slot] = k + 1;
        return;
      }
      if (this.targetNext[other] === next && this.sameLabel(this.targetLabel[other]!, label)) return;
    }
  }

  private rebuildIndex(): void {
    const entries = this.targets;
    if (entries <= SCAN_TARGETS) {
      this.targetIndex = undefined;
      return;
    }
    let size = 64;
    while (size < entries * 4) size *= 2;
    const index = new Int32Array(size);
    for (let k = 0; k < entries; k++) this.indexTarget(index, k);
    this.targetIndex = index;
  }

  /** FNV-1a over the next entry and the label's octets (lower-cased unless `preserveCase`). */
  private targetHash(next: number, label: Uint8Array): number {
    let h = Math.imul(0x811c9dc5 ^ (next + 1), 0x01000193);
    h = Math.imul(h ^ label.length, 0x01000193);
    if (this.preserveCase) for (let j = 0; j < label.length; j++) h = Math.imul(h ^ label[j]!, 0x01000193);
    else for (let j = 0; j < label.length; j++) h = Math.imul(h ^ asciiLower(label[j]!), 0x01000193);
    return h >>> 0;
  }

  /** The same label: octet for octet with `preserveCase`, else ignoring ASCII case. */
  private sameLabel(a: Uint8Array, b: Uint8Array): boolean {
    if (a === b) return true;
    const length = a.length;
    if (length !== b.length) return false;
    if (this.preserveCase) {
      for (let j = 0; j < length; j++) if (a[j] !== b[j]) return false;
    } else {
      for (let j = 0; j < length; j++) if (asciiLower(a[j]!) !== asciiLower(b[j]!)) return false;
    }
    return true;
  }

  private writeLabel(label: Uint8Array, lower: boolean): void {
    const at = this.reserve(1 + label.length);
    this.buf[at] = label.length;
    if (lower) {
      for (let j = 0; j < label.length; j++) this.buf[at + 1 + j] = asciiLower(label[j]!);
    } else {
      this.buf.set(label, at + 1);
    }
  }

  /** A position to come back to with `rollback`. */
  mark(): number {
    return this.len;
  }

  /** Drops everything written after `mark`, compression targets included. */
  rollback(mark: number): void {
    if (mark > this.len) throw new RangeError(`rollback to ${mark} beyond length ${this.len}`);
    this.len = mark;
    // Entries are in offset order: the ones at or past the mark are the last ones.
    let keep = this.targets;
    while (keep > 0 && this.targetAt[keep - 1]! >= mark) keep--;
    // A mark inside a name (callers mark between records) would leave entries whose suffix is gone: cut there.
    for (let k = 0; k < keep; k++) {
      if (this.targetNext[k]! >= keep) {
        keep = k;
        break;
      }
    }
    if (keep < this.targets) {
      this.targets = keep;
      this.rebuildIndex();
    }
  }

  /** The bytes written so far, as a view into the writer's array (valid until the array is written again). */
  written(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }

  /** The bytes written so far, as a copy. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}
