/**
 * @module Building the reply to a received message: same ID, QR set, opcode kept (NSD and others reject a
 * reply whose opcode differs from the request's, RFC 1996 §4.7), the question echoed, RD copied
 * (RFC 1035 §4.1.1), and an OPT when the request carried one (RFC 6891 §7).
 *
 * `headerOnlyReply` answers a message whose body could not be parsed: only its header was readable, so
 * the reply carries no question (RFC 6891 §7 likewise lets a FORMERR reply omit what could not be read).
 */
import { Rcode } from "../dns/constants.ts";
import { ednsVersionUnsupported, responseEdns } from "../dns/edns.ts";
import { type Header, HEADER_LENGTH, noFlags, packFlagsWord } from "../dns/header.ts";
import type { Message } from "../dns/message.ts";

export interface ReplyOptions {
  aa?: boolean;
}

/** A reply message to `query` with `rcode` and no records; callers add records or a TSIG before encoding. */
export function replyTo(query: Message, rcode: number, options: ReplyOptions = {}): Message {
  const flags = noFlags();
  flags.qr = true;
  flags.rd = query.flags.rd;
  flags.cd = query.flags.cd;
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

/** A 12-octet reply to a message of which only `header` could be read. */
export function headerOnlyReply(header: Header, rcode: number): Uint8Array {
  const out = new Uint8Array(HEADER_LENGTH);
  const view = new DataView(out.buffer);
  const flags = noFlags();
  flags.qr = true;
  flags.rd = header.flags.rd;
  view.setUint16(0, header.id);
  view.setUint16(2, packFlagsWord(header.opcode, flags, rcode & 0xf));
  return out;
}
