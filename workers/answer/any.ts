/**
 * @module QTYPE ANY (RFC 8482).
 *
 * Over UDP, where ANY is a favourite of amplification attacks, the answer is one RRset of the name (§4.1:
 * "select one or a larger subset of the available RRsets"): the one of the lowest type, so the choice is
 * stable and a signed RRset keeps its RRSIG. Over TCP and DoH, where the client's address is proven, the full
 * set is returned (§4.3 allows it; this is Backstop's documented choice, see docs/conformance.md).
 * A name with no data at all is NODATA in both cases.
 */
import type { Name } from "../../dns/name.ts";
import type { RRset } from "./rrset.ts";
import { rrsetsAt } from "./rrset.ts";
import type { ZoneNode } from "./zone-store.ts";

export type Transport = "udp" | "tcp";

/** The RRsets an ANY query for `owner` gets from `node`. */
export function anyAnswer(node: ZoneNode, owner: Name, transport: Transport): RRset[] {
  const all = rrsetsAt(node, owner);
  return transport === "udp" ? all.slice(0, 1) : all;
}
