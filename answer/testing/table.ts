/**
 * @module Test support for CoreDNS-style table tests: a row is one query and the response it must get,
 * sections written as presentation lines (`owner TTL TYPE rdata`). The query goes through the whole engine
 * as wire (encode → `answerQuery` → decode), so every row also exercises the message layer.
 */
import { rcodeToString, typeToString } from "../../dns/constants.ts";
import type { Edns } from "../../dns/edns.ts";
import { type Message, type ResourceRecord, decodeMessage } from "../../dns/message.ts";
import { rdataToText } from "../../dns/rdata/index.ts";
import { queryWire } from "../../dns/testing/query-wire.ts";
import type { Transport } from "../any.ts";
import { answerQuery } from "../engine.ts";
import type { ZoneStore } from "../zone-store.ts";

export interface Row {
  /** What the row shows, for the test title. */
  why: string;
  qname: string;
  qtype: string;
  qclass?: number;
  /** Expected rcode mnemonic (`NOERROR`, `NXDOMAIN`, …). */
  rcode: string;
  aa?: boolean;
  tc?: boolean;
  answer?: string[];
  ns?: string[];
  extra?: string[];
  /** Send an OPT (default: yes, payload 1232, version 0). `false` sends none. */
  edns?: false | Partial<Edns>;
  dnssecOk?: boolean;
  transport?: Transport;
  client?: string;
  admin?: boolean;
  now?: number;
}

export interface Outcome {
  rcode: string;
  aa: boolean;
  tc: boolean;
  answer: string[];
  ns: string[];
  extra: string[];
  response: Message;
}

/** `owner TTL TYPE rdata`, the owner spelled as it came off the wire. */
export function presentation(rr: ResourceRecord): string {
  return `${rr.name} ${rr.ttl} ${typeToString(rr.type)} ${rdataToText(rr.type, rr.rdata)}`;
}

// A query's wire form lives in `dns/testing/` so that tests of both runtimes share it; the table's
// callers keep importing it from here.
export { queryWire };

/** Runs one row through the engine. */
export async function run(store: ZoneStore, row: Row): Promise<Outcome> {
  const wire = queryWire(row.qname, row.qtype, { qclass: row.qclass, edns: row.edns, dnssecOk: row.dnssecOk });
  const { wire: out } = await answerQuery(store, wire, {
    transport: row.transport ?? "tcp",
    client: { address: row.client, admin: row.admin ?? false },
    now: row.now ?? Date.now(),
  });
  const response = decodeMessage(out);
  return {
    rcode: rcodeToString(response.rcode),
    aa: response.flags.aa,
    tc: response.flags.tc,
    answer: response.answers.map(presentation),
    ns: response.authorities.map(presentation),
    extra: response.additionals.map(presentation),
    response,
  };
}

/** The part of an outcome a row states, for `toEqual`. */
export function expected(row: Row): Partial<Outcome> {
  const out: Partial<Outcome> = { rcode: row.rcode, answer: row.answer ?? [], ns: row.ns ?? [], extra: row.extra ?? [] };
  if (row.aa !== undefined) out.aa = row.aa;
  if (row.tc !== undefined) out.tc = row.tc;
  return out;
}

/** The same fields of an actual outcome. */
export function actual(row: Row, got: Outcome): Partial<Outcome> {
  const out: Partial<Outcome> = { rcode: got.rcode, answer: got.answer, ns: got.ns, extra: got.extra };
  if (row.aa !== undefined) out.aa = got.aa;
  if (row.tc !== undefined) out.tc = got.tc;
  return out;
}
