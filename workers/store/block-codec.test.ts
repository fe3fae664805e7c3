/**
 * The answer path's lazy block reader (`BlockReader`) against the eager one (`decodeBlock`): the same nodes,
 * keys, owners and records, the same place for a key found in place as among the built keys, and a damaged
 * block refused at once by both.
 */
import { describe, expect, it } from "vitest";
import { Name } from "../../dns/name.ts";
import { RRType } from "../../dns/constants.ts";
import { BlockFormatError, BlockReader, decodeBlock, encodeBlock } from "./block-codec.ts";
import { makeNode, type StoredNode } from "../../answer/store/stored-node.ts";

const node = (name: string, records: Array<[number, number, Uint8Array]>): StoredNode =>
  makeNode(Name.parse(name), records.map(([type, ttl, rdata]) => ({ type, class: 1, ttl, rdata })));

const NODES = [
  node("Example.", [[RRType.NS, 3600, Name.parse("ns1.example.").toWire()], [RRType.SOA, 0xfffffffe, new Uint8Array(22).fill(7)]]),
  node("a.example.", [[RRType.A, 300, Uint8Array.of(192, 0, 2, 1)], [RRType.A, 300, Uint8Array.of(192, 0, 2, 2)]]),
  node("\\000.a.example.", [[RRType.TXT, 60, Uint8Array.of(0)]]),
  node("*.W.example.", []),
  node("z.example.", [[RRType.AAAA, 86400, new Uint8Array(16).fill(1)]]),
];

const compare = (a: Uint8Array, b: Uint8Array) => {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
};

const plain = (n: StoredNode) => ({ name: n.name.toString(), key: [...n.key], records: n.records.map((r) => ({ ...r, rdata: [...r.rdata] })) });

describe("BlockReader", () => {
  it("reads the nodes decodeBlock reads, owners with their case, each built once", () => {
    const block = encodeBlock(NODES);
    const reader = new BlockReader(block);
    const lazy = Array.from({ length: reader.count }, (_, i) => reader.node(i)!);
    expect(lazy.map(plain)).toEqual(decodeBlock(block).map(plain));
    expect(lazy[0]!.name.toString()).toBe("Example.");
    expect(lazy[0]!.records[1]!.ttl).toBe(0xfffffffe);
    expect(reader.node(4)).toBe(lazy[4]); // the last few built are kept
    expect(lazy[1]!.records).toBe(lazy[1]!.records);
    expect([reader.node(-1), reader.node(reader.count)]).toEqual([null, null]);
  });

  it("finds a key where a binary search over the built keys does, for names in and between the nodes", () => {
    const block = encodeBlock(NODES);
    const reader = new BlockReader(block);
    const keys = decodeBlock(block).map((n) => n.key);
    const probes = ["example.", "EXAMPLE.", "a.example.", "A.Example.", "\\000.a.example.", "\\001.a.example.", "\\000\\000.a.example.", "b.a.example.", "*.w.example.", "w.example.", "z.example.", "zz.example.", "0.example.", "com.", "a.b.example.", "."];
    for (const text of probes) {
      const key = Name.parse(text).sortKey();
      let index = keys.findIndex((k) => compare(k, key) >= 0);
      if (index < 0) index = keys.length;
      const found = index < keys.length && compare(keys[index]!, key) === 0;
      expect(reader.search(key), text).toEqual({ index, found });
    }
  });

  it("refuses a damaged block as decodeBlock does", () => {
    const block = encodeBlock(NODES);
    for (const bad of [block.subarray(0, block.length - 1), Uint8Array.of(...block, 0), Uint8Array.of(2, ...block.subarray(1)), block.subarray(0, 20)]) {
      expect(() => decodeBlock(bad)).toThrow();
      expect(() => new BlockReader(bad)).toThrow(BlockFormatError);
    }
  });
});
