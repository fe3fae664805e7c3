/**
 * @module Who may send a zone a NOTIFY (RFC 1996 §3.10: a secondary should only act on NOTIFYs from its
 * known primaries), decided in one pure function so the rule is one table of cases.
 *
 * 1. Signed with TSIG: the signature decides. A signature that verifies with the zone's key is accepted
 *    from any address; any TSIG failure (unknown key, wrong key, bad MAC, clock skew) is NOTAUTH
 *    (RFC 8945 §5.2), whatever the address, so a forged signature never falls back to the address rule.
 * 2. Unsigned: accepted from the zone's primaries and from its `notifyAllow` CIDR prefixes; anything else
 *    is REFUSED. Primaries often NOTIFY from other addresses than they serve transfers from (Cloudflare:
 *    see `contract/cloudflare-addresses.ts`; its pre-2026 /28 ranges stopped working on 2026-12-01), hence
 *    the prefixes.
 * 3. A zone that requires TSIG for transfers does not thereby require it for NOTIFY: the NOTIFY only
 *    triggers an SOA check, which is itself signed, so a forged NOTIFY can at worst cause one query.
 *
 * Addresses and prefixes are parsed by `addresses.ts`, the same parser as RRL's exemptions.
 */
import { LRUCache } from "lru-cache";
import { inPrefix, parseAddress, parsePrefix, type Prefix } from "../addresses.ts";

/** A zone's NOTIFY rules, parsed once when the zone's configuration is loaded. */
export interface NotifyAcl {
  /** Source prefixes allowed unsigned: each primary as a host route, then `notifyAllow`. */
  prefixes: Array<{ prefix: Prefix; from: "primary" | "notify-allow" }>;
  /** Entries that could not be parsed, for a warning (they allow nothing). */
  invalid: string[];
}

/** The TSIG outcome of a NOTIFY: not signed, signed and verified with the zone's key, or failed. */
export type TsigOutcome = { kind: "unsigned" } | { kind: "verified" } | { kind: "failed"; reason: string };

export type AclDecision =
  | { accept: true; by: "tsig" | "primary" | "notify-allow"; match: string }
  | { accept: false; rcode: "REFUSED" | "NOTAUTH"; reason: string };

export function buildNotifyAcl(primaries: readonly { address: string }[], notifyAllow: readonly string[]): NotifyAcl {
  const prefixes: NotifyAcl["prefixes"] = [];
  const invalid: string[] = [];
  const add = (entry: string, from: "primary" | "notify-allow"): void => {
    const prefix = parsePrefix(entry);
    if (prefix) prefixes.push({ prefix, from });
    else invalid.push(entry);
  };
  for (const p of primaries) add(p.address, "primary");
  for (const entry of notifyAllow) add(entry, "notify-allow");
  return { prefixes, invalid };
}

/**
 * Issue 19 (memory per zone): zones share their parsed rules. Thousands of zones of one provider name the
 * same primaries and prefixes, so the ACLs built are kept by their entries, the most recently used 1,000;
 * a zone asks when a NOTIFY comes instead of holding its own. The ACL is never changed once built.
 */
const shared = new LRUCache<string, NotifyAcl>({ max: 1000 });

/** `buildNotifyAcl`'s result for these entries, shared with every zone that names the same. */
export function notifyAclFor(primaries: readonly { address: string }[], notifyAllow: readonly string[]): NotifyAcl {
  let key = "";
  for (const p of primaries) key += `${p.address} `;
  key += "|";
  for (const entry of notifyAllow) key += ` ${entry}`;
  let acl = shared.get(key);
  if (!acl) {
    acl = buildNotifyAcl(primaries, notifyAllow);
    shared.set(key, acl);
  }
  return acl;
}

/** The decision for a NOTIFY from `source` whose TSIG outcome is `tsig`; see the module comment. */
export function decideNotify(acl: NotifyAcl, source: string, tsig: TsigOutcome): AclDecision {
  if (tsig.kind === "verified") return { accept: true, by: "tsig", match: "zone key" };
  if (tsig.kind === "failed") return { accept: false, rcode: "NOTAUTH", reason: `TSIG check failed: ${tsig.reason}` };
  const addr = parseAddress(source);
  if (!addr) return { accept: false, rcode: "REFUSED", reason: `source ${source} is not an IP address` };
  for (const { prefix, from } of acl.prefixes) {
    if (inPrefix(addr, prefix)) return { accept: true, by: from, match: `${prefix[0].toString()}/${prefix[1]}` };
  }
  return { accept: false, rcode: "REFUSED", reason: `source ${addr.toString()} is neither a primary nor in notifyAllow` };
}
