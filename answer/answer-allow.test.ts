/** Table of `answerAllow` matching: CIDR prefixes of both families, single addresses, bad input. */
import { describe, expect, it } from "vitest";
import { clientAllowed } from "./answer-allow.ts";

const cases: Array<{ prefixes: string[]; client: string | undefined; allowed: boolean }> = [
  { prefixes: [], client: undefined, allowed: true },
  { prefixes: [], client: "203.0.113.9", allowed: true },
  { prefixes: ["192.0.2.0/24"], client: "192.0.2.200", allowed: true },
  { prefixes: ["192.0.2.0/24"], client: "192.0.3.1", allowed: false },
  { prefixes: ["192.0.2.0/24"], client: undefined, allowed: false },
  { prefixes: ["192.0.2.0/24"], client: "not an address", allowed: false },
  { prefixes: ["192.0.2.0/24"], client: "::ffff:192.0.2.1", allowed: true },
  { prefixes: ["192.0.2.0/24"], client: "2001:db8::1", allowed: false },
  { prefixes: ["2001:db8::/32"], client: "2001:db8:ffff::1", allowed: true },
  { prefixes: ["2001:db8::/32"], client: "2001:db9::1", allowed: false },
  { prefixes: ["2001:db8::/32"], client: "192.0.2.1", allowed: false },
  { prefixes: ["198.51.100.7"], client: "198.51.100.7", allowed: true },
  { prefixes: ["198.51.100.7"], client: "198.51.100.8", allowed: false },
  { prefixes: ["::ffff:192.0.2.0/120"], client: "192.0.2.5", allowed: true },
  { prefixes: ["garbage/99", "10.0.0.0/8"], client: "10.1.2.3", allowed: true },
  { prefixes: ["garbage/99"], client: "10.1.2.3", allowed: false },
];

describe("clientAllowed", () => {
  it.each(cases)("$prefixes vs $client → $allowed", ({ prefixes, client, allowed }) => {
    expect(clientAllowed(prefixes, client)).toBe(allowed);
  });
});
