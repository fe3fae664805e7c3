/**
 * @module IPv4 and IPv6 addresses in rdata (A, AAAA, SVCB hints), read as `inet_pton` reads them and
 * printed as `inet_ntop` prints them (what BIND and Knot print): RFC 5952 compression, lowercase, and the
 * IPv4-mapped and IPv4-compatible forms in dotted notation.
 *
 * Not ipaddr.js: 2.5 reads `::1.2.3.4` as `::ffff:1.2.3.4`, silently changing the address, and its
 * general-purpose IPv4 parser (octal, hex, fewer parts) is most of the cost of loading a zone of A records.
 */

/** Strict dotted quad as `inet_pton` reads it: four decimals 0–255, no leading zeros, nothing else. */
export function ipv4FromText(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    out[i] = v;
  }
  return out;
}

export function ipv4ToText(bytes: Uint8Array): string {
  return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
}

/**
 * RFC 4291 §2.2 text: eight groups of 1–4 hex digits, one `::` for a run of zero groups, and optionally
 * a dotted IPv4 address as the last 32 bits.
 */
export function ipv6FromText(text: string): Uint8Array | undefined {
  if (!/^[0-9A-Fa-f:.]+$/.test(text)) return undefined;
  let groups = text;
  const tail: number[] = [];
  const lastColon = text.lastIndexOf(":");
  if (text.includes(".")) {
    const v4 = ipv4FromText(text.slice(lastColon + 1));
    if (v4 === undefined || lastColon < 0) return undefined;
    tail.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
    // Keep the colon: "::1.2.3.4" leaves "::", "a::1.2.3.4" leaves "a::", "1:2:3:4:5:6:1.2.3.4" leaves "…6:".
    groups = text.slice(0, lastColon + 1);
    if (!groups.endsWith("::")) groups = groups.slice(0, -1);
  }
  const halves = groups.split("::");
  if (halves.length > 2) return undefined;
  const parse = (part: string): number[] | undefined => {
    if (part === "") return [];
    const out: number[] = [];
    for (const g of part.split(":")) {
      if (!/^[0-9A-Fa-f]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  if (head === undefined || rest === undefined) return undefined;
  const words = [...head, ...rest, ...tail];
  if (halves.length === 2 ? words.length > 7 : words.length !== 8) return undefined;
  const zeros = new Array<number>(8 - words.length).fill(0);
  const all = [...head, ...zeros, ...rest, ...tail];
  const out = new Uint8Array(16);
  all.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
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
