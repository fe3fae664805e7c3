/**
 * @module Negative answers (RFC 2308): NXDOMAIN (the name does not exist) and NODATA (it exists, without the
 * type asked for) are kept apart by rcode, and both carry the zone's SOA in the authority section so that
 * resolvers can cache the negative answer (RFC 2308 §3).
 *
 * The SOA's TTL in a negative answer is the negative-caching TTL: min(SOA TTL, SOA MINIMUM) (RFC 2308 §3,
 * §5). Knot, NSD and BIND all send that value as the TTL of the SOA record itself.
 */
import { soaMinimum } from "../dns/rdata/soa.ts";
import { RRType } from "../dns/constants.ts";
import type { RRset } from "./rrset.ts";
import { rrsetAt } from "./rrset.ts";
import type { ZoneInfo, ZoneNode, ZoneStore } from "./zone-store.ts";
import { andThen, type Awaitable } from "./awaitable.ts";

/** SOA MINIMUM, or 0 for rdata too short to hold one: the answer path never throws on stored data. */
function negativeMinimum(rdata: Uint8Array): number {
  return rdata.length < 20 ? 0 : soaMinimum(rdata);
}

/** The apex SOA with each record's TTL lowered to the negative-caching TTL; null for a zone without SOA. */
export function negativeSoa(store: ZoneStore, zone: ZoneInfo): Awaitable<RRset | null> {
  return andThen(store.node(zone, zone.name), (apex) => negativeSoaAt(apex, zone));
}

function negativeSoaAt(apex: ZoneNode | null, zone: ZoneInfo): RRset | null {
  const soa = apex ? rrsetAt(apex, RRType.SOA, zone.name) : null;
  if (!soa) return null;
  const negativeTtl = Math.min(...soa.records.map((r) => Math.min(r.ttl, negativeMinimum(r.rdata))));
  // The SOA's RRSIGs get the same TTL (Knot and NSD do so): a resolver caches the proof as long as the denial.
  return {
    ...soa,
    records: soa.records.map((r) => ({ ...r, ttl: negativeTtl })),
    sigs: soa.sigs.map((r) => ({ ...r, ttl: Math.min(r.ttl, negativeTtl) })),
  };
}
