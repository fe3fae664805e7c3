/**
 * @module Zone-file parsing as tables: zone text in, printed records out; bad zone text in, the error's
 * code, line and column out. Plus streaming (any chunking gives the same records) and `$INCLUDE`.
 */
import { describe, expect, it } from "vitest";
import { Name } from "../name.ts";
import { parseZone, parseZoneText, type ZoneRecord } from "./parser.ts";
import { recordToText } from "./printer.ts";
import { textChunks } from "./text-chunks.ts";
import { ZoneFileError } from "./zone-file-error.ts";

const origin = Name.parse("example.com.");
const lines = (records: ZoneRecord[]) => records.map(recordToText);

const GOOD: Array<[string, string, string[]]> = [
  ["relative names, @, $TTL", "$TTL 300\n@ IN SOA ns1 host 1 2 3 4 5\nwww A 192.0.2.1\n", [
    "example.com. 300 IN SOA ns1.example.com. host.example.com. 1 2 3 4 5",
    "www.example.com. 300 IN A 192.0.2.1",
  ]],
  ["blank owner reuses the previous one", "a 60 A 192.0.2.1\n  AAAA ::1\n\tTXT x\n", [
    "a.example.com. 60 IN A 192.0.2.1",
    "a.example.com. 60 IN AAAA ::1",
    'a.example.com. 60 IN TXT "x"',
  ]],
  ["TTL and class in either order", "a 60 IN A 192.0.2.1\nb IN 70 A 192.0.2.2\nc IN A 192.0.2.3\n", [
    "a.example.com. 60 IN A 192.0.2.1",
    "b.example.com. 70 IN A 192.0.2.2",
    "c.example.com. 70 IN A 192.0.2.3",
  ]],
  ["TTL units", "a 1h30m A 192.0.2.1\nb 1W A 192.0.2.1\n", [
    "a.example.com. 5400 IN A 192.0.2.1",
    "b.example.com. 604800 IN A 192.0.2.1",
  ]],
  ["TTLs above 2^31 - 1 are 0 (RFC 2181 §8, as BIND)", "a 2147483647 A 192.0.2.1\nb 2147483648 A 192.0.2.1\nc 4294967295 A 192.0.2.1\n", [
    "a.example.com. 2147483647 IN A 192.0.2.1",
    "b.example.com. 0 IN A 192.0.2.1",
    "c.example.com. 0 IN A 192.0.2.1",
  ]],
  ["$ORIGIN, relative and absolute", "$TTL 1\n$ORIGIN sub\nx A 192.0.2.1\n$ORIGIN other.test.\ny CNAME x\nz.example.com. A 192.0.2.2\n", [
    "x.sub.example.com. 1 IN A 192.0.2.1",
    "y.other.test. 1 IN CNAME x.other.test.",
    "z.example.com. 1 IN A 192.0.2.2",
  ]],
  ["parentheses and comments", "$TTL 1\n@ SOA ( ns1 ; primary\n  host ; mailbox\n  1 2 3\n  4 5 ) ; end\n", [
    "example.com. 1 IN SOA ns1.example.com. host.example.com. 1 2 3 4 5",
  ]],
  ["quoted strings with escapes and specials", '$TTL 1\nt TXT "a;b" "(c)" "d\\"e" "f\\\\g" "\\010" \\;x\n', [
    'example.com. 1 IN TXT "a;b" "(c)" "d\\"e" "f\\\\g" "\\010" ";x"'.replace("example.com.", "t.example.com."),
  ]],
  ["escaped names", "$TTL 1\na\\.b\\032c TXT x\n\\@ A 192.0.2.1\n", [
    'a\\.b\\032c.example.com. 1 IN TXT "x"',
    "\\@.example.com. 1 IN A 192.0.2.1",
  ]],
  ["generic rdata for known and unknown types", "$TTL 1\na TYPE65280 \\# 4 0A000001\nb A \\# 4 C0000201\nc TYPE1 192.0.2.3\nd CLASS1 A 192.0.2.4\n", [
    "a.example.com. 1 IN TYPE65280 \\# 4 0A000001",
    "b.example.com. 1 IN A 192.0.2.1",
    "c.example.com. 1 IN A 192.0.2.3",
    "d.example.com. 1 IN A 192.0.2.4",
  ]],
  ["no $TTL: the SOA minimum, then the last TTL", "@ SOA ns1 host 1 2 3 4 600\nwww A 192.0.2.1\nx 30 A 192.0.2.2\ny A 192.0.2.3\n", [
    "example.com. 600 IN SOA ns1.example.com. host.example.com. 1 2 3 4 600",
    "www.example.com. 600 IN A 192.0.2.1",
    "x.example.com. 30 IN A 192.0.2.2",
    "y.example.com. 30 IN A 192.0.2.3",
  ]],
  ["CRLF line ends and a last line without newline", "$TTL 1\r\na A 192.0.2.1\r\nb A 192.0.2.2", [
    "a.example.com. 1 IN A 192.0.2.1",
    "b.example.com. 1 IN A 192.0.2.2",
  ]],
  ["SVCB quoted value inside a word", '$TTL 1\ns HTTPS 1 . alpn="h2,h3" key65000="a b"\n', [
    's.example.com. 1 IN HTTPS 1 . alpn="h2,h3" key65000="a b"',
  ]],
  ["an owner named like a type", "$TTL 1\nA A 192.0.2.1\nIN A 192.0.2.2\n", [
    "A.example.com. 1 IN A 192.0.2.1",
    "IN.example.com. 1 IN A 192.0.2.2",
  ]],
];

describe("zone file parsing", () => {
  it.each(GOOD)("%s", (_what, text, expected) => {
    expect(lines(parseZoneText(text, { origin }))).toEqual(expected);
  });

  it.each(GOOD)("%s, streamed one character at a time", async (_what, text, expected) => {
    const out: ZoneRecord[] = [];
    for await (const r of parseZone([...text], { origin })) out.push(r);
    expect(lines(out)).toEqual(expected);
  });
});

/** [what, zone text, error code, line, column]. */
const BAD: Array<[string, string, string, number, number]> = [
  ["unknown type", "$TTL 1\na BOGUS 1\n", "bad-type", 2, 2],
  ["bad rdata", "$TTL 1\na A 192.0.2\n", "bad-rdata", 2, 4],
  ["bad rdata on a continuation line", "$TTL 1\n@ SOA ( ns1 host\n  1 2 x\n 4 5 )\n", "bad-rdata", 3, 6],
  ["extra rdata", "$TTL 1\na A 192.0.2.1 192.0.2.2\n", "bad-rdata", 2, 14],
  ["missing rdata", "$TTL 1\na MX 10\n", "bad-rdata", 2, 5],
  ["unclosed parenthesis", "$TTL 1\na TXT ( x\n", "syntax", 2, 6],
  ["closing parenthesis without opening", "$TTL 1\na TXT x )\n", "syntax", 2, 8],
  ["nested parentheses", "$TTL 1\na TXT ( ( x ) )\n", "syntax", 2, 8],
  ["unterminated quote", '$TTL 1\na TXT "abc\n', "syntax", 2, 6],
  ["no TTL at all", "a A 192.0.2.1\n", "no-ttl", 1, 2],
  ["blank owner first", "$TTL 1\n  A 192.0.2.1\n", "no-owner", 2, 2],
  ["bad TTL", "a 99999999999 A 192.0.2.1\n", "bad-ttl", 1, 2],
  ["bad $TTL", "$TTL forever\n", "bad-ttl", 1, 5],
  ["other class", "$TTL 1\na CH A 192.0.2.1\n", "bad-class", 2, 5],
  ["meta type", "$TTL 1\na ANY \\# 0\n", "bad-type", 2, 2],
  ["$INCLUDE when off", "$INCLUDE other.zone\n", "directive", 1, 0],
  ["unknown directive", "$RANDOM 1-10 a$ A 192.0.2.$\n", "directive", 1, 0],
  ["bad owner", "$TTL 1\na..b A 192.0.2.1\n", "bad-owner", 2, 2],
  ["bad escape in owner", "$TTL 1\na\\999 A 192.0.2.1\n", "bad-owner", 2, 1],
  ["bad $ORIGIN", "$ORIGIN a..b.\n", "directive", 1, 10],
  ["label too long", `$TTL 1\n${"x".repeat(64)} A 192.0.2.1\n`, "bad-owner", 2, 63],
  ["unknown type without generic form", "$TTL 1\na TYPE65280 0A000001\n", "bad-rdata", 2, 12],
];

describe("bad zone files", () => {
  it.each(BAD)("%s", (_what, text, code, line, column) => {
    let error: unknown;
    try {
      parseZoneText(text, { origin, file: "t.zone" });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ZoneFileError);
    const e = error as ZoneFileError;
    expect({ code: e.code, line: e.line, column: e.column }).toEqual({ code, line, column });
    expect(e.message.startsWith(`t.zone:${line}:${column}: `)).toBe(true);
  });
});

describe("$INCLUDE", () => {
  const files: Record<string, string> = {
    "main.zone": "$TTL 5\n@ SOA ns1 host 1 2 3 4 5\n$INCLUDE hosts.zone sub\nafter A 192.0.2.9\n",
    "hosts.zone": "$TTL 7\nh A 192.0.2.1\n  AAAA ::1\n",
    "loop.zone": "$INCLUDE loop.zone\n",
    "broken.zone": "$TTL 1\nok A 192.0.2.1\nbad A nope\n",
  };
  const include = (path: string) => [files[path] ?? ""];

  it("reads the file with its own origin; the origin comes back after it, its $TTL stays (as in BIND)", async () => {
    const out: ZoneRecord[] = [];
    for await (const r of parseZone([files["main.zone"]!], { origin, include, file: "main.zone" })) out.push(r);
    expect(lines(out)).toEqual([
      "example.com. 5 IN SOA ns1.example.com. host.example.com. 1 2 3 4 5",
      "h.sub.example.com. 7 IN A 192.0.2.1",
      "h.sub.example.com. 7 IN AAAA ::1",
      "after.example.com. 7 IN A 192.0.2.9",
    ]);
  });

  it("stops include loops", async () => {
    const run = async () => {
      for await (const _ of parseZone([files["loop.zone"]!], { origin, include, file: "loop.zone" })) void _;
    };
    await expect(run()).rejects.toMatchObject({ code: "include-depth" });
  });

  it("names the included file in errors", async () => {
    const run = async () => {
      for await (const _ of parseZone(["$INCLUDE broken.zone\n"], { origin, include, file: "main.zone" })) void _;
    };
    await expect(run()).rejects.toMatchObject({ code: "bad-rdata", file: "broken.zone", line: 3, column: 6 });
  });
});

describe("streaming from a byte stream", () => {
  const streamOf = (bytes: Uint8Array, size: number) =>
    new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += size) controller.enqueue(bytes.slice(i, i + size));
        controller.close();
      },
    });

  it("reads UTF-8 split across chunks as the same octets", async () => {
    const text = '$TTL 1\nu TXT "h\u00e9llo \u2603"\nv A 192.0.2.1\n';
    const out: ZoneRecord[] = [];
    for await (const r of parseZone(textChunks(streamOf(new TextEncoder().encode(text), 1)), { origin })) out.push(r);
    expect(lines(out)).toEqual(lines(parseZoneText(text, { origin })));
    expect(lines(out)[0]).toBe('u.example.com. 1 IN TXT "h\\195\\169llo \\226\\152\\131"');
  });

  it("keeps octets that are not UTF-8, in names and strings, and ignores them in comments", async () => {
    const bytes = Uint8Array.of(...new TextEncoder().encode("$TTL 1\na"), 0xff, ...new TextEncoder().encode(' TXT "'), 0x80, 0xfe,
      ...new TextEncoder().encode('" ; '), 0xc3, 0x0a);
    const out: ZoneRecord[] = [];
    for await (const r of parseZone(textChunks(streamOf(bytes, 3)), { origin })) out.push(r);
    expect(lines(out)).toEqual(['a\\255.example.com. 1 IN TXT "\\128\\254"']);
    expect([...out[0]!.rdata]).toEqual([2, 0x80, 0xfe]);
  });
});
