/**
 * @module What response rate limiting counts an answer as: its category and its token, as BIND 9.18 defines
 * them (ARM, "Response Rate Limiting"; `lib/ns/query.c` picks the name it hands to `dns_rrl`). Two answers
 * with the same category and token are "identical responses", and only identical responses to one client
 * prefix share a budget:
 *
 * | category   | the reply                                      | token                              |
 * |------------|------------------------------------------------|------------------------------------|
 * | `response` | NOERROR with answers (or cut short, TC=1)      | qname and qtype (class is IN here) |
 * | `nxdomain` | NXDOMAIN                                       | the zone: the SOA owner in AUTHORITY |
 * | `nodata`   | NOERROR, no answers, SOA in AUTHORITY          | the zone: the SOA owner            |
 * | `referral` | NOERROR, no answers, NS in AUTHORITY, AA clear | the delegation: the NS owner       |
 * | `error`    | any other rcode (SERVFAIL, REFUSED, FORMERR …) | none: one budget per prefix        |
 *
 * So a resolver asking thousands of different names from one /24 spends thousands of budgets once each
 * and is never limited, while an amplifier repeating one large answer, or a random-subdomain flood (every
 * name NXDOMAIN in one zone), spends one budget many times and is.
 *
 * Reading the category costs a walk of the reply only for negative answers and referrals; a positive answer's
 * token comes from the query's own question, whose bounds `query-shape.ts` already found. Every token is made
 * only when it is read (an exempt client's never is). This is the
 * front's hot path, hence a hand-written walk rather than a full decode.
 */
import { Rcode, RRType, typeToString } from "../../../dns/constants.ts";
import { HEADER_LENGTH } from "../../../dns/header.ts";
import { asciiLower } from "../../../dns/name.ts";
import { WireError, WireReader } from "../../../dns/wire/reader.ts";
import type { QueryShape } from "./query-shape.ts";

export const RRL_CATEGORIES = ["response", "nxdomain", "nodata", "referral", "error"] as const;
export type RrlCategory = (typeof RRL_CATEGORIES)[number];

export interface RrlToken {
  readonly category: RrlCategory;
  /** Equal for identical responses of one category; "" for errors (counted per prefix only). */
  readonly token: string;
}

const ERROR: RrlToken = { category: "error", token: "" };

/**
 * The question's name as a case-folded key: its wire labels (length octets included, so label boundaries
 * stay distinct) in ASCII lower case. "?" when the query's name was compressed and `readQueryShape` left it
 * unread (such a query is forwarded whole; its answers share one token).
 */
function qnameKey(query: Uint8Array, shape: QueryShape): string {
  if (shape.qnameEnd <= HEADER_LENGTH) return "?";
  let key = "";
  for (let i = HEADER_LENGTH; i < shape.qnameEnd; i++) key += String.fromCharCode(asciiLower(query[i]!));
  return key;
}

/**
 * A positive answer's token, built only when an account is looked up: an exempt client's answers (and all
 * of them when the bench or an operator exempts loopback) never pay for the string. The category, which the
 * metrics need for every answer, is known without it.
 */
class PositiveToken implements RrlToken {
  readonly category = "response";
  private built: string | undefined;

  constructor(
    private readonly query: Uint8Array,
    private readonly shape: QueryShape,
  ) {}

  get token(): string {
    this.built ??= `${this.shape.qtype} ${qnameKey(this.query, this.shape)}`;
    return this.built;
  }
}

/** The category and token of `reply`, the answer to `query` (whose shape is `shape`). */
export function responseToken(reply: Uint8Array, query: Uint8Array, shape: QueryShape): RrlToken {
  if (reply.length < HEADER_LENGTH) return ERROR;
  const rcode = reply[3]! & 0xf;
  if (rcode !== Rcode.NOERROR && rcode !== Rcode.NXDOMAIN) return ERROR;
  const ancount = (reply[6]! << 8) | reply[7]!;
  const tc = (reply[2]! & 0x02) !== 0;
  if (rcode === Rcode.NOERROR && (ancount > 0 || tc)) return new PositiveToken(query, shape);

  const nxdomain = rcode === Rcode.NXDOMAIN;
  const owner = authorityOwner(reply, ancount);
  if (owner?.type === RRType.SOA) return new AuthorityToken(nxdomain ? "nxdomain" : "nodata", reply, owner.at, query, shape);
  const aa = (reply[2]! & 0x04) !== 0;
  if (!nxdomain && !aa && owner?.type === RRType.NS) return new AuthorityToken("referral", reply, owner.at, query, shape);
  // No SOA where one belongs (a reply we cannot read, or a zone without one): count by the name asked.
  return new AuthorityToken(nxdomain ? "nxdomain" : "nodata", reply, -1, query, shape);
}

/**
 * A negative answer's or a referral's token, read only when an account is looked up (issue 27, session 11), as a
 * positive answer's is: the category comes from the first AUTHORITY record's type, found by skipping names, and
 * the owner's name is decoded and keyed only for a client that is not exempt (~0.5 µs an NXDOMAIN or NODATA
 * otherwise). `ownerAt` −1: counted by the name asked. An owner name that does not read (a compression pointer
 * gone wrong) is counted by the name asked too.
 */
class AuthorityToken implements RrlToken {
  private built: string | undefined;

  constructor(
    readonly category: RrlCategory,
    private readonly reply: Uint8Array,
    private readonly ownerAt: number,
    private readonly query: Uint8Array,
    private readonly shape: QueryShape,
  ) {}

  get token(): string {
    this.built ??= this.read();
    return this.built;
  }

  private read(): string {
    if (this.ownerAt >= 0) {
      try {
        return new WireReader(this.reply, this.ownerAt).name().key;
      } catch (err) {
        if (!(err instanceof WireError)) throw err;
      }
    }
    return keyText(qnameKey(this.query, this.shape));
  }
}

/** Where the first AUTHORITY record's owner starts, and its type; undefined when there is none or the reply does not read. */
function authorityOwner(reply: Uint8Array, ancount: number): { at: number; type: number } | undefined {
  const nscount = (reply[8]! << 8) | reply[9]!;
  if (nscount === 0) return undefined;
  const qdcount = (reply[4]! << 8) | reply[5]!;
  try {
    const r = new WireReader(reply, HEADER_LENGTH);
    for (let i = 0; i < qdcount; i++) {
      r.skipName();
      r.offset += 4;
    }
    for (let i = 0; i < ancount; i++) {
      r.skipName();
      r.offset += 8; // type, class, TTL
      const rdlength = r.u16();
      r.offset += rdlength;
    }
    const at = r.offset;
    r.skipName();
    return { at, type: r.u16() };
  } catch (err) {
    if (err instanceof WireError) return undefined;
    throw err;
  }
}

/** A `qnameKey` in presentation form (lower case; octets outside printable ASCII as `\DDD`). */
function keyText(key: string): string {
  if (key === "?") return key;
  let name = "";
  for (let at = 0; at < key.length && key.charCodeAt(at) !== 0; ) {
    const len = key.charCodeAt(at);
    for (const c of key.slice(at + 1, at + 1 + len)) name += c >= "!" && c <= "~" && c !== "." && c !== "\\" ? c : `\\${String(c.charCodeAt(0)).padStart(3, "0")}`;
    name += ".";
    at += 1 + len;
  }
  return name || ".";
}

/** A token as an operator reads it in a log line: `www.example.org. A`, or the zone's name. */
export function describeToken(what: RrlToken): string {
  if (what.category !== "response") return what.token;
  const space = what.token.indexOf(" ");
  return `${keyText(what.token.slice(space + 1))} ${typeToString(Number(what.token.slice(0, space)))}`;
}
