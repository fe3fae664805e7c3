/**
 * @module The shape of a query read straight off the wire, without a full decode: header counts, the one
 * question (name bounds, type, class) and the OPT (UDP size, DO, version, where a DNS cookie sits). This is the port-53 front's hot
 * path — every query is read here once, to pick a cache key, a local answer or the forward — so it is
 * hand-rolled over the bytes instead of building a `Message` with records and names that the front never
 * looks at; the Worker does the full decode when the query goes on.
 *
 * A query is `plain` when its cache key says everything about it: exactly one question with an
 * uncompressed name (RFC 1035 §4.1.4: nothing precedes it to point at), no answer or authority records,
 * and at most one additional record, an OPT owned by the root (RFC 6891 §6.1.1). Anything else (TSIG,
 * several questions, a stray record, trailing octets) is still forwarded, but never answered from the cache.
 *
 * The OPT is read in every case, not only a plain query's: a FORMERR the front answers itself to a query with
 * no or several questions must carry an OPT when the query had one (RFC 6891 §7). Its options are walked
 * (`dns/wire/opt-scan.ts`): a malformed one (a header cut short, data past the RDATA) makes the query
 * `ednsMalformed`, which the front answers FORMERR with the question and no OPT, as knotd and named do — the
 * cache key leaves options out, so without this check a cached answer would stand for such a query.
 */
import { RRType } from "../../../dns/constants.ts";
import { HEADER_LENGTH } from "../../../dns/header.ts";
import { asciiLower } from "../../../dns/name.ts";
import { locateOpt, OPTION_EXPIRE, OPTION_NSID, OPTIONS_MALFORMED, scanOptions } from "../../../dns/wire/opt-scan.ts";
import { WireError } from "../../../dns/wire/reader.ts";

export interface QueryEdns {
  udpSize: number;
  dnssecOk: boolean;
  version: number;
  /** The query carries an NSID option (RFC 5001): the front adds its identity when it has one. */
  nsid: boolean;
  /** The query carries an EDNS EXPIRE option (RFC 7314): its answer counts down, so it is never cached. */
  expire: boolean;
  /**
   * The first COOKIE option's data (RFC 7873) is `wire[cookieAt, cookieAt + cookieLength)`: the client
   * cookie, then the server cookie if any. `cookieAt` is -1 without one. A length that is neither 8 nor
   * 16..40 is FORMERR (RFC 7873 §5.2.2; `cookieLengthValid`).
   */
  cookieAt: number;
  cookieLength: number;
}

export interface QueryShape {
  id: number;
  /** The second 16-bit word of the header: QR, opcode, AA, TC, RD, RA, Z, AD, CD, rcode. */
  flags: number;
  opcode: number;
  qdcount: number;
  /** The question's name spans `[12, qnameEnd)`; its type and class follow. Meaningful when qdcount ≥ 1. */
  qnameEnd: number;
  qtype: number;
  qclass: number;
  /** Just past the first question. */
  questionEnd: number;
  /** The OPT, when the query has one with well-formed options (wherever it sits in the additional section). */
  edns: QueryEdns | undefined;
  /** The query has an OPT whose options overrun its RDATA: FORMERR (and `edns` is undefined). */
  ednsMalformed: boolean;
  plain: boolean;
}

const MAX_NAME_WIRE = 255;
/** The COOKIE option's code (RFC 7873). */
const OPTION_CODE_COOKIE = 10;

/** A big-endian 16-bit word (a module function, not a closure per call: this runs for every query). */
function u16(wire: Uint8Array, at: number): number {
  return (wire[at]! << 8) | wire[at + 1]!;
}

/**
 * Reads the shape of `wire`.
 * @throws WireError when the header or the first question cannot be read (the caller answers FORMERR).
 */
export function readQueryShape(wire: Uint8Array): QueryShape {
  if (wire.length < HEADER_LENGTH) throw new WireError("truncated", "shorter than a header", 0);
  const flags = u16(wire, 2);
  const qdcount = u16(wire, 4), ancount = u16(wire, 6), nscount = u16(wire, 8), arcount = u16(wire, 10);
  const shape: QueryShape = {
    id: u16(wire, 0),
    flags,
    opcode: (flags >> 11) & 0xf,
    qdcount,
    qnameEnd: HEADER_LENGTH,
    qtype: 0,
    qclass: 0,
    questionEnd: HEADER_LENGTH,
    edns: undefined,
    ednsMalformed: false,
    plain: false,
  };
  if (qdcount === 0) return withOpt(wire, shape);

  // The first name: labels only; a pointer here could only point into the header, so it is not plain.
  let at = HEADER_LENGTH;
  for (;;) {
    if (at >= wire.length) throw new WireError("truncated", "question name runs past the message", at);
    const len = wire[at]!;
    if (len === 0) break;
    if (len > 63) {
      // Compression pointers and retired label types: let the Worker's full decoder judge the message.
      return withOpt(wire, shape);
    }
    at += 1 + len;
    if (at - HEADER_LENGTH >= MAX_NAME_WIRE) throw new WireError("name-too-long", "question name over 255 octets", at);
  }
  shape.qnameEnd = at + 1;
  if (shape.qnameEnd + 4 > wire.length) throw new WireError("truncated", "question type and class missing", shape.qnameEnd);
  shape.qtype = u16(wire, shape.qnameEnd);
  shape.qclass = u16(wire, shape.qnameEnd + 2);
  shape.questionEnd = shape.qnameEnd + 4;
  if (qdcount !== 1 || ancount !== 0 || nscount !== 0 || arcount > 1) return withOpt(wire, shape);
  if (arcount === 0) {
    shape.plain = shape.questionEnd === wire.length;
    return shape;
  }
  // One additional record: plain only when it is an OPT owned by the root, ending the message exactly.
  const opt = shape.questionEnd;
  if (opt + 11 > wire.length || wire[opt] !== 0 || u16(wire, opt + 1) !== RRType.OPT) return withOpt(wire, shape);
  const rdlength = u16(wire, opt + 9);
  if (opt + 11 + rdlength !== wire.length) return withOpt(wire, shape);
  shape.plain = readOpt(wire, shape, opt, rdlength);
  return shape;
}

/**
 * Fills `shape.edns` (or `ednsMalformed`) from the OPT at `opt` with `rdlength` octets of RDATA; true when
 * its options are well formed. RFC 6891 §6.1.3: TTL = extended rcode (8) | version (8) | DO (1) | Z (15).
 */
function readOpt(wire: Uint8Array, shape: QueryShape, opt: number, rdlength: number): boolean {
  const options = scanOptions(wire, opt + 11, rdlength);
  if (options === OPTIONS_MALFORMED) {
    shape.ednsMalformed = true;
    return false;
  }
  const edns: QueryEdns = { udpSize: u16(wire, opt + 3), version: wire[opt + 6]!, dnssecOk: (wire[opt + 7]! & 0x80) !== 0, nsid: (options & OPTION_NSID) !== 0, expire: (options & OPTION_EXPIRE) !== 0, cookieAt: -1, cookieLength: 0 };
  // The COOKIE option's place (a second walk over options already known to be well formed; usually one).
  for (let at = opt + 11, end = at + rdlength; at < end; at += 4 + u16(wire, at + 2)) {
    if (u16(wire, at) === OPTION_CODE_COOKIE) {
      edns.cookieAt = at + 4;
      edns.cookieLength = u16(wire, at + 2);
      break;
    }
  }
  shape.edns = edns;
  return true;
}

/**
 * Off the hot path (a query that is not plain): the OPT found by walking the message, if it can be walked
 * and the OPT is owned by the root; otherwise `edns` stays undefined and the Worker's full decode judges.
 */
function withOpt(wire: Uint8Array, shape: QueryShape): QueryShape {
  let found;
  try {
    found = locateOpt(wire);
  } catch (err) {
    if (err instanceof WireError) return shape;
    throw err;
  }
  if (found !== undefined && wire[found.at] === 0) readOpt(wire, shape, found.at, found.rdlength);
  return shape;
}

/**
 * Writes the question name's octets into `out` from `at`, ASCII letters folded to lower case (RFC 4343);
 * returns where they end. `out` needs room for 255 octets.
 */
export function writeLowerQname(wire: Uint8Array, shape: QueryShape, out: Uint8Array, at: number): number {
  for (let i = HEADER_LENGTH; i < shape.qnameEnd; i++) {
    out[at++] = asciiLower(wire[i]!);
  }
  return at;
}
