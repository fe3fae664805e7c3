/**
 * @module The answer engine's front door: a query message in, a response message out, for every transport
 * (DoH, and UDP/TCP forwarded by the port-53 front). The order of checks:
 *   1. Fewer than 12 octets: not a DNS message; nothing to answer (`NotDnsMessage`, DoH says 400).
 *   2. A message that does not parse, or a response (QR=1): FORMERR, id and opcode echoed (RFC 1035 §4.1.1),
 *      and the question when it can be read; no OPT when the message did not parse (an OPT with malformed
 *      options included: knotd and named answer it so), the OPT echoed for a response that did.
 *      A query signed with TSIG: NOTAUTH with a BADKEY TSIG record (RFC 8945 §5.2.1; no keys here).
 *   3. OPCODE other than QUERY: NOTIMP (RFC 1035 §4.1.1; NOTIFY and UPDATE are the transfer-service's), with
 *      RD and CD clear: both are defined for QUERY only (RFC 1035 §4.1.1, RFC 4035 §3.2.2), as named answers.
 *   4. QDCOUNT ≠ 1: FORMERR (RFC 9619 §4 made one question the rule), with our OPT when the query had one.
 *   5. EDNS version above 0: BADVERS with the question and our OPT, nothing else (RFC 6891 §6.1.3; as knotd
 *      and named answer).
 *   6. QCLASS not IN (CH, ANY, …): REFUSED, as Knot and NSD answer for classes they hold no zones of.
 *      Meta QTYPEs: OPT, TSIG, TKEY in a question are FORMERR; AXFR/IXFR are REFUSED here (zone transfers
 *      are served elsewhere); MAILA/MAILB are NOTIMP (RFC 1035 §3.2.3, obsolete).
 *   7. Zone selection (`zone-select.ts`), then the lookup (`lookup.ts`). To a query with an OPT, an Extended
 *      DNS Error (RFC 8914) says why when the zone selection refuses or fails, as knotd does: 20 "Not
 *      Authoritative" on REFUSED for a name in none of our zones (a hidden zone's refusal is the same octets,
 *      so it does not reveal the zone), 24 "Invalid Data" on SERVFAIL for a zone that expired or was never
 *      loaded (§4.25 names exactly that case), with BIND's EXTRA-TEXT "zone expired" or "zone not loaded".
 *   8. The response: RD and CD copied (RFC 1035 §4.1.1, RFC 4035 §3.1.6), RA and AD never set, the query
 *      name spelled as asked (case preserved) and other names as Knot's and NSD's compression spells them
 *      (`spelling.ts`), the OPT echoed when the query had one (DO copied), with our
 *      payload size of 1232; RRSIGs only with DO=1 (glue has none). Over UDP the message is cut to the
 *      negotiated size (RFC 6891 §6.2.5) with TC set when an answer or authority RRset does not fit.
 */
import { Opcode, RRClass, RRType, Rcode } from "../dns/constants.ts";
import { type Edns, type EdnsOption, ExtendedErrorCode, ednsVersionUnsupported, extendedError, negotiatePayloadSize, responseEdns } from "../dns/edns.ts";
import { decodeHeader, HEADER_LENGTH } from "../dns/header.ts";
import { type Flags, type Message, type Question, type ResourceRecord, decodeMessage, encodeMessage } from "../dns/message.ts";
import { type Name, NameError } from "../dns/name.ts";
import { andThen, type Awaitable, isPromise, promiseOf } from "./awaitable.ts";
import { tsigErrorResponse } from "../dns/tsig/error-response.ts";
import { TsigError } from "../dns/tsig/errors.ts";
import { WireError, WireReader } from "../dns/wire/reader.ts";
import type { Transport } from "./any.ts";
import { denialRRsets } from "./denial.ts";
import type { Sha1 } from "./nsec3-hash.ts";
import { lookup } from "./lookup.ts";
import { type LookupResult, emptyResult, rcodeOf } from "./result.ts";
import type { RRset } from "./rrset.ts";
import { respell } from "./spelling.ts";
import { type Client, selectZone, type ZoneSelection } from "./zone-select.ts";
import type { ZoneInfo, ZoneStore } from "./zone-store.ts";
import { asksExpire, expireAnswer, expireSecondsLeft } from "../dns/edns-expire.ts";
import { soaExpire } from "../dns/rdata/soa.ts";

/** Our UDP payload size (DNS Flag Day 2020; RFC 9715 §3.2): also the cap on what a client may ask for. */
export const SERVER_UDP_PAYLOAD_SIZE = 1232;
const TCP_MAX = 0xffff;

export interface QueryContext {
  transport: Transport;
  /**
   * UDP only: the largest response the port-53 front can send back (it tells us in an authenticated header);
   * the size negotiated from the query's OPT is capped by it.
   */
  udpLimit?: number | undefined;
  client: Client;
  /** Milliseconds since the epoch (zone expiry). */
  now: number;
  /**
   * The host's SHA-1 for NSEC3 owner hashes; Web Crypto's (a promise each) when not given. The port-53 front
   * passes Node's synchronous one (`dns/sha1.node.ts`) so NSEC3 denial is answered in the same call.
   */
  sha1?: Sha1 | undefined;
  /**
   * The array the response is encoded into (`EncodeOptions.allocate`): the port-53 front's replica passes a
   * slab's (`dns/wire/slab.ts`); a new array each by default (the Worker).
   */
  allocate?: ((length: number) => Uint8Array) | undefined;
}

/** What the engine produces: the response and, for logs, caches and DoH's Cache-Control, how it came about. */
export interface EngineResponse {
  message: Message;
  wire: Uint8Array;
  /** The lookup's result when the query got as far as a lookup. */
  result?: LookupResult;
  /** A store failure that was answered with SERVFAIL, for the caller to log. */
  error?: unknown;
}

/** Raised for input that is not a DNS message at all (shorter than a header): there is no id to answer. */
export class NotDnsMessage extends Error {
  override readonly name = "NotDnsMessage";
}

/** RD and CD are copied for QUERY only (RFC 1035 §4.1.1, RFC 4035 §3.2.2); RA and AD are never set. */
function responseFlags(query: Flags | undefined, opcode: number, aa: boolean): Flags {
  const copy = opcode === Opcode.QUERY;
  return { qr: true, aa, tc: false, rd: copy && (query?.rd ?? false), ra: false, z: false, ad: false, cd: copy && (query?.cd ?? false) };
}

/** The first question of a message that did not parse as a whole, when that much of it reads. */
function firstQuestion(wire: Uint8Array, qdcount: number): Question[] {
  if (qdcount === 0) return [];
  try {
    const r = new WireReader(wire);
    r.bytes(HEADER_LENGTH);
    const name = r.name();
    return [{ name, type: r.u16(), class: r.u16() }];
  } catch (err) {
    // The reader checks names itself; NameError is decodeMessage's second line of defence, kept here too.
    if (err instanceof WireError || err instanceof NameError) return [];
    throw err;
  }
}

/**
 * The EDE (RFC 8914) that says why the zone selection gave no zone, when it applies. REFUSED carries no text,
 * so a hidden zone's refusal is the same octets as a name we do not host; SERVFAIL says which fault, in
 * BIND's words (its client already passed `answerAllow`).
 */
function selectionError(selection: ZoneSelection): EdnsOption | undefined {
  if (selection.kind === "refused") return extendedError(ExtendedErrorCode.NOT_AUTHORITATIVE);
  if (selection.kind === "servfail") return extendedError(ExtendedErrorCode.INVALID_DATA, selection.reason === "expired" ? "zone expired" : "zone not loaded");
  return undefined;
}

/** Flattens RRsets into records, each RRset followed by its RRSIGs when they are wanted. */
function records(rrsets: readonly RRset[], withSigs: boolean): ResourceRecord[] {
  const out: ResourceRecord[] = [];
  for (const s of rrsets) {
    for (const r of s.records) out.push({ name: s.name, type: r.type, class: r.class, ttl: r.ttl, rdata: r.rdata });
    if (withSigs) for (const r of s.sigs) out.push({ name: s.name, type: r.type, class: r.class, ttl: r.ttl, rdata: r.rdata });
  }
  return out;
}

/** Encodes within `maxSize`, and records in `message` the TC bit the encoder had to set. */
function encode(message: Message, maxSize: number, allocate?: QueryContext["allocate"]): Uint8Array {
  const { wire, truncated } = encodeMessage(message, { maxSize, allocate });
  if (truncated) message.flags.tc = true;
  return wire;
}

/** A response with no sections: errors decided before (or instead of) a lookup. */
function bare(id: number, opcode: number, flags: Flags | undefined, rcode: number, questions: Question[], edns: Edns | undefined): Message {
  const message: Message = {
    id,
    opcode,
    flags: responseFlags(flags, opcode, false),
    rcode,
    questions,
    answers: [],
    authorities: [],
    additionals: [],
  };
  if (edns) message.edns = responseEdns(edns, { udpPayloadSize: SERVER_UDP_PAYLOAD_SIZE });
  return message;
}

/**
 * A response without sections to `query` (an error decided before a lookup), within `maxSize`. A function
 * rather than a closure made per query: tsx (esbuild's keepNames) names every such closure when it is made.
 */
function reply(query: Message, maxSize: number, rcode: number, questions: Question[] = query.questions.slice(0, 1)): EngineResponse {
  // An extended rcode (BADVERS) can only travel in an OPT; without one the query had none to answer with.
  const message = bare(query.id, query.opcode, query.flags, rcode, questions, query.edns);
  return { message, wire: encode(message, maxSize) };
}

/**
 * Decides the response to one query message: a promise of it, for callers that wait anyway (DoH, tests). The
 * same answer as {@link respond}, which gives it at once when the store never waits.
 */
export function answerQuery(store: ZoneStore, wire: Uint8Array, ctx: QueryContext): Promise<EngineResponse> {
  return promiseOf(() => respond(store, wire, ctx));
}

/**
 * Decides the response to one query message: the response itself when nothing had to be waited for (a store
 * that returns values, the port-53 front's replica: no promise, no microtask), else a promise of it. Throws
 * (or rejects) only `NotDnsMessage` and faults of the engine itself; a store's failure is SERVFAIL.
 */
export function respond(store: ZoneStore, wire: Uint8Array, ctx: QueryContext): Awaitable<EngineResponse> {
  let query: Message;
  try {
    query = decodeMessage(wire);
  } catch (err) {
    if (!(err instanceof WireError)) throw err;
    let header;
    try {
      header = decodeHeader(wire);
    } catch {
      throw new NotDnsMessage(`${wire.length} octets is not a DNS message`);
    }
    const message = bare(header.id, header.opcode, header.flags, Rcode.FORMERR, firstQuestion(wire, header.qdcount), undefined);
    return { message, wire: encode(message, 512) };
  }
  const maxSize =
    ctx.transport === "tcp"
      ? TCP_MAX
      : Math.min(negotiatePayloadSize(query.edns, SERVER_UDP_PAYLOAD_SIZE), Math.max(512, ctx.udpLimit ?? TCP_MAX));

  if (query.flags.qr) return reply(query, maxSize, Rcode.FORMERR, []);
  if (query.tsig) return tsigRefusal(query, wire, maxSize);
  if (query.opcode !== Opcode.QUERY) return reply(query, maxSize, Rcode.NOTIMP);
  if (query.questions.length !== 1) return reply(query, maxSize, Rcode.FORMERR, []);
  if (ednsVersionUnsupported(query.edns)) return reply(query, maxSize, Rcode.BADVERS);
  const question = query.questions[0]!;
  const qtype = question.type;
  if (qtype === RRType.OPT || qtype === RRType.TSIG || qtype === RRType.TKEY) return reply(query, maxSize, Rcode.FORMERR);
  if (qtype === RRType.MAILA || qtype === RRType.MAILB) return reply(query, maxSize, Rcode.NOTIMP);
  if (question.class !== RRClass.IN) return reply(query, maxSize, Rcode.REFUSED);
  if (qtype === RRType.AXFR || qtype === RRType.IXFR) return reply(query, maxSize, Rcode.REFUSED);

  const dnssec = query.edns?.dnssecOk ?? false;
  let looked: Awaitable<Looked>;
  try {
    looked = lookUp(store, question.name, qtype, ctx, dnssec);
  } catch (err) {
    looked = storeFailed(err);
  }
  if (isPromise(looked)) return looked.then((done) => response(query, question, maxSize, ctx, dnssec, done), (err: unknown) => response(query, question, maxSize, ctx, dnssec, storeFailed(err)));
  return response(query, question, maxSize, ctx, dnssec, looked);
}

/**
 * RFC 8945 §5.2.1: the answer path holds no TSIG keys, so a signed query's key is unknown: NOTAUTH with an
 * unsigned TSIG record carrying BADKEY (as Knot answers). Transfers, which are signed, go elsewhere.
 */
async function tsigRefusal(query: Message, wire: Uint8Array, maxSize: number): Promise<EngineResponse> {
  const out = await tsigErrorResponse(wire, new TsigError("unknown-key", "the answer path holds no TSIG keys"));
  if (out) return { message: decodeMessage(out), wire: out };
  return reply(query, maxSize, Rcode.FORMERR, []);
}

/** What the zone selection and the lookup came to. */
interface Looked {
  result: LookupResult;
  /** The EDE that says why the selection gave no zone. */
  ede?: EdnsOption | undefined;
  /** The zone that answered. */
  answering?: ZoneInfo | undefined;
  /** A store failure, answered with SERVFAIL. */
  error?: unknown;
}

/** The store failed (D1 unreachable, a damaged block): SERVFAIL, as RFC 1035 §4.1.1 defines it. */
function storeFailed(error: unknown): Looked {
  return { result: emptyResult("ServerFailure"), error };
}

/** Zone selection (`zone-select.ts`), the lookup (`lookup.ts`) and, with DO=1, the denial proofs. */
function lookUp(store: ZoneStore, qname: Name, qtype: number, ctx: QueryContext, dnssec: boolean): Awaitable<Looked> {
  return andThen(selectZone(store, qname, qtype, ctx.client, ctx.now), (selection): Awaitable<Looked> => {
    const ede = selectionError(selection);
    if (selection.kind === "refused") return { result: emptyResult("Refused"), ede };
    if (selection.kind === "servfail") return { result: emptyResult("ServerFailure"), ede };
    const zone = selection.zone;
    return andThen(lookup(store, zone, qname, qtype), (result): Awaitable<Looked> => {
      if (!dnssec) return { result, answering: zone };
      // RFC 4035 §3.1.3/§3.1.4: with DO=1, the DS of a signed referral and the NSEC/NSEC3 proofs.
      return andThen(denialRRsets(store, zone, result.proofs, ctx.sha1), (denial) => {
        result.authority.push(...result.dnssecAuthority, ...denial);
        return { result, answering: zone };
      });
    });
  });
}

/** The response message to `query` from what the lookup came to. */
function response(query: Message, question: Question, maxSize: number, ctx: QueryContext, dnssec: boolean, looked: Looked): EngineResponse {
  const { result, ede, answering, error } = looked;
  const qtype = question.type;
  const message: Message = respell({
    ...bare(query.id, query.opcode, query.flags, rcodeOf(result.outcome), [question], query.edns),
    answers: records(result.answer, dnssec),
    authorities: records(result.authority, dnssec),
    // RFC 4035 §3.1.1: authoritative addresses go with their RRSIGs; glue has none to send (it is not signed).
    additionals: records(result.additional, dnssec),
  });
  message.flags.aa = result.aa;
  if (ede !== undefined && message.edns) message.edns.options.push(ede);
  // RFC 7314 §3 (issue 21): an SOA query at a zone's apex that asked for EXPIRE learns how long the zone has
  // left here; a primary zone, which never expires, says its SOA EXPIRE. Only a zone that answered: a
  // hidden zone's refusal stays the same octets as a name we do not host.
  if (answering && message.edns && qtype === RRType.SOA && asksExpire(query.edns)) {
    const soa = message.answers.find((rr) => rr.type === RRType.SOA && rr.name.equals(answering.name));
    if (soa) message.edns.options.push(expireAnswer(expireSecondsLeft(answering.model === "primary" ? null : answering.expiresAt, soaExpire(soa.rdata), ctx.now)));
  }
  const out: EngineResponse = { message, wire: encode(message, maxSize, ctx.allocate), result };
  if (error !== undefined) out.error = error;
  return out;
}
