/**
 * @module QTYPE ANY (RFC 8482).
 *
 * The answer is one RRset of the name (§4.1: "select one or a larger subset of the available RRsets"): the
 * one of the lowest type, so the choice is stable, its RRSIGs riding along with DO=1. NSEC records are
 * passed over (they are denial data, not the name's data) unless nothing else is there. This holds for every
 * transport: knotd 3.2 and nsd 4.6 both answer ANY with one RRset over TCP as well as UDP, and the
 * differential suite holds Backstop to them (docs/conformance.md). A name with no data is NODATA.
 */
import { RRType } from "../dns/constants.ts";
import type { Name } from "../dns/name.ts";
import type { RRset } from "./rrset.ts";
import { rrsetsAt } from "./rrset.ts";
import type { ZoneNode } from "./zone-store.ts";

/** How the query reached us: UDP answers are cut to the negotiated size (engine.ts). */
export type Transport = "udp" | "tcp";

/** The RRsets an ANY query for `owner` gets from `node`: the lowest-typed one, or none. */
export function anyAnswer(node: ZoneNode, owner: Name): RRset[] {
  const all = rrsetsAt(node, owner);
  const data = all.filter((s) => s.type !== RRType.NSEC);
  return (data.length > 0 ? data : all).slice(0, 1);
}
