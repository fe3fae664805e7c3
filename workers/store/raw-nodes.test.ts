/**
 * @module The ingest's two ways of cutting a chunk into pieces agree: a chunk in canonical order cut as it
 * is read (`canonicalPieces`, no sort) gives byte for byte the pieces of the sorting path (`indexStream` +
 * `writePieces`), and any chunk that is not in canonical order, or holds NSEC3 records, is handed back.
 */
import { describe, expect, it } from "vitest";
import { Name } from "../../dns/name.ts";
import { RRClass, RRType } from "../../dns/constants.ts";
import { compareBytes } from "../../dns/bytes.ts";
import { canonicalPieces, indexStream, nodeSpans, rawNodes, writePieces } from "./raw-nodes.ts";
import { BlockFormatError } from "./block-codec.ts";
import type { PieceWriter } from "./raw-nodes.ts";
import { encodeRecordStream, RecordStreamError } from "./record-stream.ts";
import type { OwnedRecord } from "./record-stream.ts";
import { syntheticZone } from "./synthetic-zone.ts";
import type { Tree } from "../../answer/store/stored-node.ts";

const APEX = Name.parseAbsolute("raw.test.");
const APEX_KEY = APEX.sortKey();
const APEX_WIRE = APEX.toWire();

interface Cut {
  tree: Tree;
  firstKey: number[];
  lastKey: number[];
  records: number;
  data: number[];
}

function collect(into: Cut[]) {
  return (tree: Tree, p: PieceWriter) =>
    into.push({ tree, firstKey: [...p.firstKey!], lastKey: [...p.lastKey!], records: p.recordCount, data: [...p.finish()] });
}

/** Pieces by the sorting path. */
function sortedCut(stream: Uint8Array, target: number, maxNodes: number): Cut[] {
  const out: Cut[] = [];
  writePieces(stream, indexStream(stream, APEX_KEY), target, maxNodes, 96 * 1024, collect(out));
  return out;
}

/** Records in canonical order of their owners, each owner's records in the order given. */
function canonical(records: OwnedRecord[]): OwnedRecord[] {
  return [...records].sort((a, b) => compareBytes(a.name.sortKey(), b.name.sortKey()));
}

describe("canonicalPieces", () => {
  it.each([
    ["4 KiB pieces", 4096, 256],
    ["small pieces and few nodes each", 300, 3],
    ["one big piece", 1 << 20, 100_000],
  ] as const)("cuts a canonical chunk exactly as the sorting path does: %s", (_label, target, maxNodes) => {
    const records = canonical(syntheticZone({ apex: APEX.toString(), serial: 3, count: 700, seed: 11 }));
    // An AXFR's closing SOA repeats the first record, and an owner's records may come in any order.
    records.push({ ...records[0]! });
    const stream = encodeRecordStream(canonical(records));
    const fast: Cut[] = [];
    expect(canonicalPieces(stream, APEX_WIRE, target, maxNodes, 96 * 1024, collect(fast))).toBe(records.length);
    expect(fast).toEqual(sortedCut(stream, target, maxNodes));
    // Both closing SOAs (the generator's and ours) repeat the first record.
    expect(fast.reduce((n, p) => n + p.records, 0)).toBe(records.length - 2);
  });

  it("sorts and deduplicates one owner's records, and joins an owner spelled in another case", () => {
    const IN = RRClass.IN;
    const a = APEX.child("www"), upper = Name.parseAbsolute("WWW.raw.test.");
    const rec = (name: Name, type: number, bytes: number[]): OwnedRecord => ({ name, type, class: IN, ttl: 60, rdata: new Uint8Array(bytes) });
    const records = [
      rec(APEX, RRType.SOA, [1, 2, 3]),
      rec(a, RRType.TXT, [1, 0x62]),
      rec(a, RRType.A, [192, 0, 2, 9]),
      // Spelled in capitals on a record that sorts after the first: both paths keep the first spelling.
      rec(upper, RRType.A, [192, 0, 2, 200]),
      rec(a, RRType.A, [192, 0, 2, 9]),
      rec(APEX.child("x"), RRType.A, [192, 0, 2, 2]),
    ];
    const stream = encodeRecordStream(records);
    const fast: Cut[] = [];
    expect(canonicalPieces(stream, APEX_WIRE, 4096, 256, 96 * 1024, collect(fast))).toBe(6);
    expect(fast).toEqual(sortedCut(stream, 4096, 256));
    expect(fast[0]!.records).toBe(5);
  });

  it("hands back a chunk out of canonical order, or with NSEC3 records, for the sorting path", () => {
    const zone = canonical(syntheticZone({ apex: APEX.toString(), serial: 3, count: 50, seed: 12 }));
    const swapped = [...zone];
    [swapped[10], swapped[40]] = [swapped[40]!, swapped[10]!];
    const pieces: Cut[] = [];
    expect(canonicalPieces(encodeRecordStream(swapped), APEX_WIRE, 4096, 256, 96 * 1024, collect(pieces))).toBeUndefined();
    const nsec3 = canonical(syntheticZone({ apex: APEX.toString(), serial: 3, count: 50, nsec3: 5, seed: 13 }));
    expect(canonicalPieces(encodeRecordStream(nsec3), APEX_WIRE, 4096, 256, 96 * 1024, () => {})).toBeUndefined();
  });

  it("refuses what the sorting path refuses: an owner outside the zone, an owner over the node limit", () => {
    const IN = RRClass.IN;
    const outside = encodeRecordStream([
      { name: APEX, type: RRType.A, class: IN, ttl: 1, rdata: new Uint8Array(4) },
      { name: Name.parseAbsolute("zzz.other.test."), type: RRType.A, class: IN, ttl: 1, rdata: new Uint8Array(4) },
    ]);
    expect(() => canonicalPieces(outside, APEX_WIRE, 4096, 256, 96 * 1024, () => {})).toThrow(/outside the zone/);
    const big = encodeRecordStream(Array.from({ length: 40 }, (_, i) => ({ name: APEX.child("big"), type: RRType.TXT, class: IN, ttl: 1, rdata: new Uint8Array(3000).fill(i) })));
    let err: unknown;
    try {
      canonicalPieces(big, APEX_WIRE, 4096, 256, 96 * 1024, () => {});
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RecordStreamError);
    expect((err as RecordStreamError).kind).toBe("too-large");
  });

  it("nodeSpans frames a block as rawNodes does, without keys, and refuses bytes that are not a block", () => {
    const stream = encodeRecordStream(canonical(syntheticZone({ apex: APEX.toString(), serial: 3, count: 200, seed: 14 })));
    const blocks: Uint8Array[] = [];
    canonicalPieces(stream, APEX_WIRE, 4096, 256, 96 * 1024, (_tree, p) => blocks.push(p.finish()));
    for (const block of blocks) {
      expect(nodeSpans(block)).toEqual(rawNodes(block).map(({ buf, start, end, records }) => ({ buf, start, end, records })));
      expect(() => nodeSpans(block.subarray(0, block.length - 1))).toThrow(BlockFormatError);
      expect(() => nodeSpans(Uint8Array.of(...block, 0))).toThrow(BlockFormatError);
    }
    expect(() => nodeSpans(Uint8Array.of(2, 0, 0))).toThrow(BlockFormatError);
  });
});
