/**
 * @module Packing a zone transfer's records into DNS messages (RFC 5936 §2.2): as many whole records per
 * message as fit under {@link MAX_TRANSFER_MESSAGE} octets, names compressed within each message
 * (RFC 1035 §4.1.4; rdata names only for the RFC 1035 types, RFC 3597 §4), the question in the first
 * message only (RFC 5936 §2.2.1 lets later ones omit it, as knotd and named do).
 *
 * A record never straddles two messages, and the packer holds one message under construction at a time:
 * `add` hands back the finished message when the next record no longer fits, so a transfer's memory is
 * one message plus what the connection has not sent yet, whatever the zone's size.
 *
 * Records come in as record-stream wire (`contract/record-stream.ts`: owner, type, class, TTL, RDLENGTH,
 * RDATA, uncompressed), the form the Worker sends them in, and are copied into the message without a
 * `Name` or a record object each (`addWire`; `add` takes a `ResourceRecord` for the few records of an IXFR
 * or a single SOA). Hand-written over a plain buffer rather than `WireWriter` for the hot path of AXFR out
 * (a 1M-record zone): `WireWriter.name` builds a string key per suffix of every name, which was the largest
 * cost of a transfer (issue 21's profile: ~220 ms of the service's ~0.6 s per 100k records).
 *
 * Compression: each suffix written literally is a target, found again by a 30-bit hash of its wire octets
 * (built right to left, one step per label) and checked octet for octet against the message (following the
 * pointers it holds), so a collision costs a miss, never a wrong pointer. Matching is case-exact, so every
 * name reads back with the case it was stored with (RFC 4343 §4.1), as `WireWriter`'s `preserveCase` does.
 */
import type { Question, ResourceRecord } from "../../../dns/message.ts";
import { packFlagsWord } from "../../../dns/header.ts";
import { Opcode, Rcode } from "../../../dns/constants.ts";
import { EdnsOptionCode } from "../../../dns/edns.ts";
import { rdataNameLayout } from "../../../dns/wire/rdata-names.ts";
import { encodeRecordStream, FIXED_FIELDS, RDLENGTH_AT } from "../../../contract/record-stream.ts";

/**
 * Room kept free in every message for the TSIG record signed onto it: owner (the key name, ≤ 255),
 * type/class/TTL/rdlength (10), algorithm name (≤ 255, in practice ≤ 26), time, fudge, MAC size, original
 * ID, error, other length (16) and the MAC (≤ 64).
 */
export const TSIG_ROOM = 640;

/** Close to 64 KiB, as knotd packs: the TCP frame's 16-bit length minus the TSIG room. */
export const MAX_TRANSFER_MESSAGE = 0xffff - TSIG_ROOM;

export interface PackerHeader {
  id: number;
  /** Copied from the request (RFC 1035 §4.1.1). */
  rd: boolean;
  /**
   * The request carried an OPT (RFC 6891 §7: the response then carries one too): every message gets a
   * bare OPT with this UDP payload size and the request's DO bit, before the TSIG (as BIND sends it), and
   * the EDNS EXPIRE option with `expire` seconds when the request asked for it (RFC 7314 §3).
   */
  edns?: { udpPayloadSize: number; dnssecOk: boolean; expire?: number | undefined } | undefined;
}

const HEADER_LENGTH = 12;
/** Octets of a bare OPT record: root owner, type, class (payload size), TTL, RDLENGTH 0. */
const OPT_LENGTH = 11;
/** The EDNS EXPIRE option in the OPT (RFC 7314 §3): code, length 4, seconds. */
const EXPIRE_LENGTH = 8;
/** Compression pointers carry 14 bits of offset (RFC 1035 §4.1.4). */
const MAX_POINTER_TARGET = 0x3fff;
/** A name has at most 127 labels (255 octets, RFC 1035 §2.3.4). */
const MAX_LABELS = 128;

/** Octets the OPT of `header` takes in every message. */
function optLength(header: PackerHeader): number {
  if (!header.edns) return 0;
  return OPT_LENGTH + (header.edns.expire === undefined ? 0 : EXPIRE_LENGTH);
}

export class TransferPacker {
  /** The message under construction; `limit` octets at most (the OPT's room kept apart). */
  private readonly buf: Uint8Array;
  private readonly view: DataView;
  private readonly limit: number;
  private len = 0;
  private open = false;
  private count = 0;
  private first = true;
  /** Suffix hash → offset of a suffix written literally in this message (see the module comment). */
  private readonly targets = new Map<number, number>();
  /** Scratch for one name: where each label starts in its source, and the hash of the suffix from there. */
  private readonly starts = new Int32Array(MAX_LABELS);
  private readonly hashes = new Int32Array(MAX_LABELS);
  /** Messages finished so far. */
  messages = 0;
  /** Octets of the messages finished so far (before TSIG). */
  bytes = 0;

  constructor(
    private readonly header: PackerHeader,
    private readonly question: Question,
    private readonly maxSize = MAX_TRANSFER_MESSAGE,
  ) {
    this.limit = maxSize - optLength(header);
    this.buf = new Uint8Array(maxSize);
    this.view = new DataView(this.buf.buffer);
  }

  /** Adds a record; returns the finished message when `rr` did not fit in it (then `rr` opens the next one). */
  add(rr: ResourceRecord): Uint8Array | undefined {
    const wire = encodeRecordStream([rr]);
    const body = rr.name.wireLength;
    return this.addWire(wire, 0, body, wire.length);
  }

  /**
   * Adds the record-stream record at `src[at, end)` whose owner ends at `body` (the offsets of
   * `RecordFrames`); returns the finished message when it did not fit in it (then it opens the next one).
   * @throws RangeError for a record that does not fit even in an empty message.
   */
  addWire(src: Uint8Array, at: number, body: number, end: number): Uint8Array | undefined {
    if (!this.open) this.start();
    // Uncompressed, the record takes `end - at` octets; compression only ever makes that less.
    if (this.len + (end - at) <= this.limit) {
      this.writeRecord(src, at, body, end);
      return undefined;
    }
    if (this.count === 0) throw new RangeError(`a record of ${end - at} octets does not fit in a ${this.maxSize}-octet message`);
    const done = this.close();
    this.start();
    if (this.len + (end - at) > this.limit) throw new RangeError(`a record of ${end - at} octets does not fit in a ${this.maxSize}-octet message`);
    this.writeRecord(src, at, body, end);
    return done;
  }

  /** The message under construction, finished (the last of the transfer); a question-only one if nothing was added. */
  finish(): Uint8Array {
    if (!this.open) this.start();
    return this.close();
  }

  private start(): void {
    const view = this.view;
    view.setUint16(0, this.header.id);
    view.setUint16(2, packFlagsWord(Opcode.QUERY, { qr: true, aa: true, tc: false, rd: this.header.rd, ra: false, z: false, ad: false, cd: false }, Rcode.NOERROR));
    view.setUint16(4, this.first ? 1 : 0); // QDCOUNT
    view.setUint32(6, 0); // ANCOUNT (set on close), NSCOUNT
    view.setUint16(10, 0); // ARCOUNT (1 with the OPT, set on close)
    this.len = HEADER_LENGTH;
    this.targets.clear();
    if (this.first) {
      const qname = this.question.name.toWire();
      this.writeName(qname, 0);
      view.setUint16(this.len, this.question.type);
      view.setUint16(this.len + 2, this.question.class);
      this.len += 4;
    }
    this.first = false;
    this.open = true;
    this.count = 0;
  }

  private close(): Uint8Array {
    const view = this.view;
    view.setUint16(6, this.count);
    let len = this.len;
    const edns = this.header.edns;
    if (edns) {
      // Written past `limit`, into the room kept for it.
      view.setUint16(10, 1); // ARCOUNT
      this.buf[len] = 0; // the root owner
      view.setUint16(len + 1, 41); // OPT
      view.setUint16(len + 3, edns.udpPayloadSize);
      view.setUint32(len + 5, edns.dnssecOk ? 0x8000 : 0); // extended rcode 0, version 0, DO
      if (edns.expire === undefined) {
        view.setUint16(len + 9, 0); // RDLENGTH
      } else {
        view.setUint16(len + 9, EXPIRE_LENGTH);
        view.setUint16(len + 11, EdnsOptionCode.EXPIRE);
        view.setUint16(len + 13, 4);
        view.setUint32(len + 15, edns.expire);
      }
      len += optLength(this.header);
    }
    const out = this.buf.slice(0, len);
    this.open = false;
    this.count = 0;
    this.messages++;
    this.bytes += out.length;
    return out;
  }

  /** One record, known to fit uncompressed: owner, the fixed fields, and its RDATA. */
  private writeRecord(src: Uint8Array, at: number, body: number, end: number): void {
    this.writeName(src, at);
    const buf = this.buf;
    const fixedAt = this.len;
    // TYPE CLASS TTL as they are; RDLENGTH written below, once the RDATA's compressed length is known.
    for (let i = 0; i < RDLENGTH_AT; i++) buf[fixedAt + i] = src[body + i]!;
    this.len = fixedAt + FIXED_FIELDS;
    const type = (src[body]! << 8) | src[body + 1]!;
    const rdataAt = body + FIXED_FIELDS;
    const layout = rdataNameLayout(type);
    if (layout === undefined || !layout.compressible || !this.writeCompressibleRdata(src, rdataAt, end, layout.fields)) {
      copy(src, rdataAt, end, buf, this.len);
      this.len += end - rdataAt;
    }
    this.view.setUint16(fixedAt + RDLENGTH_AT, this.len - fixedAt - FIXED_FIELDS);
    this.count++;
  }

  /**
   * The RDATA of an RFC 1035 type with its names compressed (RFC 3597 §4), field by field; false, with
   * nothing written, when the RDATA does not follow its layout exactly (then it is copied as it is).
   */
  private writeCompressibleRdata(src: Uint8Array, at: number, end: number, fields: NonNullable<ReturnType<typeof rdataNameLayout>>["fields"]): boolean {
    // Check the layout first, so a malformed RDATA leaves no compression target behind.
    let pos = at;
    for (const field of fields) {
      if (field.kind === "name") {
        pos = uncompressedNameEnd(src, pos, end);
        if (pos < 0) return false;
      } else if (field.kind === "fixed") {
        pos += field.length;
        if (pos > end) return false;
      } else {
        return false;
      }
    }
    if (pos !== end) return false;
    pos = at;
    for (const field of fields) {
      if (field.kind === "name") {
        const nameEnd = uncompressedNameEnd(src, pos, end);
        this.writeName(src, pos);
        pos = nameEnd;
      } else if (field.kind === "fixed") {
        copy(src, pos, pos + field.length, this.buf, this.len);
        this.len += field.length;
        pos += field.length;
      }
    }
    return true;
  }

  /**
   * The uncompressed name at `src[at…]`, written with the longest suffix already in the message as a
   * pointer; each suffix it writes literally (below offset 0x3FFF) becomes a target.
   */
  private writeName(src: Uint8Array, at: number): void {
    const { starts, hashes, targets, buf } = this;
    let n = 0;
    let pos = at;
    while (src[pos] !== 0) {
      starts[n++] = pos;
      pos += src[pos]! + 1;
    }
    const rootAt = pos;
    // Suffix hashes, right to left: the hash of the suffix at label i covers label i and the suffix after it.
    let h = 0x2b992ddf;
    for (let i = n - 1; i >= 0; i--) {
      for (let p = starts[i]!, stop = p + src[p]! + 1; p < stop; p++) h = Math.imul(h ^ src[p]!, 0x01000193);
      hashes[i] = h & 0x3fffffff;
    }
    let match = -1;
    let cut = n;
    for (let i = 0; i < n; i++) {
      const target = targets.get(hashes[i]!);
      if (target !== undefined && sameName(buf, target, src, starts[i]!)) {
        match = target;
        cut = i;
        break;
      }
    }
    // Labels before the match (all of them without one) are copied as they are, each a new target.
    const literalEnd = cut === n ? rootAt + 1 : starts[cut]!;
    const base = this.len;
    copy(src, at, literalEnd, buf, base);
    for (let i = 0; i < cut; i++) {
      const offset = base + (starts[i]! - at);
      if (offset > MAX_POINTER_TARGET) break;
      targets.set(hashes[i]!, offset);
    }
    this.len = base + (literalEnd - at);
    if (match >= 0) {
      buf[this.len] = 0xc0 | (match >> 8);
      buf[this.len + 1] = match & 0xff;
      this.len += 2;
    }
  }
}

/**
 * Copies `src[from, to)` to `dst` at `at`. Most copies here are a few dozen octets (a name's labels, an A
 * record's RDATA), where a loop costs less than the `subarray` object `set` would need (garbage on the hot
 * path: two a record).
 */
function copy(src: Uint8Array, from: number, to: number, dst: Uint8Array, at: number): void {
  if (to - from > 64) {
    dst.set(src.subarray(from, to), at);
    return;
  }
  for (let i = from; i < to; i++) dst[at++] = src[i]!;
}

/**
 * True when the name at `buf[offset…]` in the message (its labels, following compression pointers) is
 * octet for octet the uncompressed name at `src[at…]`. Pointers in the message always point backwards,
 * and at most 128 labels are read, so a bad target cannot loop.
 */
function sameName(buf: Uint8Array, offset: number, src: Uint8Array, at: number): boolean {
  let p = offset;
  let s = at;
  for (let guard = 0; guard < MAX_LABELS * 2; guard++) {
    const len = buf[p]!;
    if ((len & 0xc0) === 0xc0) {
      p = ((len & 0x3f) << 8) | buf[p + 1]!;
      continue;
    }
    if (len !== src[s]) return false;
    if (len === 0) return true;
    for (let j = 1; j <= len; j++) if (buf[p + j] !== src[s + j]) return false;
    p += len + 1;
    s += len + 1;
  }
  return false;
}

/** The offset just past the uncompressed name at `src[at…]`, or -1 when it is not one that ends before `end`. */
function uncompressedNameEnd(src: Uint8Array, at: number, end: number): number {
  let pos = at;
  while (pos < end) {
    const len = src[pos]!;
    if (len === 0) return pos + 1;
    if (len > 63 || pos + 1 + len - at > 255) return -1;
    pos += len + 1;
  }
  return -1;
}
