/**
 * @module QTYPE ANY (RFC 8482).
 *
 * The answer is one RRset of the name (§4.1: "select one or a larger subset of the available RRsets"): the
 * one of the lowest type, so the choice is stable and a signed RRset keeps its RRSIG. This holds for every
 * transport: knotd 3.2 and nsd 4.6 both answer ANY with the lowest-typed RRset over TCP as well as UDP, and
 * the differential suite holds Backstop to them (docs/conformance.md). A name with no data is NODATA.
 */
import type { Name } from "../../dns/name.ts";
import type { RRset } from "./rrset.ts";
import { rrsetsAt } from "./rrset.ts";
import type { ZoneNode } from "./zone-store.ts";

/** How the query reached us: UDP answers are cut to the negotiated size (engine.ts). */
export type Transport = "udp" | "tcp";

/** The RRsets an ANY query for `owner` gets from `node`: the lowest-typed one, or none. */
export function anyAnswer(node: ZoneNode, owner: Name): RRset[] {
  return rrsetsAt(node, owner).slice(0, 1);
}
