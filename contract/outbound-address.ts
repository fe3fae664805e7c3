/**
 * @module Where Backstop may send a packet of its own accord: the one rule for outbound targets (today a
 * zone's primaries, which get SOA queries and transfer requests; NOTIFY targets follow the same rule when they
 * exist). Both runtimes import it: the API refuses such an address with a 400 naming the field, and the
 * transfer-service refuses to send to one that reached it anyway (a row written before the rule existed), so
 * the rule holds even when one side is older than the other.
 *
 * Refused, because no DNS primary lives there and a packet sent there reaches something else:
 *   - unspecified: 0.0.0.0/8 and `::` (sent to, they reach this host: "this network", RFC 1122 §3.2.1.3);
 *   - broadcast 255.255.255.255 and the rest of 240.0.0.0/4 (reserved, RFC 1112 §4);
 *   - multicast: 224.0.0.0/4, ff00::/8;
 *   - link-local: 169.254.0.0/16 (RFC 3927), fe80::/10;
 *   - cloud metadata services, which hand out credentials to whoever asks from inside the VM:
 *     169.254.169.254 (AWS, GCP, Azure, Oracle, DigitalOcean …), fd00:ec2::254 (AWS over IPv6, inside the
 *     otherwise allowed unique-local fc00::/7) and 100.100.100.200 (Alibaba Cloud, inside the otherwise
 *     allowed shared space 100.64.0.0/10).
 * Loopback (127.0.0.0/8, ::1) and private ranges (10/8, 172.16/12, 192.168/16, fc00::/7, 100.64/10) stay
 * allowed: tests run primaries on loopback and many primaries are private.
 *
 * IPv6 addresses that carry an IPv4 address the stack may send to are judged by that IPv4 address:
 * IPv4-mapped `::ffff:a.b.c.d` (a dual-stack socket sends it as IPv4), IPv4-compatible `::a.b.c.d`
 * (deprecated, but Linux's sit driver still tunnels it to a.b.c.d), NAT64's well-known `64:ff9b::/96`
 * (RFC 6052) and 6to4's `2002:aabb:ccdd::/48` (RFC 3056, tunnelled to the embedded router address).
 *
 * Addresses are read as the API accepts them: dotted-quad IPv4 only (not inet_aton's `0x7f.1` or `1.2.3`,
 * which ipaddr.js would take) and IPv6 without a zone index. ipaddr.js is plain JavaScript with no Node or
 * Workers API, so it is allowed here (`contract/` may use Web APIs and such libraries only).
 */
import ipaddr from "ipaddr.js";

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/** A refused range, with the words that say why. */
interface Rule {
  readonly prefix: [Address, number];
  readonly why: string;
}

const rule = (cidr: string, why: string): Rule => ({ prefix: ipaddr.parseCIDR(cidr), why });

const METADATA = "a cloud metadata service address";
/** Checked in order: the narrowest first, so 169.254.169.254 is named as metadata, not as link-local. */
const RULES: readonly Rule[] = [
  rule("169.254.169.254/32", METADATA),
  rule("fd00:ec2::254/128", METADATA),
  rule("100.100.100.200/32", METADATA),
  rule("0.0.0.0/8", "an unspecified address (0.0.0.0/8 means this host)"),
  rule("::/128", "the unspecified address (:: means this host)"),
  rule("255.255.255.255/32", "the broadcast address"),
  rule("240.0.0.0/4", "in the reserved range 240.0.0.0/4"),
  rule("224.0.0.0/4", "a multicast address (224.0.0.0/4)"),
  rule("ff00::/8", "a multicast address (ff00::/8)"),
  rule("169.254.0.0/16", "a link-local address (169.254.0.0/16)"),
  rule("fe80::/10", "a link-local address (fe80::/10)"),
];

/** Prefixes whose IPv6 addresses carry an IPv4 address, and where it sits (the first of its 4 octets). */
const EMBEDDING: readonly { prefix: [Address, number]; offset: number; name: string }[] = [
  { prefix: ipaddr.parseCIDR("::ffff:0:0/96"), offset: 12, name: "IPv4-mapped" },
  { prefix: ipaddr.parseCIDR("::/96"), offset: 12, name: "IPv4-compatible" },
  { prefix: ipaddr.parseCIDR("64:ff9b::/96"), offset: 12, name: "NAT64" },
  { prefix: ipaddr.parseCIDR("2002::/16"), offset: 2, name: "6to4" },
];

/** Parses an address as the API accepts it; undefined when it is not one. */
function parse(text: string): Address | undefined {
  if (!text.includes(":")) return ipaddr.IPv4.isValidFourPartDecimal(text) ? ipaddr.IPv4.parse(text) : undefined;
  if (text.includes("%") || !ipaddr.IPv6.isValid(text)) return undefined;
  // ipaddr.js 2.5 reads `::a.b.c.d` as `::ffff:a.b.c.d`; inet_pton (what the socket is given) does not.
  // A dotted tail is rewritten as its two hex groups first, so the address is the one the kernel sees.
  const tail = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!tail) return ipaddr.IPv6.parse(text);
  const [a, b, c, d] = tail.slice(1).map(Number) as [number, number, number, number];
  const hex = `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  return ipaddr.IPv6.parse(text.slice(0, tail.index) + hex);
}

function refusedBy(addr: Address): Rule | undefined {
  return RULES.find(({ prefix: [net, bits] }) => net.kind() === addr.kind() && addr.match(net, bits));
}

/**
 * Why Backstop must not send to `address`, in words ("169.254.169.254 is a cloud metadata service address"),
 * or undefined when it may. Text that is not an address is refused too.
 */
export function outboundAddressProblem(address: string): string | undefined {
  const addr = parse(address);
  if (!addr) return `${JSON.stringify(address)} is not an IPv4 or IPv6 address`;
  const direct = refusedBy(addr);
  if (direct) return `${address} is ${direct.why}`;
  if (addr.kind() === "ipv6") {
    const v6 = addr as ipaddr.IPv6;
    // :: and ::1 lie in ::/96 but are IPv6's own unspecified and loopback addresses, judged above.
    if (v6.range() === "loopback") return undefined;
    for (const { prefix: [net, bits], offset, name } of EMBEDDING) {
      if (!v6.match(net, bits)) continue;
      const bytes = v6.toByteArray();
      const v4 = new ipaddr.IPv4(bytes.slice(offset, offset + 4));
      const embedded = refusedBy(v4);
      if (embedded) return `${address} is ${name} for ${v4.toString()}, which is ${embedded.why}`;
      break;
    }
  }
  return undefined;
}

/** Whether Backstop may send to `address` (see {@link outboundAddressProblem}). */
export function isOutboundAllowed(address: string): boolean {
  return outboundAddressProblem(address) === undefined;
}

/** The sentence that follows a refusal, for messages: what is refused and why. */
export const OUTBOUND_RULE =
  "Backstop sends to no unspecified, broadcast, multicast, link-local or cloud metadata address (loopback and private addresses are allowed)";
