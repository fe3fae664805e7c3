/**
 * @module Properties that must hold for ANY rdata, not just the table's: whatever the octets, printing
 * never fails and parsing the printed text gives back the very same octets (the known format when it is
 * lossless, `\#` otherwise). Inputs are random octets and random mutations (bit flips, truncations,
 * insertions) of valid rdata of every type. And: random presentation text either parses or fails with
 * `RdataError`, never anything else. fast-check with a fixed seed, so every run is the same.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { typeFromString } from "../constants.ts";
import { Name } from "../name.ts";
import { toBase16 } from "./base16.ts";
import { hasCodec, rdataFromText, rdataToText, RdataError } from "./index.ts";

const origin = Name.parse("example.");
const KEY = "mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==";

/** One valid sample per type, mutated below. */
const SAMPLES: Array<[string, string]> = [
  ["A", "192.0.2.1"], ["AAAA", "2001:db8::1"], ["NS", "ns.example."], ["CNAME", "a.example."],
  ["DNAME", "b.example."], ["PTR", "c.example."], ["SOA", "ns. host. 1 2 3 4 5"], ["MX", "10 mx."],
  ["AFSDB", "1 a."], ["RT", "1 a."], ["KX", "1 a."], ["RP", "a. b."], ["MINFO", "a. b."], ["PX", "1 a. b."],
  ["TXT", '"a" "b\\255"'], ["SPF", '"v=spf1"'], ["HINFO", '"a" "b"'], ["SRV", "1 2 3 t."],
  ["NAPTR", '1 2 "S" "SIP+D2U" "!a!b!" r.'], ["URI", '1 2 "http://x/"'], ["CAA", '0 issue "ca"'],
  ["SSHFP", "1 1 DD465C09CFA51FB45020CC83316FFF21B9EC74AC"], ["TLSA", "3 1 1 0C72AC70"], ["SMIMEA", "3 0 1 0C72"],
  ["OPENPGPKEY", "AQIDBA=="], ["LOC", "52 22 23.000 N 4 53 32.000 E -2.00m 1m 10000m 10m"],
  ["SVCB", '1 t. mandatory=alpn alpn="h2,h3" port=443 ipv4hint=192.0.2.1 ech=AQID ipv6hint=::1 key65000="x"'],
  ["HTTPS", "1 . no-default-alpn alpn=h2"], ["DS", "1 13 2 00112233"], ["CDS", "0 0 0 00"],
  ["DNSKEY", `257 3 13 ${KEY}`], ["CDNSKEY", "0 3 0 AA=="],
  ["RRSIG", `A 13 2 300 20300101000000 20200101000000 1 example. ${KEY}`],
  ["SIG", "A 1 2 3 4 5 6 example. AQID"], ["NSEC", "n.example. A NS SOA RRSIG NSEC TYPE1234"],
  ["NXT", "n.example. A NS"], ["NSEC3", "1 1 5 AABB 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR A RRSIG"],
  ["NSEC3PARAM", "1 0 5 AABB"], ["ZONEMD", "1 1 1 00112233"], ["CSYNC", "1 3 A NS"],
];

const valid = SAMPLES.map(([t, text]) => {
  const type = typeFromString(t)!;
  return { type, rdata: rdataFromText(type, text, origin) };
});

/** A mutation of valid rdata: flip a bit, cut the end, insert or overwrite octets. */
const mutated = fc
  .tuple(fc.constantFrom(...valid), fc.nat(), fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom("flip", "cut", "insert", "set"))
  .map(([{ type, rdata }, p, q, byte, kind]) => {
    const b = [...rdata];
    const at = b.length === 0 ? 0 : p % b.length;
    if (kind === "flip" && b.length > 0) b[at] = b[at]! ^ (1 << (q % 8));
    else if (kind === "cut") b.length = at;
    else if (kind === "insert") b.splice(at, 0, byte);
    else if (b.length > 0) b[at] = byte;
    return { type, rdata: Uint8Array.from(b) };
  });

const randomBytes = fc
  .tuple(fc.constantFrom(...valid.map((v) => v.type), 65280), fc.uint8Array({ maxLength: 64 }))
  .map(([type, rdata]) => ({ type, rdata }));

function roundTrips({ type, rdata }: { type: number; rdata: Uint8Array }): void {
  const text = rdataToText(type, rdata);
  expect(toBase16(rdataFromText(type, text, origin)), `${type} ${text}`).toBe(toBase16(rdata));
}

describe("rdata properties", () => {
  it("every type's sample is known", () => {
    for (const { type } of valid) expect(hasCodec(type)).toBe(true);
  });

  it("mutated rdata of every type: wire → text → wire is byte-exact", () => {
    fc.assert(fc.property(mutated, roundTrips), { seed: 3597, numRuns: 5_000 });
  });

  it("random rdata: wire → text → wire is byte-exact", () => {
    fc.assert(fc.property(randomBytes, roundTrips), { seed: 1035, numRuns: 3_000 });
  });

  it("random text parses or fails with RdataError only", () => {
    const word = fc.stringMatching(/^[-A-Za-z0-9.\\"=,:+/()@*; ]{0,12}$/);
    const input = fc.tuple(fc.constantFrom(...valid.map((v) => v.type)), fc.array(word, { maxLength: 10 }));
    fc.assert(
      fc.property(input, ([type, words]) => {
        try {
          const rdata = rdataFromText(type, words.join(" "), origin);
          roundTrips({ type, rdata });
        } catch (err) {
          if (!(err instanceof RdataError)) throw err;
        }
      }),
      { seed: 4034, numRuns: 5_000 },
    );
  });
});
