/**
 * @module Tables for the zone-spec helpers the peer modules share: reading the SOA serial out of master
 * text (how updateZone knows what to wait for), parsing NOTIFY targets, and name spelling.
 */
import { describe, expect, test } from "vitest";
import { generateZone } from "../zones/generate.ts";
import { absolute, bare, notifyTarget, soaSerialOf, zoneFileName } from "./zone-spec.ts";

describe("soaSerialOf", () => {
  test.each([
    ["one line", "@ 3600 IN SOA ns1 hostmaster 42 3600 600 86400 300\n", 42],
    ["class and TTL omitted", "$TTL 300\n@ SOA ns1 hostmaster 7 1 2 3 4\n", 7],
    ["lower-case type", "example. in soa ns. h. 2026112601 1 2 3 4\n", 2026112601],
    [
      "multi-line with comments",
      "$ORIGIN example.test.\n@ IN SOA ns1 hostmaster ( ; primary, contact\n  2024010101 ; serial\n  3600 ; refresh\n  600 86400 300 )\n",
      2024010101,
    ],
    ["parentheses touching", "@ IN SOA ns1 hostmaster (5 1 2 3 4)\n", 5],
    ["serial 2^32-1 (RFC 1982 wraps above it)", "@ SOA a. b. 4294967295 1 2 3 4\n", 4294967295],
    ["generated zone", generateZone({ origin: "gen.test", records: 10, seed: 1, serial: 99 }), 99],
  ])("%s", (_label, text, serial) => {
    expect(soaSerialOf(text)).toBe(serial);
  });

  test.each([
    ["no SOA", "@ IN NS ns1\n"],
    ["SOA only in a comment", "; SOA ns1 h 1 2 3 4 5\n@ NS ns1\n"],
    ["truncated SOA", "@ IN SOA ns1 hostmaster\n"],
  ])("%s is an error, not a guess", (_label, text) => {
    expect(() => soaSerialOf(text)).toThrow(/no SOA/);
  });
});

describe("notifyTarget", () => {
  test.each([
    ["127.0.0.1:5053", { address: "127.0.0.1", port: 5053 }],
    ["[::1]:5053", { address: "::1", port: 5053 }],
    [{ address: "127.0.0.1", port: 9 }, { address: "127.0.0.1", port: 9 }],
  ])("%o", (input, want) => {
    expect(notifyTarget(input)).toEqual(want);
  });

  test.each(["127.0.0.1", "::1:53", "host:port"])("%s is rejected", (input) => {
    expect(() => notifyTarget(input)).toThrow(/address:port/);
  });
});

describe("names", () => {
  test.each([
    ["Example.TEST.", "example.test", "example.test.", "example.test.zone"],
    ["example.test", "example.test", "example.test.", "example.test.zone"],
    [".", "", ".", "root.zone"],
  ])("%s", (name, b, a, file) => {
    expect(bare(name)).toBe(b);
    expect(absolute(name)).toBe(a);
    expect(zoneFileName(name)).toBe(file);
  });
});
