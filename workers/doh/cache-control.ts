/**
 * @module The HTTP freshness of a DoH answer (RFC 8484 §5.1): no longer than the smallest TTL among the
 * records of the response, so an HTTP cache never keeps an RRset past a DNS cache's time for it. Negative
 * answers are covered by the same rule, because the engine already gives their SOA the negative-caching TTL
 * min(SOA TTL, MINIMUM) (RFC 2308 §5). Errors (SERVFAIL, REFUSED, FORMERR, …) are not cached at all: a zone
 * that comes back, or a client let in, must be answered at once. Nor is an answer carrying EDNS EXPIRE (RFC 7314,
 * issue 21): its value is the seconds left before the zone expires here, which a kept copy would overstate.
 */
import { Rcode } from "../../dns/constants.ts";
import { expireFromAnswer } from "../../dns/edns-expire.ts";
import type { Message } from "../../dns/message.ts";

/** The smallest TTL in answer, authority and additional; undefined for a response without records. */
export function minimumTtl(response: Message): number | undefined {
  let min: number | undefined;
  for (const section of [response.answers, response.authorities, response.additionals]) {
    for (const rr of section) if (min === undefined || rr.ttl < min) min = rr.ttl;
  }
  return min;
}

/** The `Cache-Control` value for a response. */
export function cacheControl(response: Message): string {
  if (response.rcode !== Rcode.NOERROR && response.rcode !== Rcode.NXDOMAIN) return "no-store";
  if (response.flags.tc) return "no-store";
  if (expireFromAnswer(response.edns) !== undefined) return "no-store";
  const ttl = minimumTtl(response);
  // A NOERROR without records (a response with nothing to cache) is cached as briefly as possible.
  return `max-age=${ttl ?? 0}`;
}
