/**
 * @module Following CNAME chains (RFC 1034 §4.3.2 step 3.a: "change QNAME to the canonical name in the
 * CNAME RR, and go back to step 1"), with the guards RFC 1034 §3.6.2 asks for ("a server should not fall
 * into a loop"):
 *   1. a chain is followed only inside the zone where it started (as Knot and NSD do: the AA bit speaks for
 *      one zone, and another zone may be expired or restricted); a target outside is left to the resolver;
 *   2. a name already visited ends the chain (a loop): the CNAMEs so far are the answer, NOERROR;
 *   3. at most {@link MAX_CHAIN_LENGTH} CNAME/DNAME steps are taken, then the answer is what was found.
 */
import type { Name } from "../dns/name.ts";

/** CNAME or DNAME steps in one answer; BIND stops at 16 as well (`max-query-restarts` is a resolver's 11). */
export const MAX_CHAIN_LENGTH = 16;

export class ChainGuard {
  /** The names followed so far (the first name is kept apart): compared with `equals`, no key strings. */
  private readonly seen: Name[] = [];

  constructor(
    private readonly apex: Name,
    private readonly first: Name,
  ) {}

  /** True when the lookup should go on at `target`; records `target` as visited. */
  follow(target: Name): boolean {
    if (!target.isSubdomainOf(this.apex)) return false;
    if (target.equals(this.first) || this.seen.some((n) => n.equals(target))) return false;
    // `seen` never holds more than MAX_CHAIN_LENGTH names: the step that would add one more is refused.
    if (this.seen.length + 1 > MAX_CHAIN_LENGTH) return false;
    this.seen.push(target);
    return true;
  }
}
