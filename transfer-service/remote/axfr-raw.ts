/**
 * @module An AXFR's body straight into the record stream (`contract/record-stream.ts`), without an object
 * per record and without a second encode: the hot path of a full transfer, written by hand for that reason
 * (a 1M-record zone spent ~2.5 s of the service's ~4.6 s CPU building `Name`s and record objects, encoding
 * them again and collecting the garbage).
 *
 * Two parts, used by `xfr-in.ts` once the reply is known to be a whole zone and the sink takes streams
 * (`XfrSink.rawRecords`):
 * - {@link readRawHead}: a message's header and question read, its answers only walked over (bounds, label
 *   types), its additional section checked to hold nothing but an OPT and a closing TSIG record. Anything
 *   else (an authority section, a record out of place) returns undefined and the caller decodes the message
 *   in full, so every odd message still gets the full decoder's checks and errors. (Until issue 28's
 *   session 8 an OPT sent it there too: knotd puts one in every message of a transfer asked for with EDNS,
 *   so every AXFR from it was decoded in full, message by message: ~1.1 s more CPU per million records.)
 * - {@link StreamBuilder}: records appended as stream bytes (owner decompressed, rdata names expanded as
 *   `dns/wire/rdata-names.ts` does for the types RFC 3597 §4 lists, everything else copied), cut into
 *   chunks of about `targetBytes` only where the owner changes (or past 4× the target, which bounds memory
 *   for a huge owner), exactly as `worker/ingest-chunker.ts` cuts record objects. The first chunk is cut
 *   sooner ({@link FIRST_CHUNK_BYTES}), so that the Worker starts storing while the rest is read. Owners
 *   compare in ASCII case-insensitive form (RFC 4343), as `Name.equals` does.
 */
import { releasableBytes } from "../../dns/bytes.ts";
import { Opcode, RRType } from "../../dns/constants.ts";
import { decodeOpt, joinRcode, type Edns } from "../../dns/edns.ts";
import { readHeader } from "../../dns/header.ts";
import type { Message, Question } from "../../dns/message.ts";
import { MAX_NAME_LENGTH, Name } from "../../dns/name.ts";
import { rdataNameLayout, type RdataNameLayout } from "../../dns/wire/rdata-names.ts";
import { WireError, WireReader } from "../../dns/wire/reader.ts";

/** A message whose answers are left in the wire for {@link StreamBuilder.appendWire}. */
export interface RawHead {
  /** Header fields and question; `answers`, `authorities` and `additionals` are empty. */
  message: Message;
  /** Offset of the first answer record, and how many there are. */
  answersAt: number;
  ancount: number;
  /** Offset of the TSIG record, or null when the message carries none. */
  tsigOffset: number | null;
}

/**
 * Moves `r` past `n` octets, as `r.bytes(n)` would, without making a view of them (one per record was most
 * of a raw message's garbage).
 */
function skip(r: WireReader, n: number): void {
  if (r.offset + n > r.end) throw new WireError("truncated", `need ${n} octet(s), ${r.end - r.offset} left`, r.offset);
  r.offset += n;
}

/**
 * Reads what a later message of an AXFR needs checked before its records (RFC 5936 §2.2: ID, QR, opcode,
 * rcode, question), walking over the answers. Its additional section may hold an OPT (owned by the root,
 * once: knotd puts one in every message of a transfer asked for with EDNS, as ours are) and then a TSIG,
 * last; the OPT is read as the full decoder reads it (`decodeOpt`), so the rcode is the joined 12 bits.
 * Undefined when the message has anything else (the caller then decodes it in full, with its checks and
 * errors).
 * @throws WireError for a message whose framing is broken, or an OPT whose options overrun it.
 */
export function readRawHead(wire: Uint8Array): RawHead | undefined {
  const r = new WireReader(wire);
  const h = readHeader(r);
  if (h.nscount !== 0 || h.arcount > 2 || h.opcode !== Opcode.QUERY) return undefined;
  const questions: Question[] = [];
  for (let i = 0; i < h.qdcount; i++) questions.push({ name: r.name(), type: r.u16(), class: r.u16() });
  const answersAt = r.offset;
  for (let i = 0; i < h.ancount; i++) {
    r.skipName();
    const type = r.u16();
    // OPT or TSIG among the answers: the full decoder says what is wrong.
    if (type === RRType.OPT || type === RRType.TSIG) return undefined;
    r.offset += 6;
    skip(r, r.u16());
  }
  let tsigOffset: number | null = null;
  let edns: Edns | undefined;
  for (let i = 0; i < h.arcount; i++) {
    const at = r.offset;
    // The root as one zero octet, as every server writes it; a pointer to it is left to the full decoder.
    const rootOwner = wire[at] === 0;
    r.skipName();
    const type = r.u16();
    if (type === RRType.OPT) {
      if (!rootOwner || edns !== undefined) return undefined;
      const cls = r.u16();
      const ttl = r.u32();
      edns = decodeOpt({ name: Name.root, type, class: cls, ttl, rdata: r.bytes(r.u16()) });
      continue;
    }
    if (type !== RRType.TSIG || i !== h.arcount - 1) return undefined;
    tsigOffset = at;
    r.offset += 6;
    skip(r, r.u16());
  }
  r.expectEnd("the last record");
  const message: Message = { id: h.id, opcode: h.opcode, flags: h.flags, rcode: joinRcode(h.rcode, edns?.extendedRcode ?? 0), questions, answers: [], authorities: [], additionals: [] };
  if (edns !== undefined) message.edns = edns;
  return { message, answersAt, ancount: h.ancount, tsigOffset };
}

const lower = (b: number): number => (b >= 0x41 && b <= 0x5a ? b | 0x20 : b);

/**
 * The first chunk's size at most: the Worker stores chunks one after another, and until the first arrives
 * it has nothing to do (a 2 MiB first chunk of a 100k-record zone kept it idle for a third of the transfer).
 */
export const FIRST_CHUNK_BYTES = 256 * 1024;

/** One record of the body as the builder read it, for the caller's checks (valid until the next append). */
export interface RawRecordView {
  type: number;
  class: number;
  /** The owner's uncompressed wire bytes are `owner.subarray(0, ownerLength)`. */
  owner: Uint8Array;
  ownerLength: number;
  /** True when the owner differs from the previous record's (case aside). */
  newOwner: boolean;
  /** True when the owner is the zone's apex. */
  atApex: boolean;
  /** True when the owner is at or below the apex. */
  inZone: boolean;
  /** The rdata, uncompressed (a view: copy it to keep it). */
  rdata: Uint8Array;
}

/**
 * The record being read, as `check` sees it: one object reused for every record, its rdata a view made
 * only when asked for (a check reads it for the apex SOA alone; a view per record was garbage).
 */
class RecordView implements RawRecordView {
  type = 0;
  class = 0;
  ownerLength = 0;
  newOwner = true;
  atApex = false;
  inZone = false;
  /** The rdata is `source[from, to)`. */
  source: Uint8Array;
  from = 0;
  to = 0;

  constructor(public owner: Uint8Array) {
    this.source = owner;
  }

  get rdata(): Uint8Array {
    return this.source.subarray(this.from, this.to);
  }
}

/**
 * Record-stream bytes being filled, cut into chunks between owners. `append…` returns a finished chunk
 * when the record it was given starts a new one; `finish` returns what is left.
 */
export class StreamBuilder {
  private buf: Uint8Array;
  private view: DataView;
  private len = 0;
  private count = 0;
  /** The current record's owner and the previous one's (swapped, never reallocated). */
  private owner = new Uint8Array(MAX_NAME_LENGTH);
  private prev = new Uint8Array(MAX_NAME_LENGTH);
  private prevLength = 0;
  private readonly apex: Uint8Array;
  private readonly record: RecordView;
  /** The size the chunk being filled is cut at: `firstBytes` for the first, then `targetBytes`. */
  private due: number;

  constructor(
    apex: Name,
    private readonly targetBytes: number,
    firstBytes = Math.min(targetBytes, FIRST_CHUNK_BYTES),
  ) {
    this.due = firstBytes;
    this.apex = apex.toWire();
    this.buf = new Uint8Array(targetBytes + (targetBytes >> 2));
    this.view = new DataView(this.buf.buffer);
    this.record = new RecordView(this.owner);
  }

  /** Records in the chunk being filled. */
  get records(): number {
    return this.count;
  }

  /**
   * Reads the record at `at` in `wire` (a DNS message: owner and rdata names may point anywhere before),
   * without appending it yet: `check` sees it and returns whether to append it (false: the closing SOA).
   * The chunk the record finished, if any, waits in `takeCut()` (no object per record: this runs a million
   * times per million records).
   * @returns the offset past the record.
   * @throws WireError for a malformed record; whatever `check` throws.
   */
  readWire(wire: Uint8Array, at: number, check: (rr: RawRecordView) => boolean): number {
    if (wire !== this.wire) {
      this.wire = wire;
      this.wireView = new DataView(wire.buffer, wire.byteOffset, wire.byteLength);
    }
    const view = this.wireView!;
    const ownerLength = this.decompressName(wire, at, wire.length, this.owner, 0);
    const fixed = this.nameEnd;
    if (fixed + 10 > wire.length) throw new WireError("truncated", "record fields run past the end", fixed);
    const type = view.getUint16(fixed);
    const cls = view.getUint16(fixed + 2);
    const ttl = view.getUint32(fixed + 4);
    const rdlength = view.getUint16(fixed + 8);
    const rdataAt = fixed + 10;
    const next = rdataAt + rdlength;
    if (next > wire.length) throw new WireError("truncated", `RDATA of ${rdlength} octets runs past the end`, rdataAt);
    const layout = rdataNameLayout(type);
    if (layout === undefined) this.describe(type, cls, ownerLength, wire, rdataAt, next);
    else this.describe(type, cls, ownerLength, this.rdata, 0, this.expandRdata(wire, rdataAt, next, layout));
    if (check(this.record)) this.cutChunk = this.append(ownerLength, type, cls, ttl);
    return next;
  }

  /** The chunk the last `readWire` finished (once). */
  takeCut(): StreamChunk | undefined {
    const chunk = this.cutChunk;
    this.cutChunk = undefined;
    return chunk;
  }

  private cutChunk: StreamChunk | undefined;

  /** The message `readWire` last read, and a view of it. */
  private wire: Uint8Array | undefined;
  private wireView: DataView | undefined;
  /** Expanded rdata of the current record (RDLENGTH is 16 bits). */
  private readonly rdata = new Uint8Array(0xffff);

  /**
   * RDATA at [at, end) with its names expanded (`dns/wire/rdata-names.ts`'s layouts and rules: the fields
   * must use RDLENGTH exactly; a name's pointers may point anywhere earlier in the message) into
   * `this.rdata`, reused for the next record. Returns its length.
   */
  private expandRdata(wire: Uint8Array, at: number, end: number, layout: RdataNameLayout): number {
    const out = this.rdata;
    let pos = at, len = 0;
    for (const field of layout.fields) {
      let n: number;
      switch (field.kind) {
        case "name": {
          const written = this.decompressName(wire, pos, end, out, len);
          len += written;
          pos = this.nameEnd;
          continue;
        }
        case "fixed":
          n = field.length;
          break;
        case "character-string":
          if (pos >= end) throw new WireError("truncated", "character-string runs past the RDATA", pos);
          n = 1 + wire[pos]!;
          break;
        case "rest":
          n = end - pos;
          break;
      }
      if (pos + n > end) throw new WireError("truncated", `need ${n} octet(s), ${end - pos} left`, pos);
      if (len + n > out.length) throw new WireError("inconsistent", "expanded RDATA exceeds 65535 octets", pos);
      for (let i = 0; i < n; i++) out[len + i] = wire[pos + i]!;
      len += n;
      pos += n;
    }
    if (pos !== end) throw new WireError("trailing-data", `${end - pos} octet(s) left over after the RDATA`, pos);
    return len;
  }

  /** The same for a record already decoded (the first message's records, or a message decoded in full). */
  readRecord(name: Name, type: number, cls: number, ttl: number, rdata: Uint8Array, check: (rr: RawRecordView) => boolean): StreamChunk | undefined {
    let pos = 0;
    for (const label of name.labels) {
      this.owner[pos++] = label.length;
      this.owner.set(label, pos);
      pos += label.length;
    }
    this.owner[pos++] = 0;
    this.describe(type, cls, pos, rdata, 0, rdata.length);
    if (!check(this.record)) return undefined;
    return this.append(pos, type, cls, ttl);
  }

  /** The rest, as the last chunk (undefined when empty). The last message read is let go. */
  finish(): StreamChunk | undefined {
    this.wire = undefined;
    this.wireView = undefined;
    return this.cut();
  }

  /** Where the name read by `decompressName` ended in the message. */
  private nameEnd = 0;

  /**
   * Copies the possibly compressed name at `at` into `out` from `outAt`, with `WireReader.name`'s rules:
   * labels before the first pointer lie inside [at, limit), after a jump inside the message; every pointer
   * points strictly before the lowest position read so far, so the walk ends. Returns the octets written.
   */
  private decompressName(wire: Uint8Array, at: number, limit: number, out: Uint8Array, outAt: number): number {
    let pos = at, lowest = at, resumeAt = -1, length = 0;
    for (;;) {
      if (pos >= limit) throw new WireError("truncated", "name runs past the end", pos);
      const len = wire[pos]!;
      if (len === 0) {
        out[outAt + length++] = 0;
        pos += 1;
        break;
      }
      const kind = len & 0xc0;
      if (kind === 0xc0) {
        if (pos + 1 >= limit) throw new WireError("truncated", "compression pointer cut short", pos);
        const target = ((len & 0x3f) << 8) | wire[pos + 1]!;
        if (target >= lowest) throw new WireError("bad-pointer", `compression pointer to ${target} does not point backwards`, pos);
        if (resumeAt < 0) resumeAt = pos + 2;
        lowest = target;
        pos = target;
        limit = wire.length;
        continue;
      }
      if (kind !== 0) throw new WireError("bad-label-type", `label type 0x${kind.toString(16)}`, pos);
      if (pos + 1 + len > limit) throw new WireError("truncated", "label runs past the end", pos);
      // The root octet still to come.
      if (length + 1 + len + 1 > MAX_NAME_LENGTH) throw new WireError("name-too-long", `name exceeds ${MAX_NAME_LENGTH} octets`, pos);
      if (outAt + length + 1 + len >= out.length) throw new WireError("inconsistent", "expanded RDATA exceeds 65535 octets", pos);
      out[outAt + length] = len;
      for (let i = 1; i <= len; i++) out[outAt + length + i] = wire[pos + i]!;
      length += len + 1;
      pos += len + 1;
    }
    this.nameEnd = resumeAt >= 0 ? resumeAt : pos;
    return length;
  }

  /** Fills `this.record` for the owner in `this.owner` (length `n`) and the rdata `source[from, to)`. */
  private describe(type: number, cls: number, n: number, source: Uint8Array, from: number, to: number): void {
    const rec = this.record;
    const owner = this.owner, prev = this.prev, apex = this.apex;
    let same = n === this.prevLength;
    for (let i = 0; same && i < n; i++) same = lower(owner[i]!) === lower(prev[i]!);
    // At or below the apex: the apex's labels end the owner, on a label boundary.
    const L = apex.length;
    let inZone = n >= L;
    for (let i = 0; inZone && i < L; i++) inZone = lower(owner[n - L + i]!) === lower(apex[i]!);
    if (inZone) {
      let pos = 0;
      while (pos < n - L) pos += owner[pos]! + 1;
      inZone = pos === n - L;
    }
    rec.type = type;
    rec.class = cls;
    rec.owner = owner;
    rec.ownerLength = n;
    rec.newOwner = !same;
    rec.inZone = inZone;
    rec.atApex = inZone && n === L;
    rec.source = source;
    rec.from = from;
    rec.to = to;
  }

  /**
   * Appends the described record (its rdata is `this.record`'s), cutting the chunk first if it is due;
   * returns the cut chunk. Short runs of bytes are copied in a loop: `set` of a fresh `subarray` per owner
   * and per rdata cost more than the copy itself.
   */
  private append(ownerLength: number, type: number, cls: number, ttl: number): StreamChunk | undefined {
    let chunk: StreamChunk | undefined;
    const rec = this.record;
    if (this.len >= this.due && (rec.newOwner || this.len >= 4 * this.targetBytes)) chunk = this.cut();
    const rdlength = rec.to - rec.from;
    const size = ownerLength + 10 + rdlength;
    if (this.len + size > this.buf.length) {
      const grown = new Uint8Array(Math.max(this.buf.length * 2, this.len + size));
      grown.set(this.buf.subarray(0, this.len));
      this.buf = grown;
      this.view = new DataView(grown.buffer);
    }
    const buf = this.buf, view = this.view, owner = this.owner;
    let pos = this.len;
    for (let i = 0; i < ownerLength; i++) buf[pos + i] = owner[i]!;
    pos += ownerLength;
    view.setUint16(pos, type);
    view.setUint16(pos + 2, cls);
    view.setUint32(pos + 4, ttl);
    view.setUint16(pos + 8, rdlength);
    const source = rec.source, from = rec.from, at = pos + 10;
    if (rdlength <= 64) for (let i = 0; i < rdlength; i++) buf[at + i] = source[from + i]!;
    else buf.set(source.subarray(from, rec.to), at);
    this.len = at + rdlength;
    this.count++;
    // This owner becomes the previous one.
    [this.prev, this.owner] = [this.owner, this.prev];
    this.prevLength = ownerLength;
    this.record.owner = this.owner;
    return chunk;
  }

  private cut(): StreamChunk | undefined {
    if (this.len === 0) return undefined;
    const stream = releasableBytes(this.len);
    stream.set(this.buf.subarray(0, this.len));
    const chunk = { stream, records: this.count };
    this.due = this.targetBytes;
    this.len = 0;
    this.count = 0;
    return chunk;
  }
}

/** A finished chunk of record stream and the records in it. */
export interface StreamChunk {
  stream: Uint8Array;
  records: number;
}

/** The owner in `rr` as a `Name`, for an error message. */
export function ownerName(rr: RawRecordView): Name {
  const labels: Uint8Array[] = [];
  for (let pos = 0; rr.owner[pos]! !== 0; pos += rr.owner[pos]! + 1) labels.push(rr.owner.slice(pos + 1, pos + 1 + rr.owner[pos]!));
  return Name.fromLabels(labels);
}
