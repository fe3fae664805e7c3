/**
 * @module Wildcards (RFC 4592). When the query name Q does not exist, the only wildcard that can match it is
 * the "source of synthesis" `*.<closest encloser>` (§3.3.1):
 *   1. the closest encloser CE is the deepest existing ancestor of Q; an empty non-terminal exists
 *      (RFC 4592 §2.2.2), so an ENT between Q and a wildcard higher up blocks that wildcard;
 *   2. if `*.CE` has a node, the answer is synthesized from it with Q as the owner (§3.3.1, "the owner
 *      name of the synthesized RRs is QNAME"), including a CNAME found there, which is then followed;
 *   3. `*.CE` without the type asked for is NODATA; no `*.CE` at all is NXDOMAIN.
 * A wildcard never matches names at or below a zone cut or DNAME (the walk down stops there first, §2.3).
 */
import type { Name } from "../dns/name.ts";
import type { ZoneInfo, ZoneNode, ZoneStore } from "./zone-store.ts";
import type { Awaitable } from "./awaitable.ts";

/** The label `*` (RFC 4592 §2.1.1), made once: every NXDOMAIN looks for a wildcard. */
const ASTERISK = Uint8Array.of(0x2a);

/** The source of synthesis for a name whose closest encloser is `closestEncloser`, or null. */
export function wildcardSource(store: ZoneStore, zone: ZoneInfo, closestEncloser: Name): Awaitable<ZoneNode | null> {
  return store.node(zone, closestEncloser.child(ASTERISK));
}
