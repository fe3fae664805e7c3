/**
 * @module Additional-section processing (RFC 1034 §4.3.2 step 6, RFC 1035 §3.3.9/§3.3.11, RFC 2782): the
 * A and AAAA records of the hosts that NS, MX and SRV records in the answer name, when those hosts are in the
 * zone, so a resolver need not ask again. For a referral the same lookup yields the glue (RFC 9471): the
 * addresses of name servers inside the zone, below the cut or beside it.
 *
 * Only data of the zone being answered from is used; names elsewhere are the resolver's business.
 */
import { RRType } from "../dns/constants.ts";
import type { Name } from "../dns/name.ts";
import type { RRset } from "./rrset.ts";
import { rrsetAt } from "./rrset.ts";
import { targetName } from "./target-name.ts";
import type { ZoneInfo, ZoneStore } from "./zone-store.ts";

const ADDRESS_TYPES = [RRType.A, RRType.AAAA] as const;

/** Types whose targets get addresses in the additional section. */
const WITH_TARGETS: ReadonlySet<number> = new Set([RRType.NS, RRType.MX, RRType.SRV]);

/** The host names named by NS, MX and SRV records among `rrsets`, in order, without repeats. */
export function targetsOf(rrsets: readonly RRset[]): Name[] {
  const out: Name[] = [];
  const seen = new Set<string>();
  for (const rrset of rrsets) {
    if (!WITH_TARGETS.has(rrset.type)) continue;
    for (const r of rrset.records) {
      const target = targetName(rrset.type, r.rdata);
      if (target && !target.isRoot() && !seen.has(target.key)) {
        seen.add(target.key);
        out.push(target);
      }
    }
  }
  return out;
}

/** True when `rrsets` hold an RRset of `type` owned by `name`. A function, not a closure made per call (tsx names each). */
function present(rrsets: readonly RRset[], name: Name, type: number): boolean {
  for (const s of rrsets) if (s.type === type && s.name.equals(name)) return true;
  return false;
}

/**
 * A and AAAA RRsets of each target inside `zone`, skipping RRsets already present in `already` (an address
 * that is in the answer is not repeated in additional).
 */
export async function addressesOf(
  store: ZoneStore,
  zone: ZoneInfo,
  targets: readonly Name[],
  already: readonly RRset[] = [],
): Promise<RRset[]> {
  const out: RRset[] = [];
  for (const target of targets) {
    if (!target.isSubdomainOf(zone.name)) continue;
    const node = await store.node(zone, target);
    if (!node) continue;
    for (const type of ADDRESS_TYPES) {
      const rrset = rrsetAt(node, type, target);
      if (rrset && !present(already, target, type)) out.push(rrset);
    }
  }
  return out;
}
