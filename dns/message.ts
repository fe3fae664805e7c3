/**
 * @module A whole DNS message (RFC 1035 §4.1) ↔ wire: header, question, answer, authority and additional
 * sections, with EDNS (RFC 6891) and TSIG (RFC 8945) lifted out of the additional section.
 *
 * Decoding is strict: every malformed, truncated or inconsistent input raises a typed `WireError`, so a
 * server can answer FORMERR (it reads the id and opcode again with header.ts's `decodeHeader`). RDATA is
 * stored uncompressed (names expanded, rdata-names.ts), so records are byte-exact and portable between
 * messages, storage and digests.
 *
 * Encoding compresses owner names, question names and the names inside RFC 1035 types' RDATA, and keeps
 * the message within `maxSize`, truncating as RFC 2181 §9 describes. Hand-written (not dns-packet) because
 * it is the hot path and because dns-packet's encoder drops the opcode and never compresses.
 */
import { type Name, NameError } from "./name.ts";
import { RRClass, RRType } from "./constants.ts";
import { type Edns, decodeOpt, encodeOpt, joinRcode, optWireLength, splitRcode } from "./edns.ts";
import { type Flags, HEADER_LENGTH, readHeader, setCounts, setTruncatedBit, writeHeader } from "./header.ts";
import { readRdata, writeRdata } from "./wire/rdata-names.ts";
import { WireError, WireReader } from "./wire/reader.ts";
import { WireOverflow, WireWriter } from "./wire/writer.ts";

export type { Flags } from "./header.ts";
export type { Edns } from "./edns.ts";

export interface Question {
  name: Name;
  type: number;
  class: number;
}

/** rdata is always the UNCOMPRESSED wire form (names inside expanded), so records are byte-exact and portable. */
export interface ResourceRecord {
  name: Name;
  type: number;
  class: number;
  /** 0 – 2^32-1 as on the wire (RFC 2181 §8 asks readers to treat values above 2^31-1 as 0; callers decide). */
  ttl: number;
  rdata: Uint8Array;
}

export interface Message {
  id: number;
  opcode: number;
  flags: Flags;
  /** Full 12-bit rcode: the header's 4 bits + the OPT's extended 8 bits (RFC 6891 §6.1.3). */
  rcode: number;
  questions: Question[];
  answers: ResourceRecord[];
  authorities: ResourceRecord[];
  /** Without OPT and TSIG. */
  additionals: ResourceRecord[];
  edns?: Edns;
  /** The TSIG RR (last in additional, RFC 8945 §5.1) and the octet offset where it starts. */
  tsig?: { record: ResourceRecord; offset: number };
}

export interface EncodeOptions {
  /** The largest message to produce (the negotiated UDP payload size; 65535 for TCP). Default 65535. */
  maxSize?: number;
  /** Compress names (owner, question, RFC 1035 RDATA). Default true; false writes every name in full. */
  compress?: boolean;
  /**
   * The array the message is copied out into, `length` octets (zeroed or not: every octet is written). The
   * port-53 front passes a `Slab`'s (`wire/slab.ts`), a view of a shared buffer instead of an off-heap array
   * each; default, a new array of its own.
   */
  allocate?: ((length: number) => Uint8Array) | undefined;
}

export interface EncodeResult {
  wire: Uint8Array;
  /** TC was set because an answer or authority RRset did not fit. */
  truncated: boolean;
  /** Additional records left out for room, without TC (RFC 2181 §9). OPT and TSIG are never left out. */
  additionalsDropped: number;
}

/**
 * The body of every message `encodeMessage` writes, before it is copied out at its exact length: a message
 * is encoded synchronously from start to end, so one array serves them all (the answer engine encodes one
 * per query, and a fresh 512-octet array, then a copy and a join, measured a large share of its time).
 */
const encodeScratch = new Uint8Array(0xffff);
/**
 * The one writer over `encodeScratch`, emptied (`reset`) for each message: its compression tables are kept
 * from message to message rather than grown again as new arrays each time (issue 27, session 10). Safe for
 * the same reason as the scratch: a message is encoded from start to end without anything else running.
 */
const encodeWriter = new WireWriter({ preserveCase: true, buffer: encodeScratch });

/** The smallest a question (root name, type, class) and an RR (root owner, fixed fields) can be. */
const MIN_QUESTION = 5;
const MIN_RR = 11;

/**
 * Parses a message.
 *
 * 1. Header; the section counts must be possible within the octets left (a quick check before reading).
 * 2. Questions, then answer, authority and additional RRs, each RR's RDATA expanded (rdata-names.ts).
 * 3. OPT (RFC 6891 §6.1.1): only in the additional section, at most once, owned by the root.
 * 4. TSIG (RFC 8945 §5.1): only as the last record of the additional section.
 * 5. No octets may follow the last record.
 * @throws WireError only.
 */
export function decodeMessage(wire: Uint8Array): Message {
  try {
    return decode(wire);
  } catch (err) {
    // The reader checks label and name lengths itself, so this is a second line of defence.
    if (err instanceof NameError) throw new WireError("inconsistent", err.message, 0);
    throw err;
  }
}

function decode(wire: Uint8Array): Message {
  const r = new WireReader(wire);
  const h = readHeader(r);
  const rrCount = h.ancount + h.nscount + h.arcount;
  if (h.qdcount * MIN_QUESTION + rrCount * MIN_RR > r.remaining) {
    throw new WireError(
      "inconsistent",
      `counts (${h.qdcount}/${h.ancount}/${h.nscount}/${h.arcount}) need more than the ${r.remaining} octets left`,
      4,
    );
  }
  const questions: Question[] = [];
  for (let i = 0; i < h.qdcount; i++) {
    const name = r.name();
    questions.push({ name, type: r.u16(), class: r.u16() });
  }
  const answers = readSection(r, h.ancount, "answer");
  const authorities = readSection(r, h.nscount, "authority");
  const additionals: ResourceRecord[] = [];
  let edns: Edns | undefined;
  let tsig: Message["tsig"];
  for (let i = 0; i < h.arcount; i++) {
    const offset = r.offset;
    const rr = readRecord(r);
    if (rr.type === RRType.OPT) {
      if (edns !== undefined) throw new WireError("bad-opt", "more than one OPT record (RFC 6891 §6.1.1)", offset);
      if (!rr.name.isRoot()) throw new WireError("bad-opt", "OPT record not owned by the root (RFC 6891 §6.1.2)", offset);
      edns = decodeOpt(rr);
    } else if (rr.type === RRType.TSIG) {
      if (i !== h.arcount - 1) {
        throw new WireError("bad-tsig", "TSIG record is not the last additional record (RFC 8945 §5.1)", offset);
      }
      tsig = { record: rr, offset };
    } else {
      additionals.push(rr);
    }
  }
  r.expectEnd("the last record");
  const message: Message = {
    id: h.id,
    opcode: h.opcode,
    flags: h.flags,
    rcode: joinRcode(h.rcode, edns?.extendedRcode ?? 0),
    questions,
    answers,
    authorities,
    additionals,
  };
  if (edns !== undefined) message.edns = edns;
  if (tsig !== undefined) message.tsig = tsig;
  return message;
}

function readSection(r: WireReader, count: number, section: string): ResourceRecord[] {
  const out: ResourceRecord[] = [];
  for (let i = 0; i < count; i++) {
    const offset = r.offset;
    const rr = readRecord(r);
    if (rr.type === RRType.OPT) {
      throw new WireError("bad-opt", `OPT record in the ${section} section (RFC 6891 §6.1.1)`, offset);
    }
    if (rr.type === RRType.TSIG) {
      throw new WireError("bad-tsig", `TSIG record in the ${section} section (RFC 8945 §5.1)`, offset);
    }
    out.push(rr);
  }
  return out;
}

function readRecord(r: WireReader): ResourceRecord {
  const name = r.name();
  const type = r.u16();
  const cls = r.u16();
  const ttl = r.u32();
  const rdlength = r.u16();
  // RFC 2136 §2.4.1, §2.5.2: an UPDATE's prerequisites and deletions of class ANY or NONE carry no rdata
  // whatever their type (an MX with rdlength 0); there are no names inside to expand.
  const rdata = rdlength === 0 && (cls === RRClass.ANY || cls === RRClass.NONE) ? new Uint8Array(0) : readRdata(r, type, rdlength);
  return { name, type, class: cls, ttl, rdata };
}

/**
 * Writes a message, at most `maxSize` octets.
 *
 * 1. Room for the OPT record (and the TSIG record, if the message carries one) is set aside first, so
 *    neither is ever dropped.
 * 2. Header, questions, answers, authorities: at the first RR that does not fit, the whole RRset it belongs
 *    to (the run of records with its owner, type and class) and everything after it are dropped and TC is
 *    set (RFC 2181 §9; a partial RRset would otherwise be cached as if complete).
 * 3. Additionals: at the first RRset that does not fit, it and the rest are dropped without TC (RFC 2181
 *    §9: TC is not for extra information). The count is returned so a caller that must send all glue
 *    (RFC 9471) can set TC itself.
 * 4. OPT (carrying the upper 8 bits of `rcode`), then TSIG, uncompressed.
 * @throws RangeError for fields out of range (an rcode above 15 without EDNS, an id over 65535, an OPT or
 * TSIG record inside a section…), and WireOverflow when not even the header, OPT and TSIG fit in `maxSize`
 * (a question that does not fit is truncation, with TC).
 */
export function encodeMessage(msg: Message, opts: EncodeOptions = {}): EncodeResult {
  // A message never exceeds 65535 octets: TCP frames it with a 16-bit length (RFC 1035 §4.2.2).
  const maxSize = Math.min(opts.maxSize ?? 0xffff, 0xffff);
  const compress = opts.compress ?? true;
  const { header: headerRcode, extended } = splitRcode(msg.rcode);
  if (extended !== 0 && msg.edns === undefined) {
    throw new RangeError(`rcode ${msg.rcode} needs an OPT record to carry its upper bits`);
  }
  const opt = msg.edns === undefined ? undefined : encodeOpt({ ...msg.edns, extendedRcode: extended });
  let reserved = msg.edns === undefined ? 0 : optWireLength(msg.edns);
  if (msg.tsig !== undefined) reserved += recordWireLength(msg.tsig.record);
  const bodyLimit = maxSize - reserved;
  if (bodyLimit < HEADER_LENGTH) throw new WireOverflow(maxSize);

  // Case-exact compression: a record must read back with the octets it was stored with (RFC 4343 §4.1).
  const w = encodeWriter;
  w.reset(bodyLimit);
  writeHeader(w, {
    id: msg.id,
    opcode: msg.opcode,
    flags: msg.flags,
    rcode: headerRcode,
    qdcount: 0,
    ancount: 0,
    nscount: 0,
    arcount: 0,
  });
  let truncated = false;
  let qd = 0;
  for (const q of msg.questions) {
    const mark = w.mark();
    try {
      w.name(q.name, compress);
      w.u16(q.type);
      w.u16(q.class);
      qd++;
    } catch (err) {
      if (!(err instanceof WireOverflow)) throw err;
      w.rollback(mark);
      truncated = true;
      break;
    }
  }
  let an = 0, ns = 0, ar = 0, additionalsDropped: number;
  if (!truncated) {
    an = writeSection(w, msg.answers, compress);
    truncated = an < msg.answers.length;
  }
  if (!truncated) {
    ns = writeSection(w, msg.authorities, compress);
    truncated = ns < msg.authorities.length;
  }
  if (!truncated) {
    ar = writeSection(w, msg.additionals, compress);
    additionalsDropped = msg.additionals.length - ar;
  } else {
    additionalsDropped = msg.additionals.length;
  }

  // OPT and TSIG go after the body, uncompressed, into the room set aside for them (exactly enough: the
  // limit moves up by it).
  if (reserved > 0) {
    w.setMaxSize(w.length + reserved);
    if (opt !== undefined) {
      writeRecord(w, opt, false);
      ar++;
    }
    if (msg.tsig !== undefined) {
      writeRecord(w, msg.tsig.record, false);
      ar++;
    }
  }
  setCounts(w, qd, an, ns, ar);
  // The message was written into the shared scratch: one copy out.
  const body = w.written();
  const wire = opts.allocate === undefined ? new Uint8Array(body.length) : opts.allocate(body.length);
  wire.set(body);
  if (truncated) setTruncatedBit(wire, true);
  return { wire, truncated, additionalsDropped };
}

/** Writes records until one does not fit; returns how many were written, always whole RRsets. */
function writeSection(w: WireWriter, records: readonly ResourceRecord[], compress: boolean): number {
  let rrsetStart = 0;
  let rrsetMark = w.mark();
  for (let i = 0; i < records.length; i++) {
    const rr = records[i]!;
    if (rr.type === RRType.OPT || rr.type === RRType.TSIG) {
      // Placed by the encoder itself (from `edns` and `tsig`); one in a section would make a message that
      // no reader accepts (RFC 6891 §6.1.1, RFC 8945 §5.1).
      throw new RangeError(`${rr.type === RRType.OPT ? "OPT" : "TSIG"} record in a section; use Message.${rr.type === RRType.OPT ? "edns" : "tsig"}`);
    }
    if (i > 0 && !sameRRset(records[i - 1]!, rr)) {
      rrsetStart = i;
      rrsetMark = w.mark();
    }
    try {
      writeRecord(w, rr, compress);
    } catch (err) {
      if (!(err instanceof WireOverflow)) throw err;
      w.rollback(rrsetMark);
      return rrsetStart;
    }
  }
  return records.length;
}

function sameRRset(a: ResourceRecord, b: ResourceRecord): boolean {
  return a.type === b.type && a.class === b.class && a.name.equals(b.name);
}

function writeRecord(w: WireWriter, rr: ResourceRecord, compress: boolean): void {
  checkRange("type", rr.type, 0xffff);
  checkRange("class", rr.class, 0xffff);
  checkRange("ttl", rr.ttl, 0xffffffff);
  // Checked before writing, so an impossible record is an error rather than a truncation.
  if (rr.rdata.length > 0xffff) throw new RangeError(`RDATA of ${rr.rdata.length} octets exceeds 65535`);
  w.name(rr.name, compress);
  w.u16(rr.type);
  w.u16(rr.class);
  w.u32(rr.ttl);
  const lengthAt = w.length;
  w.u16(0);
  const rdlength = writeRdata(w, rr.type, rr.rdata, compress);
  if (rdlength > 0xffff) throw new RangeError(`RDATA of ${rdlength} octets exceeds 65535`);
  w.setU16(lengthAt, rdlength);
}

/** Octets an RR takes uncompressed. */
function recordWireLength(rr: ResourceRecord): number {
  return rr.name.wireLength + 10 + rr.rdata.length;
}

function checkRange(what: string, v: number, max: number): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`${what} ${v} is outside 0–${max}`);
}
