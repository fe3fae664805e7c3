/**
 * @module The printer: absolute or `$ORIGIN`-relative owners, RFC 3597 form for types without a codec and
 * for the obsolete ones Knot does not know, and text that parses back to the same records.
 */
import { describe, expect, it } from "vitest";
import { Name } from "../name.ts";
import { parseZoneText } from "./parser.ts";
import { printZone, recordToText } from "./printer.ts";

const origin = Name.parse("example.com.");
const ZONE = [
  "$TTL 60",
  "@ SOA ns1 host 1 2 3 4 5",
  "www A 192.0.2.1",
  "a\\.b\\032c TXT x",
  "\\@ TXT at",
  "px PX 10 a.example. b.example.",
  "u TYPE65280 \\# 2 ABCD",
  "other.test. A 192.0.2.2",
].join("\n");

const CASES: Array<[string, Name | undefined, string[]]> = [
  ["absolute", undefined, [
    "example.com. 60 IN SOA ns1.example.com. host.example.com. 1 2 3 4 5",
    "www.example.com. 60 IN A 192.0.2.1",
    'a\\.b\\032c.example.com. 60 IN TXT "x"',
    '\\@.example.com. 60 IN TXT "at"',
    "px.example.com. 60 IN TYPE26 \\# 24 000A0161076578616D706C65000162076578616D706C6500",
    "u.example.com. 60 IN TYPE65280 \\# 2 ABCD",
    "other.test. 60 IN A 192.0.2.2",
  ]],
  ["relative to the origin", origin, [
    "$ORIGIN example.com.",
    "@ 60 IN SOA ns1.example.com. host.example.com. 1 2 3 4 5",
    "www 60 IN A 192.0.2.1",
    'a\\.b\\032c 60 IN TXT "x"',
    '\\@ 60 IN TXT "at"',
    "px 60 IN TYPE26 \\# 24 000A0161076578616D706C65000162076578616D706C6500",
    "u 60 IN TYPE65280 \\# 2 ABCD",
    "other.test. 60 IN A 192.0.2.2",
  ]],
];

describe("printZone", () => {
  it.each(CASES)("%s", (_what, printOrigin, expected) => {
    const records = parseZoneText(ZONE, { origin });
    const text = [...printZone(records, { origin: printOrigin })].join("");
    expect(text.split("\n").filter((l) => l !== "")).toEqual(expected);
    // What we print parses back to the same records, byte for byte.
    const again = parseZoneText(text, { origin: Name.parse("elsewhere.") });
    expect(again.map((r) => recordToText(r))).toEqual(records.map((r) => recordToText(r)));
  });
});
