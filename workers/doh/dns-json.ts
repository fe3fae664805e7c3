/**
 * @module The DNS JSON API (`Accept: application/dns-json`, `?name=&type=&do=&cd=`), the format Google
 * Public DNS and Cloudflare's 1.1.1.1 serve: a query built from URL parameters, answered by the same engine,
 * written as JSON with rdata in presentation format.
 *
 *   { "Status": 0, "TC": false, "RD": false, "RA": false, "AD": false, "CD": false,
 *     "Question": [{ "name": "example.org.", "type": 1 }],
 *     "Answer": [{ "name": "example.org.", "type": 1, "TTL": 300, "data": "192.0.2.1" }] }
 */
import { Opcode, RRClass, typeFromString } from "../../dns/constants.ts";
import { noFlags } from "../../dns/header.ts";
import { type Message, type ResourceRecord, encodeMessage } from "../../dns/message.ts";
import { Name, NameError } from "../../dns/name.ts";
import { rdataToText } from "../../dns/rdata/index.ts";

export const DNS_JSON = "application/dns-json";

export class JsonQueryError extends Error {
  override readonly name = "JsonQueryError";
}

export interface JsonRecord {
  name: string;
  type: number;
  TTL: number;
  data: string;
}

export interface JsonResponse {
  Status: number;
  TC: boolean;
  RD: boolean;
  RA: boolean;
  AD: boolean;
  CD: boolean;
  Question: Array<{ name: string; type: number }>;
  Answer?: JsonRecord[];
  Authority?: JsonRecord[];
  Additional?: JsonRecord[];
}

/** `1`/`true` (any case) is true; absent, empty, `0` and `false` are false; anything else is an error. */
function flag(value: string | undefined, what: string): boolean {
  if (value === undefined || value === "" || value === "0" || value.toLowerCase() === "false") return false;
  if (value === "1" || value.toLowerCase() === "true") return true;
  throw new JsonQueryError(`${what} must be 0, 1, true or false`);
}

/** The wire query for the URL parameters. @throws JsonQueryError with a message fit for a 400. */
export function jsonQueryWire(params: { name?: string | undefined; type?: string | undefined; do?: string | undefined; cd?: string | undefined }): Uint8Array {
  if (!params.name) throw new JsonQueryError("missing name parameter");
  let name: Name;
  try {
    name = Name.parseAbsolute(params.name);
  } catch (err) {
    if (err instanceof NameError) throw new JsonQueryError(`bad name: ${err.message}`);
    throw err;
  }
  const typeText = params.type ?? "A";
  const type = /^\d{1,5}$/.test(typeText) ? Number(typeText) : typeFromString(typeText);
  if (type === undefined || type > 0xffff) throw new JsonQueryError(`unknown type ${JSON.stringify(typeText)}`);
  const dnssecOk = flag(params.do, "do");
  const message: Message = {
    id: 0,
    opcode: Opcode.QUERY,
    flags: { ...noFlags(), rd: true, cd: flag(params.cd, "cd") },
    rcode: 0,
    questions: [{ name, type, class: RRClass.IN }],
    answers: [],
    authorities: [],
    additionals: [],
    edns: { udpPayloadSize: 1232, extendedRcode: 0, version: 0, dnssecOk, flags: 0, options: [] },
  };
  return encodeMessage(message).wire;
}

function records(section: readonly ResourceRecord[]): JsonRecord[] {
  return section.map((rr) => ({ name: rr.name.toString(), type: rr.type, TTL: rr.ttl, data: rdataToText(rr.type, rr.rdata) }));
}

/** The JSON form of a response message. Empty sections are left out, as Google and Cloudflare do. */
export function toJson(response: Message): JsonResponse {
  const out: JsonResponse = {
    Status: response.rcode,
    TC: response.flags.tc,
    RD: response.flags.rd,
    RA: response.flags.ra,
    AD: response.flags.ad,
    CD: response.flags.cd,
    Question: response.questions.map((q) => ({ name: q.name.toString(), type: q.type })),
  };
  if (response.answers.length > 0) out.Answer = records(response.answers);
  if (response.authorities.length > 0) out.Authority = records(response.authorities);
  if (response.additionals.length > 0) out.Additional = records(response.additionals);
  return out;
}
