/**
 * @module Who may send a zone a NOTIFY (RFC 1996 §3.10: a secondary should only act on NOTIFYs from its
 * known primaries), decided in one pure function so the rule is one table of cases.
 *
 * 1. Signed with TSIG: the signature decides. A signature that verifies with the zone's key is accepted
 *    from any address; any TSIG failure (unknown key, wrong key, bad MAC, clock skew) is NOTAUTH
 *    (RFC 8945 §5.2), whatever the address, so a forged signature never falls back to the address rule.
 * 2. Unsigned: accepted from the zone's primaries and from its `notifyAllow` CIDR prefixes; anything else
 *    is REFUSED. Primaries often NOTIFY from other addresses than they serve transfers from (Cloudflare:
 *    transfers from 172.65.64.6, NOTIFY from 198.41.144.240/28 and others), hence the prefixes.
 * 3. A zone that requires TSIG for transfers does not thereby require it for NOTIFY: the NOTIFY only
 *    triggers an SOA check, which is itself signed, so a forged NOTIFY can at worst cause one query.
 *
 * Addresses are compared as addresses (ipaddr.js), so `::ffff:192.0.2.1` (an IPv4 client on a dual-stack
 * socket) matches `192.0.2.0/24`, and `2001:db8::1` matches however it is spelled.
 */
import ipaddr from "ipaddr.js";

type Address = ipaddr.IPv4 | ipaddr.IPv6;
type Prefix = [Address, number];

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

/** Parses an address, unmapping IPv4-mapped IPv6 (`::ffff:a.b.c.d`); undefined when it is not one. */
export function parseAddress(text: string): Address | undefined {
  // Sockets may report a zone index (`fe80::1%eth0`); it plays no part in matching.
  const bare = text.replace(/%.*$/, "");
  // Only dotted-quad IPv4: ipaddr.js also takes inet_aton's legacy forms ("1.2.3", "0x7f.1"), which
  // nobody means in a DNS server's ACL.
  const valid = bare.includes(":") ? ipaddr.IPv6.isValid(bare) : ipaddr.IPv4.isValidFourPartDecimal(bare);
  return valid ? ipaddr.process(bare) : undefined;
}

/** Parses `a.b.c.d/n`, `x::/n`, or a bare address (a host route). */
export function parsePrefix(text: string): Prefix | undefined {
  const trimmed = text.trim();
  if (trimmed.includes("/")) {
    const slash = trimmed.indexOf("/");
    if (!ipaddr.isValidCIDR(trimmed) || !parseAddress(trimmed.slice(0, slash))) return undefined;
    const [addr, bits] = ipaddr.parseCIDR(trimmed);
    // An IPv4-mapped IPv6 prefix of /96 or longer is an IPv4 prefix in disguise.
    if (addr.kind() === "ipv6" && (addr as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
      return [(addr as ipaddr.IPv6).toIPv4Address(), bits - 96];
    }
    return [addr, bits];
  }
  const addr = parseAddress(trimmed);
  if (!addr) return undefined;
  return [addr, addr.kind() === "ipv4" ? 32 : 128];
}

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

/** The decision for a NOTIFY from `source` whose TSIG outcome is `tsig`; see the module comment. */
export function decideNotify(acl: NotifyAcl, source: string, tsig: TsigOutcome): AclDecision {
  if (tsig.kind === "verified") return { accept: true, by: "tsig", match: "zone key" };
  if (tsig.kind === "failed") return { accept: false, rcode: "NOTAUTH", reason: `TSIG check failed: ${tsig.reason}` };
  const addr = parseAddress(source);
  if (!addr) return { accept: false, rcode: "REFUSED", reason: `source ${source} is not an IP address` };
  for (const { prefix, from } of acl.prefixes) {
    const [net, bits] = prefix;
    if (net.kind() !== addr.kind()) continue;
    if (addr.match(net, bits)) return { accept: true, by: from, match: `${net.toString()}/${bits}` };
  }
  return { accept: false, rcode: "REFUSED", reason: `source ${addr.toString()} is neither a primary nor in notifyAllow` };
}
