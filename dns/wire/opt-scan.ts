/**
 * @module The OPT record of a message found and edited in place, without a full decode.
 *
 * The port-53 front reads queries by their shape only (`query-shape.ts`), and answers from its cache or the
 * Worker's octets as they came. Three things still need the OPT there: a local FORMERR to a query with an
 * odd question count must carry an OPT when the query had one (RFC 6891 §7), the options must be well
 * formed before a cached answer may stand for the query (a malformed option is FORMERR, as knotd and named
 * answer), and an NSID request (RFC 5001) is answered by adding the front's own identity to whatever answer
 * goes out. The Worker uses the same NSID step for DoH.
 *
 * Hand-rolled over the octets (no `WireReader`, no `Name`): `scanOptions` runs for every query that has an
 * OPT, on the front's hot path. The other functions run only off it (odd queries, NSID requests).
 */
import { HEADER_LENGTH } from "../header.ts";
import { WireError } from "./reader.ts";

const OPT = 41;
const NSID = 3;
const EXPIRE = 9;

/** What `scanOptions` found in an OPT's RDATA: `MALFORMED`, or the bits below. */
export const OPTIONS_MALFORMED = -1;
/** The query carries an NSID option (RFC 5001 §2.1: a request has it empty; any content is ignored). */
export const OPTION_NSID = 1;
/** The query carries an EDNS EXPIRE option (RFC 7314 §2): its answer says seconds that count down, never cached. */
export const OPTION_EXPIRE = 2;

function u16(wire: Uint8Array, at: number): number {
  return (wire[at]! << 8) | wire[at + 1]!;
}

/**
 * Walks the options in `wire[start, start + length)` (an OPT's RDATA, RFC 6891 §6.1.2): each a code, a
 * length and that many octets, ending exactly at the RDATA's end. Returns `OPTIONS_MALFORMED` when an
 * option's header is cut short or its data runs past the RDATA, else the `OPTION_*` bits that apply.
 */
export function scanOptions(wire: Uint8Array, start: number, length: number): number {
  const end = start + length;
  let found = 0;
  let at = start;
  while (at < end) {
    if (at + 4 > end) return OPTIONS_MALFORMED;
    const code = u16(wire, at);
    at += 4 + u16(wire, at + 2);
    if (at > end) return OPTIONS_MALFORMED;
    if (code === NSID) found |= OPTION_NSID;
    else if (code === EXPIRE) found |= OPTION_EXPIRE;
  }
  return found;
}

/**
 * The offset just past the (possibly compressed) name at `at`.
 * @throws WireError when the name runs past the message or uses a retired label type.
 */
export function skipName(wire: Uint8Array, at: number): number {
  for (let octets = 0; ; ) {
    if (at >= wire.length) throw new WireError("truncated", "name runs past the message", at);
    const len = wire[at]!;
    if (len === 0) return at + 1;
    if ((len & 0xc0) === 0xc0) {
      if (at + 2 > wire.length) throw new WireError("truncated", "compression pointer cut short", at);
      return at + 2;
    }
    if (len > 63) throw new WireError("bad-label-type", `label type 0x${(len & 0xc0).toString(16)}`, at);
    at += 1 + len;
    octets += 1 + len;
    if (octets > 255) throw new WireError("name-too-long", "name over 255 octets", at);
  }
}

/** Where an OPT record sits in a message. */
export interface OptPosition {
  /** The OPT record's first octet (its root owner). */
  at: number;
  /** Its RDATA's first octet, and the RDATA's length. */
  rdataAt: number;
  rdlength: number;
  /** The OPT is the message's last record and its RDATA ends the message (nothing, e.g. TSIG, follows). */
  last: boolean;
}

/**
 * The first OPT record of the additional section, if any: the questions and the answer and authority
 * records are skipped by their lengths, nothing is decoded.
 * @throws WireError when the message's structure cannot be walked (a name or record cut short).
 */
export function locateOpt(wire: Uint8Array): OptPosition | undefined {
  if (wire.length < HEADER_LENGTH) throw new WireError("truncated", "shorter than a header", 0);
  const qdcount = u16(wire, 4);
  const rrBefore = u16(wire, 6) + u16(wire, 8);
  const arcount = u16(wire, 10);
  let at = HEADER_LENGTH;
  for (let i = 0; i < qdcount; i++) {
    at = skipName(wire, at) + 4;
    if (at > wire.length) throw new WireError("truncated", "question cut short", at);
  }
  for (let i = 0; i < rrBefore + arcount; i++) {
    const start = at;
    at = skipName(wire, at);
    if (at + 10 > wire.length) throw new WireError("truncated", "record cut short", at);
    const type = u16(wire, at);
    const rdlength = u16(wire, at + 8);
    const rdataAt = at + 10;
    at = rdataAt + rdlength;
    if (at > wire.length) throw new WireError("truncated", "RDATA runs past the message", rdataAt);
    if (type === OPT && i >= rrBefore) return { at: start, rdataAt, rdlength, last: i === rrBefore + arcount - 1 && at === wire.length };
  }
  return undefined;
}

/**
 * `reply` with one more EDNS option (`code`, `data`) at the end of its OPT, or `reply` itself when that
 * cannot be done cleanly: no OPT, an OPT that is not the last record (a TSIG after it would no longer
 * verify), RDATA that would pass 65535 octets, or a result longer than `maxSize` (an answer is never cut
 * or truncated for an informational option; RFC 5001 §2.3 lets a server leave NSID out).
 */
export function appendEdnsOption(reply: Uint8Array, code: number, data: Uint8Array, maxSize: number): Uint8Array {
  let opt: OptPosition | undefined;
  try {
    opt = locateOpt(reply);
  } catch (err) {
    if (err instanceof WireError) return reply;
    throw err;
  }
  const added = 4 + data.length;
  if (!opt || !opt.last || opt.rdlength + added > 0xffff || reply.length + added > maxSize) return reply;
  const out = new Uint8Array(reply.length + added);
  out.set(reply);
  const view = new DataView(out.buffer);
  view.setUint16(opt.rdataAt - 2, opt.rdlength + added);
  view.setUint16(reply.length, code);
  view.setUint16(reply.length + 2, data.length);
  out.set(data, reply.length + 4);
  return out;
}

/**
 * The `OPTION_*` bits of the OPT in a query (0 without one), `OPTIONS_MALFORMED` when its options are
 * malformed, and 0 when the message cannot be walked (its full decode will say why).
 */
export function queryOptions(wire: Uint8Array): number {
  let opt: OptPosition | undefined;
  try {
    opt = locateOpt(wire);
  } catch (err) {
    if (err instanceof WireError) return 0;
    throw err;
  }
  return opt === undefined ? 0 : scanOptions(wire, opt.rdataAt, opt.rdlength);
}
