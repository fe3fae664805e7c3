/**
 * @module Round trips for every type: text → wire → text gives the expected presentation (BIND's form),
 * and wire → text → wire gives back the same bytes. Plus wire that only the generic form can carry, and
 * text that must be refused with the column named.
 */
import { describe, expect, it } from "vitest";
import { RRType, typeFromString } from "../constants.ts";
import { Name } from "../name.ts";
import { toBase16 } from "./base16.ts";
import { decodeRdata, encodeRdata, hasCodec, rdataFromText, rdataToText, RdataError } from "./index.ts";

const origin = Name.parse("example.com.");
const KEY = "mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==";

/** [type, input text, expected output text (defaults to the input)]. */
const ROUND_TRIPS: Array<[string, string, string?]> = [
  ["A", "192.0.2.1"],
  ["AAAA", "2001:db8::1"],
  ["AAAA", "2001:0DB8:0:0:0:0:0:1", "2001:db8::1"],
  ["AAAA", "::ffff:192.0.2.1"],
  ["AAAA", "::"],
  ["AAAA", "::1"],
  ["AAAA", "::1.2.3.4"], // IPv4-compatible: not ::ffff:1.2.3.4
  ["AAAA", "::0102:0304", "::1.2.3.4"],
  ["AAAA", "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"],
  ["AAAA", "1::1.2.3.4", "1::102:304"],
  ["AAAA", "::ffff:0:0", "::ffff:0.0.0.0"],
  ["AAAA", "1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"],
  ["AAAA", "1:0:0:2:0:0:0:3", "1:0:0:2::3"],
  ["NS", "ns1", "ns1.example.com."],
  ["NS", "@", "example.com."],
  ["CNAME", "Target.Example.NET.", "Target.Example.NET."],
  ["DNAME", "elsewhere.example."],
  ["PTR", "host\\.with\\.dots.example.", "host\\.with\\.dots.example."],
  ["SOA", "ns1 hostmaster 2024010101 7200 3600 1209600 300", "ns1.example.com. hostmaster.example.com. 2024010101 7200 3600 1209600 300"],
  ["SOA", "a. b. 4294967295 0 0 0 0"],
  ["SOA", "a. b. 1 1h 15m 2w 1d5m", "a. b. 1 3600 900 1209600 86700"],
  ["MX", "10 mail", "10 mail.example.com."],
  ["MX", "0 ."],
  ["AFSDB", "1 afsdb.example."],
  ["RT", "10 relay.example."],
  ["KX", "10 kx.example."],
  ["RP", "admin.example. info.example."],
  ["MINFO", "admin.example. errors.example."],
  ["PX", "10 map822.example. mapx400.example."],
  ["TXT", '"v=spf1 -all"'],
  ["TXT", "unquoted", '"unquoted"'],
  ["TXT", '"two" "strings"'],
  ["TXT", '"with \\"quotes\\" and \\\\ backslash"'],
  ["TXT", '"\\255\\000\\010 octets"'],
  ["TXT", '"\\065\\066C"', '"ABC"'],
  ["TXT", '""'],
  ["TXT", '"semi;colon (paren)"'],
  ["TXT", '"héllo"', '"h\\195\\169llo"'],
  ["SPF", '"v=spf1 -all"'],
  ["HINFO", '"PDP-11" "UNIX"'],
  ["HINFO", "INTEL-386 Linux", '"INTEL-386" "Linux"'],
  ["SRV", "10 60 5060 sip.example."],
  ["SRV", "0 0 0 ."],
  ["NAPTR", '100 10 "S" "SIP+D2U" "" _sip._udp.example.'],
  ["NAPTR", '100 50 "u" "E2U+sip" "!^.*$!sip:info@example.com!" .'],
  ["URI", '10 1 "https://www.example.com/"'],
  ["URI", '10 1 "ftp://a b"'],
  ["CAA", '0 issue "letsencrypt.org"'],
  ["CAA", '128 tbs "Unknown;\\"value\\""'],
  ["CAA", '0 issue ";"'],
  ["CAA", "0 iodef mailto:a@example.com", '0 iodef "mailto:a@example.com"'],
  ["SSHFP", "1 1 dd465c09cfa51fb45020cc83316fff21b9ec74ac", "1 1 DD465C09CFA51FB45020CC83316FFF21B9EC74AC"],
  ["SSHFP", "4 7 ( 0102 0304 )".replace(/[()]/g, ""), "4 7 01020304"],
  ["TLSA", "3 1 1 0C72AC70B745AC19998811B131D662C9AC69DBDBE7CB23E5B514B56664C5D3D6"],
  ["SMIMEA", "3 0 1 0c72ac70 b745ac19", "3 0 1 0C72AC70B745AC19"],
  ["OPENPGPKEY", "mQINBF1OjoUB EADIBLwl", "mQINBF1OjoUBEADIBLwl"],
  ["LOC", "52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m"],
  ["LOC", "52 22 23 N 4 53 32 E -2m", "52 22 23.000 N 4 53 32.000 E -2.00m 1m 10000m 10m"],
  ["LOC", "42 S 71 W 0", "42 0 0.000 S 71 0 0.000 W 0.00m 1m 10000m 10m"],
  ["LOC", "90 0 0 N 180 0 0 W 42849672.95m 90000000m 0.50m 0.01m", "90 0 0.000 N 180 0 0.000 W 42849672.95m 90000000m 0.50m 0.01m"],
  ["LOC", "0 0 0.001 N 0 0 0.001 E -100000m 1m 1m 1m", "0 0 0.001 N 0 0 0.001 E -100000.00m 1m 1m 1m"],
  ["SVCB", "0 svc.example."],
  ["SVCB", "1 . alpn=h2,h3 port=443", '1 . alpn="h2,h3" port=443'],
  ["HTTPS", '1 . alpn="h2,h3" ipv4hint=192.0.2.1 ipv6hint=2001:db8::1'],
  ["HTTPS", "1 . ipv6hint=2001:db8::1,::ffff:192.0.2.1 ipv4hint=192.0.2.1,192.0.2.2", "1 . ipv4hint=192.0.2.1,192.0.2.2 ipv6hint=2001:db8::1,::ffff:192.0.2.1"],
  ["SVCB", "16 t.example. no-default-alpn mandatory=alpn alpn=h2 key65000=hello", '16 t.example. mandatory=alpn alpn="h2" no-default-alpn key65000="hello"'],
  ["SVCB", '1 . alpn="h2,with\\\\,comma"'], // RFC 9460 A.1: a literal comma in an ALPN id, as BIND writes it
  ["SVCB", '1 . alpn="h2,a\\\\\\\\b"'], // a literal backslash in an ALPN id
  ["SVCB", "1 . alpn=h2\\,h3", '1 . alpn="h2,h3"'], // \, is only a character-string escape: still a separator
  ["SVCB", "1 . ech=AEn+DQBFKwAg dohpath=/dns-query{?dns} key65001", '1 . ech=AEn+DQBFKwAg key7="/dns-query{?dns}" key65001'],
  ["SVCB", '1 . key65000="a b"'],
  ["DS", "60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118"],
  ["DS", "60485 5 1 2bb183af5f22588179a5 3b0a98631fad1a292118", "60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118"],
  ["CDS", "0 0 0 00"],
  ["DNSKEY", `257 3 13 ${KEY}`],
  ["DNSKEY", `256 2 13 ${KEY.slice(0, 20)} ${KEY.slice(20)}`, `256 2 13 ${KEY}`],
  ["CDNSKEY", "0 3 0 AA=="],
  ["RRSIG", `A 13 3 3600 20260101000000 20251201000000 12345 example.com. ${KEY}`],
  ["RRSIG", `TYPE65280 13 2 0 1767225600 1764547200 1 Example.COM. ${KEY}`, `TYPE65280 13 2 0 20260101000000 20251201000000 1 Example.COM. ${KEY}`],
  ["SIG", `NXT 1 2 3600 20260101000000 20251201000000 2 example.com. AQID`],
  ["NSEC", "host.example.com. A NS SOA MX TXT AAAA RRSIG NSEC DNSKEY"],
  ["NSEC", "a.example. A TYPE1234 CAA TYPE65280", "a.example. A CAA TYPE1234 TYPE65280"],
  ["NSEC", "a.example. AAAA A", "a.example. A AAAA"],
  ["NSEC", "a.example."],
  ["NXT", "www.example.com. A NS SOA MX"],
  ["NSEC3", "1 1 12 AABBCCDD 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR A RRSIG"],
  ["NSEC3", "1 0 0 - 2t7b4g4vsa5smi47k61mv5bv1a22bojr", "1 0 0 - 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR"],
  ["NSEC3PARAM", "1 0 10 AABBCCDD"],
  ["NSEC3PARAM", "1 0 0 -"],
  ["ZONEMD", "2024010101 1 1 9C5B0BB7B4C2ADEB5E8A05AEC4C7D5E44C8E3D4A1C0FD5A6B4C7E1E84E6F8F3E9C5B0BB7B4C2ADEB5E8A05AEC4C7D5E4"],
  ["CSYNC", "2024010101 3 A NS AAAA"],
  ["CSYNC", "0 0"],
  ["TYPE65280", "\\# 4 0A000001"],
  ["TYPE65280", "\\# 0"],
  ["TYPE260", "\\# 3 ab CD ef", "\\# 3 ABCDEF"],
  ["A", "\\# 4 C0000201", "192.0.2.1"],
  ["MX", "\\# 7 000A 01 61 01 62 00", "10 a.b."],
];

describe("rdata round trips, every type (text → wire → text, wire → text → wire)", () => {
  it.each(ROUND_TRIPS)("%s %s", (typeName, input, expected) => {
    const type = typeFromString(typeName)!;
    const wire = rdataFromText(type, input, origin);
    const text = rdataToText(type, wire);
    expect(text).toBe(expected ?? input);
    expect(toBase16(rdataFromText(type, text, origin))).toBe(toBase16(wire));
    if (hasCodec(type)) {
      // The structured value round-trips through the codec too.
      expect(toBase16(encodeRdata(type, decodeRdata(type, wire)))).toBe(toBase16(wire));
    }
  });

  it("covers every type the issue lists", () => {
    const listed = "A AAAA NS CNAME DNAME SOA MX TXT SRV PTR CAA NAPTR SSHFP TLSA SMIMEA HINFO LOC URI SVCB HTTPS DS CDS DNSKEY CDNSKEY RRSIG NSEC NSEC3 NSEC3PARAM ZONEMD CSYNC OPENPGPKEY RP AFSDB RT PX NXT SIG MINFO SPF".split(" ");
    const tested = new Set(ROUND_TRIPS.map(([t]) => t));
    for (const t of listed) {
      expect(hasCodec(typeFromString(t)!), t).toBe(true);
      expect(tested.has(t), t).toBe(true);
    }
  });
});

/** Wire forms that a type's own text cannot express exactly: they must print as `\#` and survive. */
const GENERIC_ONLY: Array<[string, string]> = [
  ["LOC", "01" + "00".repeat(15)], // version 1
  ["LOC", "00A0" + "0000" + "80000000".repeat(3)], // precision mantissa 10
  ["LOC", "000200" + "00" + "80000000".repeat(3)], // size 0 × 10^2: zero written a second way
  ["NSEC", "016100" + "000200" /* window 0, length 2, trailing zero octet */.replace("000200", "00024000")],
  ["NSEC", "0161000002" + "4000"], // bitmap ending in a zero octet
  ["A", "C00002"], // three octets
  ["CAA", "0003" + "612062" + "78"], // tag "a b" has a space
  ["SVCB", "0001" + "00" + "0003000101BB" + "0001000100"], // keys out of order
  ["SVCB", "0001" + "00" + "000300030001BB"], // port of 3 octets
  ["DNSKEY", "0101"], // too short
  ["TXT", ""], // TXT needs at least one string
  ["TXT", "05616263"], // string longer than the rdata
  ["NSEC3", "01000000" + "00" + "00"], // empty next hashed owner name
];

describe("rdata that only the generic form carries", () => {
  it.each(GENERIC_ONLY)("%s %s", (typeName, hex) => {
    const type = typeFromString(typeName)!;
    const wire = Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));
    const text = rdataToText(type, wire);
    expect(text.startsWith("\\# ")).toBe(true);
    expect(toBase16(rdataFromText(type, text, origin))).toBe(toBase16(wire));
    expect(() => decodeRdata(type, wire)).toThrow(RdataError);
  });
});

/** [type, text, column of the fault]. */
const BAD_TEXT: Array<[string, string, number]> = [
  ["A", "192.0.2", 0],
  ["A", "192.0.2.1 extra", 10],
  ["AAAA", "fe80::1%eth0", 0],
  ["AAAA", "1::2::3", 0],
  ["AAAA", "1:2:3:4:5:6:7:8:9", 0],
  ["AAAA", "1:2:3:4:5:6:7", 0],
  ["AAAA", "12345::", 0],
  ["AAAA", "::1.2.3", 0],
  ["AAAA", "1.2.3.4", 0],
  ["AAAA", ":1::", 0],
  ["MX", "65536 mail", 0],
  ["MX", "10", 0],
  ["MX", "ten mail", 0],
  ["SOA", "ns1 host 1 2 3 4", 15],
  ["TXT", '"' + "x".repeat(256) + '"', 0],
  ["TXT", '"bad \\256 escape"', 5],
  ["CAA", '0 "is sue" "x"', 2],
  ["DS", "1 2 3 XYZ", 6],
  ["DNSKEY", "257 3 13 not*base64", 9],
  ["RRSIG", `A 13 3 3600 20261301000000 20251201000000 1 a. ${KEY}`, 12],
  ["NSEC", "a.example. A BOGUS", 13],
  ["NSEC3", "1 0 0 - not-base32! A", 8],
  ["LOC", "91 0 0 N 0 0 0 E 0m", 0],
  ["LOC", "52 22 23 X 4 53 32 E 0m", 9],
  ["SVCB", "1 . port=99999", 4],
  ["SVCB", "1 . port=1 port=2", 11],
  ["SVCB", "1 . mandatory=alpn", 0],
  ["SVCB", "1 . bogus=1", 4],
  ["HTTPS", "1 . ech=", 4],
  ["TYPE65280", "0A000001", 0],
  ["TYPE65280", "\\# 5 0A000001", 3],
  ["TYPE65280", "\\# 4 0A00000", 5],
  ["NXT", "a. TYPE200", 0],
  ["NS", "a..b", 2],
];

describe("bad rdata text", () => {
  it.each(BAD_TEXT)("%s %s", (typeName, input, column) => {
    const type = typeFromString(typeName)!;
    let error: unknown;
    try {
      rdataFromText(type, input, origin);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(RdataError);
    expect((error as RdataError).column ?? 0).toBe(column);
  });
});

describe("the registry", () => {
  it("knows SOA's structure", () => {
    const wire = rdataFromText(RRType.SOA, "ns1 hostmaster 7 1 2 3 4", origin);
    const soa = decodeRdata(RRType.SOA, wire) as { serial: number; mname: Name };
    expect(soa.serial).toBe(7);
    expect(soa.mname.toString()).toBe("ns1.example.com.");
  });
});
