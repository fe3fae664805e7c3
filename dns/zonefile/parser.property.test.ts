/**
 * @module Hostile zone text: random text built from the characters that mean something in a master file
 * either parses or fails with `ZoneFileError` (never another error, never a hang); whatever parses prints
 * to text that parses back to the same records; and chunking never changes the result. fast-check with
 * fixed seeds.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Name } from "../name.ts";
import { parseZone, parseZoneText, type ZoneRecord } from "./parser.ts";
import { printZone, recordToText } from "./printer.ts";
import { ZoneFileError } from "./zone-file-error.ts";

const origin = Name.parse("fuzz.example.");

/** Pieces of zone text, glued at random. */
const piece = fc.constantFrom(
  " ", "\t", "\n", "\r\n", "(", ")", ";", '"', "\\", "\\0", "\\12", "\\255", "\\.", "@", "$TTL", "$ORIGIN", "$INCLUDE",
  "IN", "CH", "300", "1h", "A", "AAAA", "MX", "TXT", "SOA", "NS", "CAA", "SVCB", "NSEC", "LOC", "TYPE65280", "\\#",
  "192.0.2.1", "::1", "10", "a", "b.c", "x.", "..", "é", "alpn=h2", "N", "E", "0A", "4",
);
/** Mostly well-formed records (so that plenty parse), with noise pieces mixed in. */
const RDATA: Record<string, string[]> = {
  A: ["192.0.2.1"], AAAA: ["::1", "2001:db8::1.2.3.4"], MX: ["10", "mx"], TXT: ['"a b"', "c", '"\\255\\""'],
  NS: ["@"], CAA: ["0", "issue", '"ca;x"'], SVCB: ["1", ".", 'alpn="h2,h3"', "port=443"],
  NSEC: ["a.b.", "A", "TYPE1234"], LOC: ["1", "2", "N", "3", "E", "4m"], TYPE65280: ["\\#", "2", "0A0B"],
  SOA: ["ns", "host", "1", "2", "3", "4", "5"],
};
const record = fc
  .tuple(
    fc.constantFrom("", "a", "@", "b.c", "x.", "\\.d", "*.w"),
    fc.constantFrom("", "300", "1h"),
    fc.constantFrom("", "IN"),
    fc.constantFrom(...Object.keys(RDATA)),
    fc.constantFrom(" ", "\t", "  "),
    fc.boolean(),
    fc.option(fc.constantFrom(" ; comment", " ;", ""), { freq: 2 }),
  )
  .map(([owner, ttl, cls, type, sep, parens, comment]) => {
    const rdata = RDATA[type]!.join(sep);
    const head = [owner === "" ? " " : owner, ttl, cls, type].filter((w) => w !== "").join(sep);
    return `${head}${sep}${parens ? `( ${rdata} ;x\n )` : rdata}${comment ?? ""}`;
  });
/** Records, with a piece of noise now and then (one in ten lines). */
const zoneText = fc
  .array(fc.oneof({ arbitrary: record, weight: 9 }, { arbitrary: piece, weight: 1 }), { maxLength: 10 })
  .map((lines) => lines.join("\n"));

function parseOrTypedError(text: string): ZoneRecord[] | undefined {
  try {
    return parseZoneText(text, { origin, defaultTtl: 60 });
  } catch (err) {
    if (err instanceof ZoneFileError) return undefined;
    throw err;
  }
}

describe("zone parser properties", () => {
  it("random text parses or fails with ZoneFileError, and what parses prints back the same", () => {
    fc.assert(
      fc.property(zoneText, (text) => {
        const records = parseOrTypedError(text);
        if (records === undefined) return;
        const printed = [...printZone(records)].join("");
        const again = parseZoneText(printed, { origin: Name.root });
        expect(again.map(recordToText)).toEqual(records.map(recordToText));
      }),
      { seed: 1035, numRuns: 2_000 },
    );
  });

  it("chunk boundaries never change the result", async () => {
    await fc.assert(
      fc.asyncProperty(zoneText, fc.array(fc.nat(), { maxLength: 6 }), async (text, cuts) => {
        const at = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
        const chunks: string[] = [];
        let from = 0;
        for (const c of at) {
          chunks.push(text.slice(from, c));
          from = c;
        }
        chunks.push(text.slice(from));
        const whole = parseOrTypedError(text);
        let streamed: ZoneRecord[] | undefined = [];
        try {
          for await (const r of parseZone(chunks, { origin, defaultTtl: 60 })) streamed.push(r);
        } catch (err) {
          if (!(err instanceof ZoneFileError)) throw err;
          streamed = undefined;
        }
        expect(streamed?.map(recordToText)).toEqual(whole?.map(recordToText));
      }),
      { seed: 2308, numRuns: 1_000 },
    );
  });
});
