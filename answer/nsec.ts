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
import type { Proof } from "./result.ts";
import { type RRset, rrsetAt } from "./rrset.ts";
import type { ZoneInfo, ZoneNode, ZoneStore } from "./zone-store.ts";

/** The NSEC owned by `node`. */
function nsecAt(node: ZoneNode | null): RRset | null {
  return node ? rrsetAt(node, RRType.NSEC) : null;
}

/** The NSEC covering `name` (at its canonical predecessor). */
async function covering(store: ZoneStore, zone: ZoneInfo, name: Name): Promise<RRset | null> {
  return nsecAt(await store.predecessor(zone, name));
}

/** The NSEC RRsets proving `proof`. */
export async function nsecProof(store: ZoneStore, zone: ZoneInfo, proof: Proof): Promise<Array<RRset | null>> {
  switch (proof.kind) {
    case "nxdomain":
      return [await covering(store, zone, proof.name), await covering(store, zone, proof.encloser.child("*"))];
    case "nodata":
      return [proof.node ? nsecAt(proof.node) : await covering(store, zone, proof.name)];
    case "wildcard-answer":
      return [await covering(store, zone, proof.name)];
    case "wildcard-nodata":
      return [await covering(store, zone, proof.name), nsecAt(proof.source)];
    case "no-ds":
      return [nsecAt(proof.node)];
  }
}
