/**
 * @module Addresses and prefixes, as every part of the service reads them: the listen addresses of the
 * configuration, and the CIDR prefixes of NOTIFY allow-lists and RRL exemptions. One parser for each, so
 * `::ffff:192.0.2.1` and `192.0.2.0/24` mean the same thing to the NOTIFY ACL and to RRL.
 *
 * Addresses are compared as addresses (ipaddr.js), not as strings: an IPv4 client on a dual-stack socket
 * (`::ffff:192.0.2.1`) matches `192.0.2.0/24`, and `2001:db8::1` matches however it is spelled.
 */
import ipaddr from "ipaddr.js";

/** One `host:port` or `[v6]:port` address to listen on. */
export interface ListenAddress {
  host: string;
  port: number;
}

/** Parses `127.0.0.1:5053` or `[::1]:5053`. */
export function parseListenAddress(text: string): ListenAddress {
  const trimmed = text.trim();
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(trimmed) ?? /^([^:[\]]+):(\d{1,5})$/.exec(trimmed);
  if (!m) throw new Error(`"${text}" is not host:port or [v6]:port`);
  const port = Number(m[2]);
  if (port > 65535) throw new Error(`port ${port} in "${text}" is above 65535`);
  return { host: m[1]!, port };
}

export type Address = ipaddr.IPv4 | ipaddr.IPv6;
/** A network and its length in bits. */
export type Prefix = [Address, number];

/** Parses an address, unmapping IPv4-mapped IPv6 (`::ffff:a.b.c.d`); undefined when it is not one. */
export function parseAddress(text: string): Address | undefined {
  // Sockets may report a zone index (`fe80::1%eth0`); it plays no part in matching.
  const bare = text.replace(/%.*$/, "");
  // Only dotted-quad IPv4: ipaddr.js also takes inet_aton's legacy forms ("1.2.3", "0x7f.1"), which
  // nobody means in a DNS server's ACL.
  const valid = bare.includes(":") ? ipaddr.IPv6.isValid(bare) : ipaddr.IPv4.isValidFourPartDecimal(bare);
  return valid ? ipaddr.process(bare) : undefined;
}

/** Parses `a.b.c.d/n`, `x::/n`, or a bare address (a host route); undefined when it is none of them. */
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

/** Whether `addr` lies in `prefix` (an IPv4 address never lies in an IPv6 prefix, after unmapping). */
export function inPrefix(addr: Address, [net, bits]: Prefix): boolean {
  return net.kind() === addr.kind() && addr.match(net, bits);
}
