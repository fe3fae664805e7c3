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
import type { ZoneInfo, ZoneNode, ZoneStore } from "./zone-store.ts";
import { type Awaitable, isPromise } from "./awaitable.ts";

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
export function addressesOf(store: ZoneStore, zone: ZoneInfo, targets: readonly Name[], already: readonly RRset[] = []): Awaitable<RRset[]> {
  return addressesFrom(store, zone, targets, 0, already, []);
}

/** `addressesOf` from target `i` on, into `out`: a loop while the store answers at once, resumed after a promise. */
function addressesFrom(store: ZoneStore, zone: ZoneInfo, targets: readonly Name[], i: number, already: readonly RRset[], out: RRset[]): Awaitable<RRset[]> {
  for (; i < targets.length; i++) {
    const target = targets[i]!;
    if (!target.isSubdomainOf(zone.name)) continue;
    const node = store.node(zone, target);
    if (isPromise(node)) {
      const next = i + 1;
      return node.then((n) => {
        addresses(n, target, already, out);
        return addressesFrom(store, zone, targets, next, already, out);
      });
    }
    addresses(node, target, already, out);
  }
  return out;
}

/** The A and AAAA RRsets at `node` (owned by `target`) that `already` lacks, onto `out`. */
function addresses(node: ZoneNode | null, target: Name, already: readonly RRset[], out: RRset[]): void {
  if (!node) return;
  for (const type of ADDRESS_TYPES) {
    const rrset = rrsetAt(node, type, target);
    if (rrset && !present(already, target, type)) out.push(rrset);
  }
}
