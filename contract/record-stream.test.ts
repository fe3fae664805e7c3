/**
 * @module The record stream both ways: what the encoder writes, the object reader and the offset reader
 * read back the same (a table of edge cases and a property over random records), and every malformed
 * stream is refused with a `RecordStreamError` that says what and where.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RRType } from "../dns/constants.ts";
import { Name } from "../dns/name.ts";
import {
  encodeNodesAsStream,
  encodeRecordStream,
  FIXED_FIELDS,
  parseRecordStream,
  RecordFrames,
  RecordStreamError,
  streamRecordSize,
  type StreamRecord,
} from "./record-stream.ts";

const apex = Name.parse("stream.test.");
const rr = (owner: string, type: number, rdata: number[], ttl = 300): StreamRecord => ({
  name: Name.parse(owner, apex),
  type,
  class: 1,
  ttl,
  rdata: Uint8Array.from(rdata),
});

/** Records as plain values: owners as text, so two decodings compare with toEqual. */
const plain = (records: readonly StreamRecord[]) =>
  records.map((r) => ({ name: r.name.toString(), type: r.type, class: r.class, ttl: r.ttl, rdata: [...r.rdata] }));

describe("record stream round trip", () => {
  const cases: Array<[label: string, records: StreamRecord[]]> = [
    ["no records", []],
    ["one A record", [rr("www", RRType.A, [192, 0, 2, 1])]],
    ["the apex, the root-most owner", [rr("@", RRType.NS, [2, 110, 115, 0])]],
    ["empty rdata", [rr("empty", RRType.NULL, [])]],
    ["TTL 2^32-1 and class ANY", [{ ...rr("max", RRType.A, [1, 2, 3, 4], 0xffffffff), class: 255 }]],
    ["mixed case kept as sent", [rr("MiXeD", RRType.A, [10, 0, 0, 1])]],
    ["labels with octets 0 and 1", [{ ...rr("x", RRType.A, [1, 1, 1, 1]), name: Name.fromLabels([Uint8Array.of(0, 1, 0x2e), ...apex.labels]) }]],
    ["an owner of 255 octets", [{ ...rr("x", RRType.TXT, [1, 0x61]), name: Name.fromLabels([...Array(3).fill(new Uint8Array(63).fill(0x61)), new Uint8Array(61).fill(0x62)]) }]],
    ["several owners, several types", [rr("a", RRType.A, [192, 0, 2, 1]), rr("a", RRType.AAAA, Array(16).fill(0)), rr("b.c", RRType.TXT, [3, 0x61, 0x62, 0x63])]],
  ];

  it.each(cases)("%s: encode → parse gives the records back", (_label, records) => {
    const bytes = encodeRecordStream(records);
    expect(bytes.length).toBe(records.reduce((n, r) => n + streamRecordSize(r.name, r), 0));
    expect(plain(parseRecordStream(bytes))).toEqual(plain(records));
  });

  it.each(cases)("%s: the offset reader frames the same records", (_label, records) => {
    const bytes = encodeRecordStream(records);
    const frames = new RecordFrames(bytes);
    const seen: Array<{ owner: number[]; type: number; class: number; ttl: number; rdata: number[] }> = [];
    while (frames.next()) {
      seen.push({
        owner: [...bytes.subarray(frames.owner, frames.body)],
        type: frames.type,
        class: frames.class,
        ttl: frames.ttl,
        rdata: [...bytes.subarray(frames.rdataAt, frames.end)],
      });
      expect(frames.rdataAt).toBe(frames.body + FIXED_FIELDS);
    }
    expect(seen).toEqual(records.map((r) => ({ owner: [...r.name.toWire()], type: r.type, class: r.class, ttl: r.ttl, rdata: [...r.rdata] })));
  });

  it("writes nodes as the same stream as their records one by one", () => {
    const records = cases.at(-1)![1];
    const nodes = [
      { name: records[0]!.name, records: [records[0]!, records[1]!] },
      { name: records[2]!.name, records: [records[2]!] },
    ];
    expect([...encodeNodesAsStream(nodes)]).toEqual([...encodeRecordStream(records)]);
  });

  it("gives back any records it was given (property)", () => {
    const label = fc.uint8Array({ minLength: 1, maxLength: 20 });
    const record = fc.record({
      labels: fc.array(label, { maxLength: 6 }),
      type: fc.integer({ min: 0, max: 0xffff }),
      class: fc.integer({ min: 0, max: 0xffff }),
      ttl: fc.integer({ min: 0, max: 0xffffffff }),
      rdata: fc.uint8Array({ maxLength: 300 }),
    });
    fc.assert(
      fc.property(fc.array(record, { maxLength: 20 }), (generated) => {
        const records = generated.map((g): StreamRecord => ({ name: Name.fromLabels(g.labels), type: g.type, class: g.class, ttl: g.ttl, rdata: g.rdata }));
        expect(plain(parseRecordStream(encodeRecordStream(records)))).toEqual(plain(records));
      }),
      { numRuns: 200 },
    );
  });
});

describe("record stream refusals", () => {
  const good = [...encodeRecordStream([rr("www", RRType.A, [192, 0, 2, 1])])];
  const cases: Array<[label: string, bytes: number[], message: RegExp, offset: number]> = [
    ["an owner cut short", [3, 0x61, 0x62], /owner name runs past the end/, 0],
    ["a compressed owner", [0xc0, 0x0c, ...good.slice(good.indexOf(0) + 1)], /compressed owner name/, 0],
    ["a retired label type", [0x41, 0x61, 0], /bad label type in owner name/, 0],
    ["an owner over 255 octets", [...Array(5).fill([63, ...new Array(63).fill(0x61)]).flat(), 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0], /owner name longer than 255 octets/, 0],
    ["fixed fields cut short", good.slice(0, good.length - 8), /record cut short/, 0],
    ["rdata running past the end", good.slice(0, good.length - 1), /rdata runs past the end/, 0],
    ["a second record cut short", [...good, ...good.slice(0, good.length - 6)], /record cut short/, good.length],
  ];

  const readers: Array<[name: string, read: (stream: Uint8Array) => void]> = [
    ["parseRecordStream", (stream) => parseRecordStream(stream)],
    [
      "RecordFrames",
      (stream) => {
        const frames = new RecordFrames(stream);
        while (frames.next());
      },
    ],
  ];

  it.each(cases.flatMap(([label, bytes, message, offset]) => readers.map(([reader, read]) => ({ label, reader, read, bytes, message, offset }))))(
    "$reader refuses $label, saying what and where",
    ({ read, bytes, message, offset }) => {
      let error: unknown;
      try {
        read(Uint8Array.from(bytes));
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(RecordStreamError);
      expect((error as RecordStreamError).message).toMatch(message);
      expect((error as RecordStreamError).message).toContain(`(at octet ${offset})`);
      expect((error as RecordStreamError).offset).toBe(offset);
      expect((error as RecordStreamError).kind).toBe("malformed");
    },
  );

  it("refuses an owner outside the apex, naming both", () => {
    const stream = encodeRecordStream([rr("www", RRType.A, [192, 0, 2, 1]), { ...rr("x", RRType.A, [1, 2, 3, 4]), name: Name.parse("elsewhere.test.") }]);
    expect(() => parseRecordStream(stream, apex)).toThrow(`owner elsewhere.test. is outside stream.test. (at octet ${good.length})`);
  });

  it("refuses more records than asked for", () => {
    const stream = encodeRecordStream([rr("a", RRType.A, [1, 1, 1, 1]), rr("b", RRType.A, [2, 2, 2, 2])]);
    expect(parseRecordStream(stream, apex, 2)).toHaveLength(2);
    expect(() => parseRecordStream(stream, apex, 1)).toThrow(/more than 1 records/);
  });
});
