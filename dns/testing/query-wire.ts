/**
 * @module A DNS query in wire form for tests of either runtime: the Worker's table tests, the port-53
 * front's and the integration tests all build their queries here.
 */
import { Opcode, RRClass, RRType, typeFromString } from "../constants.ts";
import type { Edns } from "../edns.ts";
import { noFlags } from "../header.ts";
import { type Message, encodeMessage } from "../message.ts";
import { Name } from "../name.ts";

/** `qname qtype` as a query (ID 0x1234 unless given), with an OPT of 1232 octets unless `edns` is false. */
export function queryWire(qname: string, qtype: string, options: { qclass?: number; edns?: false | Partial<Edns>; dnssecOk?: boolean; id?: number } = {}): Uint8Array {
  const type = typeFromString(qtype);
  if (type === undefined) throw new Error(`unknown type ${qtype}`);
  const message: Message = {
    id: options.id ?? 0x1234,
    opcode: Opcode.QUERY,
    flags: noFlags(),
    rcode: 0,
    questions: [{ name: Name.parse(qname), type, class: options.qclass ?? RRClass.IN }],
    answers: [],
    authorities: [],
    additionals: [],
  };
  if (options.edns !== false) {
    message.edns = {
      udpPayloadSize: 1232,
      extendedRcode: 0,
      version: 0,
      dnssecOk: options.dnssecOk ?? false,
      flags: 0,
      options: [],
      ...(options.edns ?? {}),
    };
  }
  return encodeMessage(message).wire;
}

/** A NOTIFY for `zone` (RFC 1996 §3.7: QTYPE SOA, AA set unless `aa` is false), ID 4242 unless given. */
export function notifyWire(zone: string, options: { id?: number; aa?: boolean } = {}): Uint8Array {
  return encodeMessage({
    id: options.id ?? 4242,
    opcode: Opcode.NOTIFY,
    flags: { ...noFlags(), aa: options.aa ?? true },
    rcode: 0,
    questions: [{ name: Name.parse(zone), type: RRType.SOA, class: RRClass.IN }],
    answers: [],
    authorities: [],
    additionals: [],
  }).wire;
}
