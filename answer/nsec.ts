/**
 * @module Authenticated denial with NSEC (RFC 4035 §3.1.3). NSEC records form a chain of the zone's names in
 * canonical order (RFC 4034 §4, §6.1): the NSEC at a name lists its types, and the NSEC at a name's canonical
 * predecessor "covers" every name between the two. What each fact needs:
 *   - NXDOMAIN (§3.1.3.2): the NSEC covering the name, and the NSEC covering `*.<closest encloser>`;
 *   - NODATA (§3.1.3.1): the NSEC at the name (for an empty non-terminal, which owns no NSEC, the NSEC of
 *     its predecessor, whose next name lies below it);
 *   - wildcard answer (§3.1.3.3): the NSEC covering the query name (no closer match);
 *   - wildcard NODATA (§3.1.3.4): the NSEC covering the query name and the NSEC at the wildcard;
 *   - unsigned delegation (§3.1.4): the NSEC at the cut, whose bitmap has NS but not DS.
 * Each NSEC goes with its RRSIG; one NSEC is sent once even when it proves two things.
 */
import { RRType } from "../dns/constants.ts";
import type { Name } from "../dns/name.ts";
import { andThen, type Awaitable } from "./awaitable.ts";
import type { Proof } from "./result.ts";
import { type RRset, rrsetAt } from "./rrset.ts";
import type { ZoneInfo, ZoneNode, ZoneStore } from "./zone-store.ts";

/** The NSEC owned by `node`. */
function nsecAt(node: ZoneNode | null): RRset | null {
  return node ? rrsetAt(node, RRType.NSEC) : null;
}

/** The NSEC covering `name` (at its canonical predecessor). */
function covering(store: ZoneStore, zone: ZoneInfo, name: Name): Awaitable<RRset | null> {
  return andThen(store.predecessor(zone, name), nsecAt);
}

/** The NSEC covering `first`, then the one covering `second` (looked up one after the other, as before). */
function coveringBoth(store: ZoneStore, zone: ZoneInfo, first: Name, second: Name): Awaitable<Array<RRset | null>> {
  return andThen(covering(store, zone, first), (a) => andThen(covering(store, zone, second), (b) => [a, b]));
}

/** The NSEC RRsets proving `proof`. */
export function nsecProof(store: ZoneStore, zone: ZoneInfo, proof: Proof): Awaitable<Array<RRset | null>> {
  switch (proof.kind) {
    case "nxdomain":
      return coveringBoth(store, zone, proof.name, proof.encloser.child("*"));
    case "nodata":
      return proof.node ? [nsecAt(proof.node)] : andThen(covering(store, zone, proof.name), (a) => [a]);
    case "wildcard-answer":
      return andThen(covering(store, zone, proof.name), (a) => [a]);
    case "wildcard-nodata": {
      const source = proof.source;
      return andThen(covering(store, zone, proof.name), (a) => [a, nsecAt(source)]);
    }
    case "no-ds":
      return [nsecAt(proof.node)];
  }
}
