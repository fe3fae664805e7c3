/**
 * @module What the DNS listener does with a message, by opcode:
 *
 * 1. Shorter than a header: dropped (no ID to echo). A response (QR=1): dropped, so two servers can
 *    never bounce replies at each other.
 * 2. Body unparseable: FORMERR with the header's ID and opcode, no question (reply.ts).
 * 3. NOTIFY (RFC 1996): handed to the NOTIFY receiver (notify.ts), which decides and signs the reply.
 * 4. QUERY: REFUSED for now; the port-53 front (forwarding to the Worker) takes this over later.
 * 5. Any other opcode (IQUERY, STATUS, UPDATE, DSO, unassigned): NOTIMP (RFC 1035 §4.1.1).
 * A QUERY or NOTIFY whose question count is not exactly one is FORMERR (RFC 1996 §3.7 for NOTIFY).
 */
import { Opcode, Rcode, opcodeToString, rcodeToString } from "../dns/constants.ts";
import { decodeHeader, HEADER_LENGTH } from "../dns/header.ts";
import { decodeMessage, encodeMessage, type Message } from "../dns/message.ts";
import { WireError } from "../dns/wire/reader.ts";
import type { DnsHandler, RequestContext } from "./dns-listener.ts";
import type { Metrics } from "./metrics.ts";
import { headerOnlyReply, replyTo } from "./reply.ts";

/** Handles a parsed NOTIFY; resolves to the reply's wire form (signed when the NOTIFY was). */
export type NotifyReceiver = (query: Message, wire: Uint8Array, ctx: RequestContext) => Promise<Uint8Array>;

export interface DispatchOptions {
  notify: NotifyReceiver;
  metrics?: Metrics;
}

export function createDispatcher(options: DispatchOptions): DnsHandler {
  const { notify, metrics } = options;
  const count = (ctx: RequestContext, opcode: number, reply: Uint8Array | null): Uint8Array | null => {
    const rcode = reply && reply.length >= 4 ? reply[3]! & 0xf : -1;
    metrics?.dnsMessages.inc({ transport: ctx.transport, opcode: opcodeToString(opcode), rcode: rcode < 0 ? "none" : rcodeToString(rcode) });
    return reply;
  };

  return async (wire, ctx) => {
    if (wire.length < HEADER_LENGTH) return null;
    const header = decodeHeader(wire);
    if (header.flags.qr) return count(ctx, header.opcode, null);

    let query: Message;
    try {
      query = decodeMessage(wire);
    } catch (err) {
      if (err instanceof WireError) return count(ctx, header.opcode, headerOnlyReply(header, Rcode.FORMERR));
      throw err;
    }
    const simple = (rcode: number): Uint8Array => encodeMessage(replyTo(query, rcode)).wire;

    switch (query.opcode) {
      case Opcode.NOTIFY:
        if (query.questions.length !== 1) return count(ctx, query.opcode, simple(Rcode.FORMERR));
        return count(ctx, query.opcode, await notify(query, wire, ctx));
      case Opcode.QUERY:
        if (query.questions.length !== 1) return count(ctx, query.opcode, simple(Rcode.FORMERR));
        return count(ctx, query.opcode, simple(Rcode.REFUSED));
      default:
        return count(ctx, query.opcode, simple(Rcode.NOTIMP));
    }
  };
}
