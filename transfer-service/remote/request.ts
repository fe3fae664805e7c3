/**
 * @module A request to a primary (SOA query, AXFR, IXFR), signed with TSIG when the zone has a key, and
 * the checks every reply must pass before its content means anything: same ID (RFC 5452 §9.1, with a
 * random ID), QR set, opcode QUERY, and the question echoed (RFC 5936 §2.2.1: a transfer's later messages
 * may leave the question out).
 *
 * Every request carries an OPT with the EDNS EXPIRE option (RFC 7314 §4: a secondary adds it to its SOA,
 * AXFR and IXFR requests), so a primary that is itself a secondary tells how long its copy has left.
 */
import { randomInt } from "node:crypto";
import { Opcode, RRClass } from "../../dns/constants.ts";
import { noFlags } from "../../dns/header.ts";
import { encodeMessage, type Message, type ResourceRecord } from "../../dns/message.ts";
import { DEFAULT_UDP_PAYLOAD_SIZE, EDNS_VERSION } from "../../dns/edns.ts";
import { expireRequest } from "../../dns/edns-expire.ts";
import type { Name } from "../../dns/name.ts";
import type { TsigKey } from "../../dns/tsig/key.ts";
import { signRequest } from "../../dns/tsig/sign.ts";
import type { Clock } from "../../dns/tsig/time.ts";
import { TransferError } from "./transfer-error.ts";

export interface Request {
  id: number;
  zone: Name;
  qtype: number;
  wire: Uint8Array;
  /** The request's MAC when signed: the input of the reply's MAC. */
  mac?: Uint8Array;
  key?: TsigKey;
}

export interface RequestOptions {
  key?: TsigKey;
  /** IXFR: our current SOA record, sent in the authority section (RFC 1995 §3). */
  authority?: ResourceRecord;
  now?: Clock;
}

export async function buildRequest(zone: Name, qtype: number, options: RequestOptions = {}): Promise<Request> {
  const id = randomInt(0, 0x10000);
  const message: Message = {
    id,
    opcode: Opcode.QUERY,
    flags: noFlags(),
    rcode: 0,
    questions: [{ name: zone, type: qtype, class: RRClass.IN }],
    answers: [],
    authorities: options.authority ? [options.authority] : [],
    additionals: [],
    // RFC 7314 §4; the primary's answer (`expireFromAnswer`) goes into our expiry (soa-timers.ts).
    edns: { udpPayloadSize: DEFAULT_UDP_PAYLOAD_SIZE, extendedRcode: 0, version: EDNS_VERSION, dnssecOk: false, flags: 0, options: [expireRequest()] },
  };
  const wire = encodeMessage(message).wire;
  if (!options.key) return { id, zone, qtype, wire };
  const signed = await signRequest(wire, options.key, { now: options.now });
  return { id, zone, qtype, wire: signed.message, mac: signed.mac, key: options.key };
}

/**
 * Checks that `reply` answers `request`.
 * @param questionOptional true for the second and later messages of a transfer.
 * @throws TransferError("malformed")
 */
export function checkReply(reply: Message, request: Request, peer: string, questionOptional: boolean): void {
  if (reply.id !== request.id) {
    throw new TransferError("malformed", `${peer} replied with ID ${reply.id} to our query with ID ${request.id}`);
  }
  if (!reply.flags.qr) throw new TransferError("malformed", `${peer} sent a query (QR clear) instead of a reply`);
  if (reply.opcode !== Opcode.QUERY) throw new TransferError("malformed", `${peer} replied with opcode ${reply.opcode} to a QUERY`);
  if (reply.questions.length === 0 && questionOptional) return;
  const q = reply.questions[0];
  if (reply.questions.length !== 1 || !q || !q.name.equals(request.zone) || q.type !== request.qtype || q.class !== RRClass.IN) {
    throw new TransferError("malformed", `${peer}'s reply does not repeat our question (${request.zone} type ${request.qtype})`);
  }
}
