/**
 * @module The zone model as tables over zone text: canonical order and record counts, and IXFR
 * changesets applied (or refused, leaving the zone untouched).
 */
import { describe, expect, it } from "vitest";
import { RRType } from "../../constants.ts";
import { Name } from "../../name.ts";
import { parseZoneBatches, parseZoneText } from "../../zonefile/parser.ts";
import { recordToText } from "../../zonefile/printer.ts";
import { applyChangeset, diffZones, type Changeset } from "./changeset.ts";
import { sortRecords } from "./canonical-order.ts";
import { Zone } from "./zone.ts";
import { ZoneError } from "./zone-error.ts";

const origin = Name.parse("example.");
const records = (text: string) => parseZoneText(`$TTL 300\n${text}`, { origin });
const zoneOf = (text: string) => Zone.from(origin, records(text));
const print = (zone: Zone) => [...zone.records()].map(recordToText);
const SOA = (serial: number) => `@ SOA ns host ${serial} 1 1 1 1\n`;

describe("canonical order and record count", () => {
  const CASES: Array<[string, string, string[]]> = [
    [
      "RFC 4034 §6.1's example names, in shuffled order",
      "z.a.example. A 192.0.2.1\n\\200.z.example. A 192.0.2.1\n*.z.example. A 192.0.2.1\nZABC.a.EXAMPLE. A 192.0.2.1\n" +
        "yljkjljk.a.example. A 192.0.2.1\nZ.a.example. TXT x\na.example. A 192.0.2.1\n\\001.z.example. A 192.0.2.1\nz.example. A 192.0.2.1\nexample. A 192.0.2.1\n",
      [
        "example. 300 IN A 192.0.2.1",
        "a.example. 300 IN A 192.0.2.1",
        "yljkjljk.a.example. 300 IN A 192.0.2.1",
        "z.a.example. 300 IN A 192.0.2.1",
        'Z.a.example. 300 IN TXT "x"', // each RRset keeps its owner's case as given
        "ZABC.a.EXAMPLE. 300 IN A 192.0.2.1",
        "z.example. 300 IN A 192.0.2.1",
        "\\001.z.example. 300 IN A 192.0.2.1",
        "*.z.example. 300 IN A 192.0.2.1",
        "\\200.z.example. 300 IN A 192.0.2.1",
      ],
    ],
    [
      "types by number, rdata by canonical octets, duplicates once",
      "a MX 20 b.example.\na A 192.0.2.10\na A 192.0.2.9\na MX 10 Z.example.\na MX 10 z.example.\na A 192.0.2.9\n",
      ["a.example. 300 IN A 192.0.2.9", "a.example. 300 IN A 192.0.2.10", "a.example. 300 IN MX 10 Z.example.", "a.example. 300 IN MX 20 b.example."],
    ],
    [
      "RRSIGs grouped by covered type",
      "a RRSIG TXT 8 2 300 20300101000000 20200101000000 1 example. AQID\na RRSIG A 8 2 300 20300101000000 20200101000000 1 example. AQID\na A 192.0.2.1\na TXT x\n",
      [
        "a.example. 300 IN A 192.0.2.1",
        'a.example. 300 IN TXT "x"',
        "a.example. 300 IN RRSIG A 8 2 300 20300101000000 20200101000000 1 example. AQID",
        "a.example. 300 IN RRSIG TXT 8 2 300 20300101000000 20200101000000 1 example. AQID",
      ],
    ],
  ];

  it.each(CASES)("%s", async (_what, text, expected) => {
    const zone = await zoneOf(text);
    expect(print(zone)).toEqual(expected);
    expect(zone.recordCount).toBe(expected.length);
    // The free-standing sort gives the same order as the zone's walk.
    const sorted = sortRecords(records(text)).map(recordToText);
    // The zone stores canonically equal records once; the plain sort keeps them, next to each other.
    expect(sorted.filter((l, i) => expected.includes(l) && sorted.indexOf(l) === i)).toEqual(expected);
  });

  it("keeps the first TTL of an RRset and counts disagreements (RFC 2181 §5.2)", async () => {
    const zone = await zoneOf("a 60 A 192.0.2.1\na 120 A 192.0.2.2\n");
    const set = zone.rrset(Name.parse("a.example."), RRType.A)!;
    expect([set.ttl, set.ttlConflicts, set.size]).toEqual([60, 1, 2]);
  });

  it("refuses records outside the zone or of another class", async () => {
    const zone = new Zone(origin);
    const [r] = parseZoneText("$TTL 1\nx.other. A 192.0.2.1\n", { origin });
    expect(() => zone.add(r!)).toThrow(expect.objectContaining({ code: "out-of-zone" }));
    expect(() => zone.add({ ...r!, name: origin, class: 3 })).toThrow(expect.objectContaining({ code: "wrong-class" }));
    expect(() => zone.serial()).toThrow(expect.objectContaining({ code: "no-soa" }));
  });
});

const BASE = `${SOA(10)}@ NS ns\nns A 192.0.2.53\nwww A 192.0.2.1\nwww A 192.0.2.2\n`;

function changeset(from: number, to: number, deletions: string, additions: string): Changeset {
  return { fromSerial: from, toSerial: to, deletions: records(deletions), additions: records(additions) };
}

describe("IXFR changesets", () => {
  const GOOD: Array<[string, string, Changeset, string[]]> = [
    [
      "replace an address and the SOA",
      BASE,
      changeset(10, 11, `${SOA(10)}www A 192.0.2.2\n`, `${SOA(11)}www A 192.0.2.3\n`),
      [
        "example. 300 IN NS ns.example.",
        "example. 300 IN SOA ns.example. host.example. 11 1 1 1 1",
        "ns.example. 300 IN A 192.0.2.53",
        "www.example. 300 IN A 192.0.2.1",
        "www.example. 300 IN A 192.0.2.3",
      ],
    ],
    [
      "delete a whole name (matched without case), add a new one",
      BASE,
      changeset(10, 11, `${SOA(10)}WWW A 192.0.2.1\nwww A 192.0.2.2\n`, `${SOA(11)}mail A 192.0.2.25\n`),
      [
        "example. 300 IN NS ns.example.",
        "example. 300 IN SOA ns.example. host.example. 11 1 1 1 1",
        "mail.example. 300 IN A 192.0.2.25",
        "ns.example. 300 IN A 192.0.2.53",
      ],
    ],
    [
      "a TTL change is a deletion and an addition of the same record",
      BASE,
      changeset(10, 12, `${SOA(10)}ns A 192.0.2.53\n`, `${SOA(12)}ns 60 A 192.0.2.53\n`),
      [
        "example. 300 IN NS ns.example.",
        "example. 300 IN SOA ns.example. host.example. 12 1 1 1 1",
        "ns.example. 60 IN A 192.0.2.53",
        "www.example. 300 IN A 192.0.2.1",
        "www.example. 300 IN A 192.0.2.2",
      ],
    ],
    [
      "serials wrap (RFC 1982): 4294967290 → 5 is forwards",
      `${SOA(4294967290)}@ NS ns\n`,
      changeset(4294967290, 5, SOA(4294967290), SOA(5)),
      ["example. 300 IN NS ns.example.", "example. 300 IN SOA ns.example. host.example. 5 1 1 1 1"],
    ],
  ];

  it.each(GOOD)("%s", async (_what, base, cs, expected) => {
    const zone = await zoneOf(base);
    applyChangeset(zone, cs);
    expect(zone.serial()).toBe(cs.toSerial);
    expect(print(zone)).toEqual(expected);
    expect(zone.recordCount).toBe(expected.length);
  });

  const BAD: Array<[string, Changeset, string]> = [
    ["from-serial is not the zone's", changeset(9, 11, SOA(9), SOA(11)), "serial-mismatch"],
    ["to-serial is not newer", changeset(10, 10, SOA(10), SOA(10)), "not-newer"],
    ["to-serial is 2^31 ahead (undefined order)", changeset(10, 10 + 2 ** 31, SOA(10), SOA(10 + 2 ** 31)), "not-newer"],
    ["deletes a record that is not there", changeset(10, 11, `${SOA(10)}www A 192.0.2.99\n`, SOA(11)), "missing-record"],
    ["deletes the same record twice", changeset(10, 11, `${SOA(10)}www A 192.0.2.1\nwww A 192.0.2.1\n`, SOA(11)), "duplicate-record"],
    ["adds a record already there", changeset(10, 11, SOA(10), `${SOA(11)}www A 192.0.2.1\n`), "duplicate-record"],
    ["adds outside the zone", changeset(10, 11, SOA(10), `${SOA(11)}x.other. A 192.0.2.1\n`), "out-of-zone"],
  ];

  it.each(BAD)("refuses: %s, and leaves the zone untouched", async (_what, cs, code) => {
    const zone = await zoneOf(BASE);
    const before = print(zone);
    let error: unknown;
    try {
      applyChangeset(zone, cs);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ZoneError);
    expect((error as ZoneError).code).toBe(code);
    expect(print(zone)).toEqual(before);
  });

  it("a series of changesets on a clone: a failure in the middle leaves the original untouched", async () => {
    const zone = await zoneOf(BASE);
    const before = print(zone);
    const copy = zone.clone();
    applyChangeset(copy, changeset(10, 11, SOA(10), `${SOA(11)}new A 192.0.2.7\n`));
    expect(() => applyChangeset(copy, changeset(11, 12, `${SOA(11)}missing A 192.0.2.8\n`, SOA(12)))).toThrow(ZoneError);
    expect(copy.serial()).toBe(11);
    expect(print(zone)).toEqual(before);
  });

  it("loads from the parser's batches as from its records", async () => {
    const text = `$TTL 300\n${BASE}`;
    const fromBatches = await Zone.from(origin, parseZoneBatches([text], { origin }));
    expect(print(fromBatches)).toEqual(print(await zoneOf(BASE)));
  });

  it("diffZones gives the changeset that applyChangeset replays", async () => {
    const from = await zoneOf(BASE);
    const to = await zoneOf(`${SOA(11)}@ NS ns\nns 60 A 192.0.2.53\nwww A 192.0.2.2\nwww AAAA 2001:db8::1\nnew TXT hello\n`);
    const cs = diffZones(from, to);
    expect(cs.deletions.map(recordToText)).toEqual([
      "example. 300 IN SOA ns.example. host.example. 10 1 1 1 1",
      "ns.example. 300 IN A 192.0.2.53",
      "www.example. 300 IN A 192.0.2.1",
    ]);
    expect(cs.additions.map(recordToText)).toEqual([
      "example. 300 IN SOA ns.example. host.example. 11 1 1 1 1",
      'new.example. 300 IN TXT "hello"',
      "ns.example. 60 IN A 192.0.2.53",
      "www.example. 300 IN AAAA 2001:db8::1",
    ]);
    applyChangeset(from, cs);
    expect(print(from)).toEqual(print(to));
  });
});
