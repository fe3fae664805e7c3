/**
 * @module Referrals (RFC 1034 §4.3.2 step 3.b): a name at or below a zone cut inside our zone (a non-apex
 * node with NS records) is not ours to answer. The response:
 *   1. has AA=0: the data below a cut is not authoritative (RFC 1034 §4.3.1, RFC 2181 §6.1);
 *   2. carries the cut's NS RRset in the authority section, owned by the cut;
 *   3. carries glue in the additional section: the addresses of those name servers held in the zone
 *      (RFC 9471 §2: in-domain glue, under the cut, and sibling glue, under other cuts of the zone).
 * The one exception: a DS query at the cut itself is answered by the parent (RFC 4035 §3.1.4.1), so the walk
 * down does not treat the cut as a delegation for QTYPE DS at that name.
 */
import type { RRset } from "./rrset.ts";
import { addressesOf, targetsOf } from "./additional.ts";
import type { ZoneInfo, ZoneStore } from "./zone-store.ts";
import { andThen, type Awaitable } from "./awaitable.ts";

export interface Referral {
  authority: RRset[];
  additional: RRset[];
}

/** The authority and additional sections of a referral to the cut whose NS RRset is `ns`. */
export function referral(store: ZoneStore, zone: ZoneInfo, ns: RRset): Awaitable<Referral> {
  return andThen(addressesOf(store, zone, targetsOf([ns])), (additional) => ({ authority: [ns], additional }));
}
