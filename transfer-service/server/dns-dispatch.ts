/**
 * @module What the DNS listener does with a message, by opcode:
 *
 * 1. Shorter than a header: dropped (no ID to echo). A response (QR=1): dropped, so two servers can
 *    never bounce replies at each other.
 * 2. QUERY, with the port-53 front configured (`front`): read into its shape from the header and the
 *    question only (`query-shape.ts`; the hot path makes no full decode — the Worker does that), then
 *    a. an unreadable question, or a question count other than one: FORMERR (RFC 9619 §4), with an OPT when
 *       the query had one (RFC 6891 §7); an OPT whose options overrun its RDATA: FORMERR with the question
 *       and no OPT (as knotd and named answer);
 *    b. AXFR and IXFR: decoded in full and handed to the transfers out (xfr-out/transfer-out.ts), which
 *       decide, and stream the zone over TCP; REFUSED when the service has none;
 *    c. everything else: forwarded to the Worker, or answered from the response cache (`query-forward.ts`);
 *    d. then, over UDP, the answer passes response rate limiting (`rrl.ts`), which counts it by what it is
 *       (`rrl-token.ts`: the same name and type, the same zone's NXDOMAIN, …): sent, dropped, or slipped as
 *       an empty TC=1 reply. A client that presents a valid server cookie (RFC 7873, `query/cookie.ts`) has
 *       proved its address and is not limited; a client that sent a cookie without a valid server cookie
 *       gets its slip as BADCOOKIE with a fresh server cookie instead of TC=1 (both as BIND 9.18 does);
 *    e. an answer that goes out whole (not a slip) to a query with an NSID option gets the front's identity
 *       (`BACKSTOP_NSID`, RFC 5001), whoever made it: the cache, the Worker or the front itself. So cached
 *       and forwarded answers say which front answered, and the cache never holds an identity. Likewise a
 *       query with a COOKIE option gets its client cookie back with a server cookie (RFC 9018): per client,
 *       so never in the cache. A bad or missing server cookie is otherwise answered normally; a COOKIE
 *       option of a length RFC 7873 §5.2.2 refuses is FORMERR.
 *    Without a front, QUERY is REFUSED.
 * 3. NOTIFY (RFC 1996): decoded in full and handed to the NOTIFY receiver (notify.ts), which decides and signs
 *    the reply; a question count other than one is FORMERR (RFC 1996 §3.7). A body that does not parse is
 *    FORMERR with the header's ID and opcode, no question (reply.ts).
 * 4. UPDATE (RFC 2136): decoded in full and handed to the update handler (`update.ts`, issue 22), NOTIMP without one.
 * 5. Any other opcode (IQUERY, STATUS, DSO, unassigned): NOTIMP (RFC 1035 §4.1.1), RD and CD clear.
 *
 * 5. In a query process of the multi-process front (`owner` set, `front-processes.ts`), what 2b, 3 and 4
 *    would decode — every opcode but QUERY, and zone transfers — goes to the owner process as it came, and
 *    its reply back: one process owns NOTIFY, the refresh machine and transfers out, whichever process the
 *    kernel gave the message to.
 *
 * Everything but a forward to the Worker and a NOTIFY is answered synchronously (the listener sends it in the
 * same turn), answers from the replica included, and counted in plain integers (`Metrics.countMessage`): this
 * is the front's hot path.
 */
import { Opcode, Rcode, RRType } from "../../dns/constants.ts";
import type { UpdateHandler } from "./update.ts";
import { decodeHeader, HEADER_LENGTH } from "../../dns/header.ts";
import { decodeMessage, encodeMessage, type Message } from "../../dns/message.ts";
import { EdnsOptionCode } from "../../dns/edns.ts";
import { appendEdnsOption } from "../../dns/wire/opt-scan.ts";
import { WireError } from "../../dns/wire/reader.ts";
import type { DnsHandler, DnsReply, RequestContext } from "./request-context.ts";
import type { TransferOutHandler } from "./xfr-out/transfer-out.ts";
import { findTsig } from "../../dns/tsig/record.ts";
import type { Metrics } from "../ops/metrics.ts";
import type { QueryForwarder } from "./query/query-forward.ts";
import { readQueryShape, type QueryShape } from "./query/query-shape.ts";
import { headerOnlyReply, replyTo, shapeReply } from "./reply.ts";
import { udpSizeClass } from "./query/response-cache.ts";
import type { ResponseRateLimiter } from "./query/rrl.ts";
import { COOKIE_CLIENT_ONLY, COOKIE_INVALID, COOKIE_NONE, COOKIE_VALID, COOKIE_VALID_RENEW, cookieLengthValid, type CookieVerdict, type ServerCookies } from "./query/cookie.ts";
import { responseToken, type RrlToken } from "./query/rrl-token.ts";
import { isPromise } from "../../answer/awaitable.ts";

/** A query whose question could not be read is answered FORMERR: an error, counted per prefix. */
const UNREADABLE: RrlToken = { category: "error", token: "" };

/** Handles a parsed NOTIFY; resolves to the reply's wire form (signed when the NOTIFY was). */
export type NotifyReceiver = (query: Message, wire: Uint8Array, ctx: RequestContext) => Promise<Uint8Array>;

/** The port-53 front: the forward (with its cache) and, for UDP, the rate limiter. */
export interface QueryFront {
  forward: QueryForwarder;
  rrl?: ResponseRateLimiter | undefined;
  /** This front's NSID (RFC 5001), from `BACKSTOP_NSID`; undefined (the default) answers no NSID request. */
  nsid?: Uint8Array | undefined;
  /** DNS Cookies (RFC 7873): server cookies made and checked; undefined ignores COOKIE options. */
  cookies?: ServerCookies | undefined;
}

export interface DispatchOptions {
  notify: NotifyReceiver;
  front?: QueryFront | undefined;
  /** AXFR and IXFR out; without it they are REFUSED. */
  transfers?: TransferOutHandler | undefined;
  /**
   * The owner process of a multi-process front: when set, every message but a plain QUERY (any other
   * opcode, a zone transfer, a signed SOA query) is handed to it, and `notify` and `transfers` are unused.
   */
  owner?: DnsHandler | undefined;
  /** RFC 2136 UPDATE of primary zones (issue 22, `update.ts`); without it UPDATE is NOTIMP. */
  update?: UpdateHandler | undefined;
  metrics?: Metrics;
}

/** True when the message ends with a readable TSIG record (an unreadable one is the forward's to judge). */
const carriesTsig = (wire: Uint8Array): boolean => {
  try {
    return findTsig(wire) !== undefined;
  } catch {
    return false;
  }
};

/** AXFR, IXFR, or a signed SOA query (a secondary's refresh): what `transfers` answers. */
const isTransfer = (m: Message): boolean => {
  const qtype = m.questions[0]!.type;
  return qtype === RRType.AXFR || qtype === RRType.IXFR || (qtype === RRType.SOA && m.tsig !== undefined);
};

/** `queryNow`'s word that the query is a zone transfer, for `transfers` to decode and answer. */
const TRANSFER = Symbol("transfer");

export function createDispatcher(options: DispatchOptions): DnsHandler {
  const { notify, front, transfers, owner, update, metrics } = options;
  const servesTransfers = transfers !== undefined || owner !== undefined;
  const count = <R extends DnsReply>(ctx: RequestContext, opcode: number, reply: R): R => {
    // A streamed reply (a zone transfer) is a NOERROR answer.
    metrics?.countMessage(ctx.transport, opcode, reply === null ? -1 : reply instanceof Uint8Array ? (reply.length >= 4 ? reply[3]! & 0xf : -1) : Rcode.NOERROR);
    return reply;
  };

  /**
   * Over UDP, `reply` (the answer to `wire`) as response rate limiting lets it go: itself, an empty TC=1
   * slip (BADCOOKIE to a client that sent a cookie), or null (dropped). `shape` is undefined when the
   * question could not be read (such a FORMERR is dropped rather than slipped: a slip needs the question).
   * Whatever goes out whole gets the NSID and the cookie the query asked for (`identified`).
   */
  const limited = (reply: Uint8Array, wire: Uint8Array, shape: QueryShape | undefined, ctx: RequestContext, rrl: ResponseRateLimiter | undefined): Uint8Array | null => {
    const cookie = cookieOf(wire, shape, ctx);
    // A valid server cookie proves the address: not limited (BIND's HAVECOOKIE; Knot's mod-cookies likewise).
    if (ctx.transport !== "udp" || !rrl?.enabled || cookie === COOKIE_VALID || cookie === COOKIE_VALID_RENEW) return identified(reply, wire, shape, ctx, cookie);
    const action = rrl.decide(ctx.remoteAddress, ctx.transport, shape === undefined || shape.qdcount !== 1 ? UNREADABLE : responseToken(reply, wire, shape));
    if (action === "allow") return identified(reply, wire, shape, ctx, cookie);
    metrics?.countFront("rate-limited");
    if (action !== "slip" || shape === undefined || shape.qdcount !== 1) return null;
    // A client that sent a cookie is told BADCOOKIE with a fresh server cookie (BIND's WANTCOOKIE slip): a
    // real one retries at once with it and is then exempt; a forged source's victim gets a reply hardly
    // larger than the query.
    if (cookie === COOKIE_CLIENT_ONLY || cookie === COOKIE_INVALID) return badCookie(wire, shape, ctx, cookie);
    // RFC 8906 would have every query answered, but RRL's point is to not amplify: the slip is no larger
    // than the query, and says "ask again over TCP".
    return shapeReply(wire, shape, Rcode.NOERROR, { tc: true, udpSize: udpSizeClass(shape) });
  };

  /**
   * `reply` with this front's NSID when the query asked for it and one is configured (RFC 5001 §2.2), and
   * with the client's cookie and our server cookie when the query had a cookie (RFC 7873 §5.2); each left
   * out when the answer would no longer fit the client's UDP size.
   */
  const nsid = front?.nsid;
  const cookies = front?.cookies;
  const identified = (reply: Uint8Array, wire: Uint8Array, shape: QueryShape | undefined, ctx: RequestContext, cookie: CookieVerdict): Uint8Array => {
    const max = ctx.transport === "udp" && shape !== undefined ? udpSizeClass(shape) : 0xffff;
    let out = reply;
    if (nsid !== undefined && shape?.edns?.nsid) out = appendEdnsOption(out, EdnsOptionCode.NSID, nsid, max);
    if (cookie !== COOKIE_NONE && cookies !== undefined && shape?.edns !== undefined) {
      out = appendEdnsOption(out, EdnsOptionCode.COOKIE, cookies.option(wire, shape.edns.cookieAt, ctx.remoteAddress, cookie), max);
    }
    return out;
  };

  /** The query's DNS cookie judged (and counted): `COOKIE_NONE` without one, a bad length, or no cookies. */
  const cookieOf = (wire: Uint8Array, shape: QueryShape | undefined, ctx: RequestContext): CookieVerdict => {
    const edns = shape?.edns;
    if (cookies === undefined || edns === undefined || edns.cookieAt < 0 || !cookieLengthValid(edns.cookieLength)) return COOKIE_NONE;
    const verdict = cookies.check(wire, edns.cookieAt, edns.cookieLength, ctx.remoteAddress);
    metrics?.countCookie(verdict === COOKIE_CLIENT_ONLY ? "client_only" : verdict === COOKIE_INVALID ? "invalid" : "valid");
    return verdict;
  };

  /**
   * The BADCOOKIE slip (RFC 7873 §5.2.3): the question, no records, rcode 23 (its upper bits in the OPT's
   * extended rcode, RFC 6891 §6.1.3), and the client cookie with a fresh server cookie.
   */
  const badCookie = (wire: Uint8Array, shape: QueryShape, ctx: RequestContext, cookie: CookieVerdict): Uint8Array => {
    metrics?.countCookie("badcookie_sent");
    const reply = shapeReply(wire, shape, Rcode.BADCOOKIE, { udpSize: udpSizeClass(shape) });
    // shapeReply ends with the bare OPT (the query had one: it carried the cookie); octet 5 of it is EXTENDED-RCODE.
    reply[reply.length - 11 + 5] = Rcode.BADCOOKIE >> 4;
    return appendEdnsOption(reply, EdnsOptionCode.COOKIE, cookies!.option(wire, shape.edns!.cookieAt, ctx.remoteAddress, cookie), 0xffff);
  };

  /** QUERY with a front: the reply (null: dropped) when it is known at once, or the shape to forward. */
  const queryNow = (wire: Uint8Array, ctx: RequestContext, fwd: QueryFront): Uint8Array | null | QueryShape | typeof TRANSFER => {
    let shape: QueryShape;
    try {
      shape = readQueryShape(wire);
    } catch (err) {
      if (err instanceof WireError) return limited(headerOnlyReply(decodeHeader(wire), Rcode.FORMERR), wire, undefined, ctx, fwd.rrl);
      throw err;
    }
    if (shape.qdcount !== 1) return limited(shapeReply(wire, { ...shape, qdcount: 0 }, Rcode.FORMERR, { udpSize: udpSizeClass(shape) }), wire, shape, ctx, fwd.rrl);
    if (shape.ednsMalformed) {
      metrics?.countFront("local");
      return limited(shapeReply(wire, shape, Rcode.FORMERR), wire, shape, ctx, fwd.rrl);
    }
    if (fwd.cookies !== undefined && shape.edns !== undefined && shape.edns.cookieAt >= 0 && !cookieLengthValid(shape.edns.cookieLength)) {
      // RFC 7873 §5.2.2: a COOKIE option too short or too long for a client and server cookie is FORMERR.
      metrics?.countFront("local");
      return limited(shapeReply(wire, shape, Rcode.FORMERR, { udpSize: udpSizeClass(shape) }), wire, shape, ctx, fwd.rrl);
    }
    // A signed SOA query is a secondary's refresh: answered signed, next to its transfers (xfr-out/).
    if (servesTransfers && shape.qtype === RRType.SOA && wire[10]! + wire[11]! > 0 && carriesTsig(wire)) return TRANSFER;
    if (shape.qtype === RRType.AXFR || shape.qtype === RRType.IXFR) {
      if (servesTransfers) return TRANSFER;
      metrics?.countFront("local");
      return limited(shapeReply(wire, shape, Rcode.REFUSED, { udpSize: udpSizeClass(shape) }), wire, shape, ctx, fwd.rrl);
    }
    const hit = fwd.forward.cached(wire, shape, ctx.transport);
    return hit === undefined ? shape : limited(hit, wire, shape, ctx, fwd.rrl);
  };

  // Neither async nor chained when the replica answers at once: its reply goes out in the turn the query came
  // in, with no promise made (issue 27); a forward to the Worker is chained, with no generator object.
  const forwarded = (wire: Uint8Array, shape: QueryShape, ctx: RequestContext, fwd: QueryFront): Uint8Array | null | Promise<Uint8Array | null> => {
    const reply = fwd.forward.forward(wire, shape, ctx);
    if (isPromise(reply)) return reply.then((r) => count(ctx, Opcode.QUERY, limited(r, wire, shape, ctx, fwd.rrl)));
    return count(ctx, Opcode.QUERY, limited(reply, wire, shape, ctx, fwd.rrl));
  };

  const decoded = async (wire: Uint8Array, ctx: RequestContext, opcode: number): Promise<DnsReply> => {
    if (owner) return count(ctx, opcode, await owner(wire, ctx));
    let message: Message;
    try {
      message = decodeMessage(wire);
    } catch (err) {
      if (err instanceof WireError) return count(ctx, opcode, headerOnlyReply(decodeHeader(wire), Rcode.FORMERR));
      throw err;
    }
    const simple = (rcode: number): Uint8Array => encodeMessage(replyTo(message, rcode)).wire;

    switch (message.opcode) {
      case Opcode.NOTIFY:
        if (message.questions.length !== 1) return count(ctx, opcode, simple(Rcode.FORMERR));
        return count(ctx, opcode, await notify(message, wire, ctx));
      case Opcode.QUERY:
        if (message.questions.length !== 1) return count(ctx, opcode, simple(Rcode.FORMERR));
        if (transfers && isTransfer(message)) return count(ctx, opcode, await transfers(message, wire, ctx));
        return count(ctx, opcode, simple(Rcode.REFUSED));
      case Opcode.UPDATE:
        if (update) return count(ctx, opcode, await update(message, wire, ctx));
        return count(ctx, opcode, simple(Rcode.NOTIMP));
      default:
        return count(ctx, opcode, simple(Rcode.NOTIMP));
    }
  };

  return (wire, ctx) => {
    if (wire.length < HEADER_LENGTH) return null;
    // QR and opcode from the third octet: the front's queries need nothing more before their shape.
    const qr = (wire[2]! & 0x80) !== 0;
    const opcode = (wire[2]! >> 3) & 0xf;
    if (qr) return count(ctx, opcode, null);
    if (opcode === Opcode.QUERY && front) {
      const now = queryNow(wire, ctx, front);
      if (now === TRANSFER) return decoded(wire, ctx, opcode);
      return now === null || now instanceof Uint8Array ? count(ctx, opcode, now) : forwarded(wire, now, ctx, front);
    }
    return decoded(wire, ctx, opcode);
  };
}
