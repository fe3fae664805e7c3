/**
 * @module A bounds-checked reader over DNS wire format, with compressed-name decoding (RFC 1035 §4.1.4).
 *
 * Hand-written rather than built on dns-packet: this is the hot path of every query and every transfer
 * message, it must never throw anything but a typed `WireError`, and it must never loop on hostile
 * compression pointers.
 */
import { MAX_NAME_LENGTH, Name } from "../name.ts";

export type WireErrorCode =
  | "truncated" // the message ends inside a field
  | "bad-pointer" // a compression pointer that does not point strictly backwards
  | "pointer-loop" // too many pointer hops
  | "bad-label-type" // 0x40/0x80 label types (RFC 6891 §5 retired the extended types)
  | "name-too-long"
  | "trailing-data" // bytes left over where a field should end exactly
  | "inconsistent" // counts or lengths that contradict the message
  | "bad-opt" // an OPT record out of place, repeated, or not owned by the root (RFC 6891 §6.1.1)
  | "bad-tsig"; // a TSIG record that is not the last additional record (RFC 8945 §5.1)

/** Any malformed input. `offset` is where in the message reading failed. */
export class WireError extends Error {
  override readonly name = "WireError";
  constructor(
    readonly code: WireErrorCode,
    message: string,
    readonly offset: number,
  ) {
    super(`${message} (at octet ${offset})`);
  }
}

/** Enough hops for any real message (each hop must go strictly backwards, so 127 is generous). */
const MAX_POINTER_HOPS = 127;

/** Where each label of the name being read starts (`name`): 128 labels at most in 255 octets. */
const labelStarts = new Int32Array(128);

export class WireReader {
  // No DataView: integers are read octet by octet, so a reader (one per message the answer path decodes)
  // costs no view object (issue 27: the DataView was a tenth of decoding a query).
  constructor(
    readonly buf: Uint8Array,
    public offset = 0,
    /** Reading stops here; defaults to the end of `buf`. Used to confine a reader to one RR's rdata. */
    public end = buf.length,
  ) {}

  get remaining(): number {
    return this.end - this.offset;
  }

  private need(n: number): void {
    if (this.offset + n > this.end) {
      throw new WireError("truncated", `need ${n} octet(s), ${this.end - this.offset} left`, this.offset);
    }
  }

  u8(): number {
    this.need(1);
    return this.buf[this.offset++]!;
  }

  u16(): number {
    this.need(2);
    const buf = this.buf;
    const at = this.offset;
    this.offset = at + 2;
    return (buf[at]! << 8) | buf[at + 1]!;
  }

  u32(): number {
    this.need(4);
    const buf = this.buf;
    const at = this.offset;
    this.offset = at + 4;
    return ((buf[at]! << 24) | (buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!) >>> 0;
  }

  /** The next `n` octets as a view into the message (no copy). Copy it if you keep it past the message. */
  bytes(n: number): Uint8Array {
    if (n < 0) throw new WireError("inconsistent", `negative length ${n}`, this.offset);
    this.need(n);
    const out = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  /** Everything up to `end`. */
  rest(): Uint8Array {
    return this.bytes(this.end - this.offset);
  }

  /** An RFC 1035 <character-string>: a length octet and that many octets. */
  characterString(): Uint8Array {
    return this.bytes(this.u8());
  }

  /**
   * Reads a possibly compressed name. Labels are copied out, so the name does not keep the message alive:
   * all of them into one new array, each label a view of it (one copy, not one array per label).
   *
   * Loop guard: every pointer must point strictly before the lowest position read so far for this name,
   * so each hop moves backwards and the walk ends; a hop count and the 255-octet limit back that up.
   * Pointer targets are bounded by the whole buffer (a name in rdata may point into the header region),
   * never by `end`.
   */
  name(): Name {
    const buf = this.buf;
    let count = 0;
    let pos = this.offset;
    let lowest = pos;
    let resumeAt = -1;
    let length = 1;
    let hops = 0;
    // Labels before the first pointer must lie inside [offset, end); after a jump, inside the buffer.
    let limit = this.end;
    for (;;) {
      if (pos >= limit) throw new WireError("truncated", "name runs past the end", pos);
      const len = buf[pos]!;
      if (len === 0) {
        pos += 1;
        break;
      }
      const kind = len & 0xc0;
      if (kind === 0xc0) {
        if (pos + 1 >= limit) throw new WireError("truncated", "compression pointer cut short", pos);
        const target = ((len & 0x3f) << 8) | buf[pos + 1]!;
        if (target >= lowest) {
          throw new WireError("bad-pointer", `compression pointer to ${target} does not point backwards`, pos);
        }
        if (++hops > MAX_POINTER_HOPS) throw new WireError("pointer-loop", "too many compression pointers", pos);
        if (resumeAt < 0) resumeAt = pos + 2;
        lowest = target;
        pos = target;
        limit = buf.length;
        continue;
      }
      if (kind !== 0) throw new WireError("bad-label-type", `label type 0x${kind.toString(16)}`, pos);
      if (pos + 1 + len > limit) throw new WireError("truncated", "label runs past the end", pos);
      length += len + 1;
      if (length > MAX_NAME_LENGTH) {
        throw new WireError("name-too-long", `name exceeds ${MAX_NAME_LENGTH} octets`, pos);
      }
      labelStarts[count++] = pos;
      pos += 1 + len;
    }
    this.offset = resumeAt >= 0 ? resumeAt : pos;
    if (count === 0) return Name.root;
    const labels = new Array<Uint8Array>(count);
    for (let i = 0; i < count; i++) {
      const start = labelStarts[i]!;
      const len = buf[start]!;
      // An array of its own per label, copied octet by octet: a label (≤ 63 octets) fits V8's on-heap typed
      // arrays, where views of one shared copy made that copy's `.buffer` an off-heap ArrayBuffer (a malloc,
      // and the sweeper's work after each scavenge): ~0.14 µs a three-label name against ~0.41 µs (issue 27,
      // session 9). Neither subarray nor slice: no species lookup.
      const label = new Uint8Array(len);
      for (let j = 0; j < len; j++) label[j] = buf[start + 1 + j]!;
      labels[i] = label;
    }
    return Name.fromLabels(labels);
  }

  /** Skips over a possibly compressed name without building it (bounds and label types still checked). */
  skipName(): void {
    let pos = this.offset;
    for (;;) {
      if (pos >= this.end) throw new WireError("truncated", "name runs past the end", pos);
      const len = this.buf[pos]!;
      if (len === 0) {
        this.offset = pos + 1;
        return;
      }
      if ((len & 0xc0) === 0xc0) {
        if (pos + 1 >= this.end) throw new WireError("truncated", "compression pointer cut short", pos);
        this.offset = pos + 2;
        return;
      }
      if ((len & 0xc0) !== 0) throw new WireError("bad-label-type", `label type 0x${(len & 0xc0).toString(16)}`, pos);
      pos += 1 + len;
    }
  }

  /** Throws unless everything up to `end` has been read. */
  expectEnd(what = "field"): void {
    if (this.offset !== this.end) {
      throw new WireError("trailing-data", `${this.end - this.offset} octet(s) left over after ${what}`, this.offset);
    }
  }
}
