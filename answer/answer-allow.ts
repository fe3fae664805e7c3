/**
 * @module Who may get answers from a zone: its `answerAllow` CIDR prefixes (empty: everyone). A hidden
 * (stealth, RFC 1996 §2) zone is usually restricted this way so that only the operator's own checks reach it
 * before the delegation changes. Matching uses ipaddr.js; IPv4-mapped IPv6 clients (`::ffff:192.0.2.1`) are
 * matched as IPv4, which is how a dual-stack socket reports them.
 */
import ipaddr from "ipaddr.js";

/** True when `client` is inside one of `prefixes` (or the list is empty). Unparseable input never matches. */
export function clientAllowed(prefixes: readonly string[], client: string | undefined): boolean {
  if (prefixes.length === 0) return true;
  if (client === undefined || !ipaddr.isValid(client)) return false;
  const address = ipaddr.process(client);
  for (const prefix of prefixes) {
    try {
      const range = prefix.includes("/") ? ipaddr.parseCIDR(prefix) : singleAddress(prefix);
      const [base, bits] = range;
      const normalized = base.kind() === "ipv6" && (base as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96
        ? ([(base as ipaddr.IPv6).toIPv4Address(), bits - 96] as [ipaddr.IPv4, number])
        : range;
      if (address.kind() === normalized[0].kind() && address.match(normalized)) return true;
    } catch {
      // A malformed prefix (the API validates them; this is a second line) grants nothing.
    }
  }
  return false;
}

function singleAddress(text: string): [ipaddr.IPv4 | ipaddr.IPv6, number] {
  const a = ipaddr.process(text);
  return [a, a.kind() === "ipv4" ? 32 : 128];
}
