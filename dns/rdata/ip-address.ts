/**
 * @module IPv4 and IPv6 addresses in rdata (A, AAAA, SVCB hints). Parsing uses ipaddr.js (strict
 * dotted-quad, full IPv6 grammar); printing follows `inet_ntop`, as BIND and Knot print: RFC 5952
 * compression, lowercase, and the IPv4-mapped and IPv4-compatible forms in dotted notation.
 */
import ipaddr from "ipaddr.js";

export function ipv4FromText(text: string): Uint8Array | undefined {
  if (!ipaddr.IPv4.isValidFourPartDecimal(text)) return undefined;
  return Uint8Array.from(ipaddr.IPv4.parse(text).toByteArray());
}

export function ipv4ToText(bytes: Uint8Array): string {
  return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
}

export function ipv6FromText(text: string): Uint8Array | undefined {
  // ipaddr.js accepts zone ids (`fe80::1%eth0`), which have no place in rdata.
  if (text.includes("%") || !ipaddr.IPv6.isValid(text)) return undefined;
  return Uint8Array.from(ipaddr.IPv6.parse(text).toByteArray());
}

export function ipv6ToText(bytes: Uint8Array): string {
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((bytes[i]! << 8) | bytes[i + 1]!);
  // The longest run of two or more zero words becomes "::" (RFC 5952 §4.2.2–4.2.3: first one on a tie).
  let bestStart = -1, bestLength = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLength && j - i >= 2) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  // inet_ntop writes ::a.b.c.d and ::ffff:a.b.c.d with the IPv4 part dotted.
  const embedsIpv4 = bestStart === 0 && (bestLength === 6 || (bestLength === 5 && words[5] === 0xffff));
  let out = "";
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      out += "::";
      i += bestLength - 1;
      continue;
    }
    if (embedsIpv4 && i === 6) {
      if (!out.endsWith(":")) out += ":";
      out += ipv4ToText(bytes.subarray(12, 16));
      break;
    }
    if (out !== "" && !out.endsWith(":")) out += ":";
    out += words[i]!.toString(16);
  }
  return out;
}
