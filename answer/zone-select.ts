/**
 * @module Choosing the zone that answers a query (RFC 1034 §4.3.2 step 2: "search the available zones for
 * the zone which is the nearest ancestor to QNAME"), and whether it may answer at all:
 *   1. no hosted zone encloses QNAME: REFUSED (we are not a resolver, and say so);
 *   2. QTYPE DS at a zone's apex, with the parent zone hosted too and able to answer: the parent answers,
 *      because DS lives on the parent side of the cut (RFC 4035 §3.1.4.1);
 *   3. the client is not in the zone's `answerAllow` prefixes and did not present the admin token: REFUSED
 *      (`answer-allow.ts`; a hidden zone answers like a live one otherwise);
 *   4. the zone was never loaded, or `now` is past its `expiresAt` (RFC 1035 §3.3.13 EXPIRE, kept in the data
 *      so it holds when the transfer-service is down): SERVFAIL.
 */
import { RRType } from "../dns/constants.ts";
import type { Name } from "../dns/name.ts";
import { clientAllowed } from "./answer-allow.ts";
import { andThen, type Awaitable } from "./awaitable.ts";
import type { ZoneInfo, ZoneStore } from "./zone-store.ts";

export interface Client {
  /** The client's IP address as text; undefined when unknown (then only unrestricted zones answer). */
  address?: string | undefined;
  /** The request carried the admin token: restricted zones answer it, so operators can check them. */
  admin: boolean;
}

export type ZoneSelection =
  | { kind: "zone"; zone: ZoneInfo }
  | { kind: "refused"; reason: "not-hosted" | "not-allowed" }
  | { kind: "servfail"; reason: "not-loaded" | "expired"; zone: ZoneInfo };

function allowed(zone: ZoneInfo, client: Client): boolean {
  return client.admin || clientAllowed(zone.answerAllow, client.address);
}

function servable(zone: ZoneInfo, now: number): "not-loaded" | "expired" | null {
  if (zone.version === null) return "not-loaded";
  if (zone.expiresAt !== null && now > zone.expiresAt) return "expired";
  return null;
}

export function selectZone(store: ZoneStore, qname: Name, qtype: number, client: Client, now: number): Awaitable<ZoneSelection> {
  return andThen(store.findZone(qname), (zone): Awaitable<ZoneSelection> => {
    if (!zone) return { kind: "refused", reason: "not-hosted" };
    if (qtype === RRType.DS && qname.equals(zone.name) && !zone.name.isRoot()) {
      return andThen(store.findZone(zone.name.parent()), (parent) => {
        return selected(parent && allowed(parent, client) && servable(parent, now) === null ? parent : zone, client, now);
      });
    }
    return selected(zone, client, now);
  });
}

/** Steps 3 and 4 for the zone chosen. */
function selected(zone: ZoneInfo, client: Client, now: number): ZoneSelection {
  if (!allowed(zone, client)) return { kind: "refused", reason: "not-allowed" };
  const fault = servable(zone, now);
  if (fault) return { kind: "servfail", reason: fault, zone };
  return { kind: "zone", zone };
}
