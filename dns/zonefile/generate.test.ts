/**
 * @module BIND's `$GENERATE` (issue 22) as a table: zone text in, records out as presentation lines, as
 * `named-checkzone -D` prints what BIND 9.18 generates from the same lines; and its faults, each a
 * `ZoneFileError` naming line and column.
 */
import { describe, expect, it } from "vitest";
import { Name } from "../name.ts";
import { parseZone, parseZoneText } from "./parser.ts";
import { recordToText } from "./printer.ts";
import { ZoneFileError } from "./zone-file-error.ts";

const origin = Name.parseAbsolute("example.com");
const lines = (text: string) => parseZoneText(text, { origin }).map((r) => recordToText(r));

describe("$GENERATE", () => {
  it.each<[string, string, string[]]>([
    ["A records by the iterator", "$TTL 300\n$GENERATE 1-3 host$ A 192.0.2.$\n", [
      "host1.example.com. 300 IN A 192.0.2.1",
      "host2.example.com. 300 IN A 192.0.2.2",
      "host3.example.com. 300 IN A 192.0.2.3",
    ]],
    ["a step, and a TTL and class on the line", "$GENERATE 0-4/2 h$ 60 IN A 198.51.100.$\n", [
      "h0.example.com. 60 IN A 198.51.100.0",
      "h2.example.com. 60 IN A 198.51.100.2",
      "h4.example.com. 60 IN A 198.51.100.4",
    ]],
    ["offset, width and hex", "$TTL 1\n$GENERATE 9-10 x${1,3,x} CNAME y${-9,2,d}\n", [
      "x00a.example.com. 1 IN CNAME y00.example.com.",
      "x00b.example.com. 1 IN CNAME y01.example.com.",
    ]],
    ["nibbles for ip6.arpa", "$TTL 1\n$GENERATE 255-255 ${0,4,n} PTR host$.\n", ["f.f.0.0.example.com. 1 IN PTR host255."]],
    ["an escaped dollar is literal", "$TTL 1\n$GENERATE 1-1 a$ TXT \"cost \\$5 for $\"\n", ['a1.example.com. 1 IN TXT "cost $5 for 1"']],
    ["$ORIGIN applies", "$TTL 1\n$ORIGIN sub.example.com.\n$GENERATE 1-1 n$ A 192.0.2.$\n", ["n1.sub.example.com. 1 IN A 192.0.2.1"]],
  ])("%s", (_why, text, expected) => {
    expect(lines(text)).toEqual(expected);
  });

  it.each<[string, string, number, number]>([
    ["a reversed range", "$TTL 1\n$GENERATE 5-1 a$ A 192.0.2.$\n", 2, 10],
    ["not a range", "$TTL 1\n$GENERATE one-two a$ A 192.0.2.$\n", 2, 10],
    ["too many records", "$TTL 1\n$GENERATE 0-70000 a$ A 192.0.2.1\n", 2, 10],
    ["a bad ${} modifier", "$TTL 1\n$GENERATE 1-2 a${1,2,q} A 192.0.2.1\n", 2, 14],
    ["a bad generated address", "$TTL 1\n$GENERATE 250-260 a$ A 192.0.2.$\n", 2, 23],
    ["too few fields", "$TTL 1\n$GENERATE 1-2 a$\n", 2, 0],
  ])("refuses %s, naming line and column", (_why, text, line, column) => {
    let caught: unknown;
    try {
      parseZoneText(text, { origin });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ZoneFileError);
    expect([(caught as ZoneFileError).line, (caught as ZoneFileError).column]).toEqual([line, column]);
  });

  it("streams the same records as the whole-text parse", async () => {
    const text = "$TTL 5\n@ SOA ns1 host 1 2 3 4 5\n$GENERATE 1-50 h$ AAAA 2001:db8::${0,0,x}\nlast A 192.0.2.1\n";
    const streamed = [];
    for await (const r of parseZone([text.slice(0, 40), text.slice(40)], { origin })) streamed.push(recordToText(r));
    expect(streamed).toEqual(lines(text));
    expect(streamed).toHaveLength(52);
  });
});
