/**
 * @module Building the reply to a received message: same ID, QR set, opcode kept (NSD and others reject a
 * reply whose opcode differs from the request's, RFC 1996 §4.7), the question echoed, RD and CD copied for a
 * QUERY only (RFC 1035 §4.1.1, RFC 4035 §3.2.2: both are defined for QUERY; to any other opcode, NOTIMP
 * included, both are clear, as named answers), and an OPT when the request carried one (RFC 6891 §7).
 *
 * `headerOnlyReply` answers a message whose body could not be parsed: only its header was readable, so
 * the reply carries no question (RFC 6891 §7 likewise lets a FORMERR reply omit what could not be read).
 *
 * `shapeReply` is the port-53 front's local answer (SERVFAIL when the Worker fails, REFUSED for transfers,
 * the empty TC=1 reply of rate limiting), built from the query's octets and its `QueryShape` without a full
 * decode: the question copied as it came, and a bare OPT when the query had one.
 */
import { Opcode, Rcode } from "../../dns/constants.ts";
import { ednsVersionUnsupported, responseEdns } from "../../dns/edns.ts";
import { type Header, HEADER_LENGTH, noFlags, packFlagsWord } from "../../dns/header.ts";
import type { Message } from "../../dns/message.ts";
import type { QueryShape } from "./query/query-shape.ts";

export interface ReplyOptions {
  aa?: boolean;
}

/** A reply message to `query` with `rcode` and no records; callers add records or a TSIG before encoding. */
export function replyTo(query: Message, rcode: number, options: ReplyOptions = {}): Message {
  const flags = noFlags();
  flags.qr = true;
  flags.rd = query.opcode === Opcode.QUERY && query.flags.rd;
  flags.cd = query.opcode === Opcode.QUERY && query.flags.cd;
  flags.aa = options.aa ?? false;
  // RFC 6891 §6.1.3: a version we do not speak gets BADVERS, whatever was asked.
  const finalRcode = ednsVersionUnsupported(query.edns) ? Rcode.BADVERS : rcode;
  const reply: Message = {
    id: query.id,
    opcode: query.opcode,
    flags,
    rcode: finalRcode,
    questions: query.questions.slice(0, 1),
    answers: [],
    authorities: [],
    additionals: [],
  };
  if (query.edns !== undefined) reply.edns = responseEdns(query.edns);
  return reply;
}

/**
 * A 12-octet reply to a message of which only `header` could be read. No OPT: none could be read either
 * (knotd and named answer a message whose OPT does not parse the same way).
 */
export function headerOnlyReply(header: Header, rcode: number): Uint8Array {
  const out = new Uint8Array(HEADER_LENGTH);
  const view = new DataView(out.buffer);
  const flags = noFlags();
  flags.qr = true;
  flags.rd = header.opcode === Opcode.QUERY && header.flags.rd;
  flags.cd = header.opcode === Opcode.QUERY && header.flags.cd;
  view.setUint16(0, header.id);
  view.setUint16(2, packFlagsWord(header.opcode, flags, rcode & 0xf));
  return out;
}

/** Octets of a bare OPT record: root owner, type, class (UDP size), TTL, RDLENGTH 0 (RFC 6891 §6.1.2). */
const BARE_OPT = 11;

/**
 * A reply to a query known only by its shape: same ID, opcode, RD and CD (a QUERY's), `rcode` (header bits
 * only), the first question echoed, no records but an OPT (payload `udpSize`, DO copied) when the query had
 * one whose options could be read (`shape.edns`).
 */
export function shapeReply(wire: Uint8Array, shape: QueryShape, rcode: number, options: { tc?: boolean; udpSize?: number } = {}): Uint8Array {
  const questionBytes = shape.qdcount > 0 && shape.questionEnd > HEADER_LENGTH ? shape.questionEnd - HEADER_LENGTH : 0;
  const out = new Uint8Array(HEADER_LENGTH + questionBytes + (shape.edns ? BARE_OPT : 0));
  const view = new DataView(out.buffer);
  const flags = noFlags();
  flags.qr = true;
  flags.rd = shape.opcode === Opcode.QUERY && (shape.flags & 0x0100) !== 0;
  flags.cd = shape.opcode === Opcode.QUERY && (shape.flags & 0x0010) !== 0;
  flags.tc = options.tc ?? false;
  view.setUint16(0, shape.id);
  view.setUint16(2, packFlagsWord(shape.opcode, flags, rcode & 0xf));
  view.setUint16(4, questionBytes > 0 ? 1 : 0);
  out.set(wire.subarray(HEADER_LENGTH, HEADER_LENGTH + questionBytes), HEADER_LENGTH);
  if (shape.edns) {
    const opt = HEADER_LENGTH + questionBytes;
    view.setUint16(10, 1);
    view.setUint16(opt + 1, 41);
    view.setUint16(opt + 3, options.udpSize ?? 1232);
    out[opt + 7] = shape.edns.dnssecOk ? 0x80 : 0;
  }
  return out;
}
