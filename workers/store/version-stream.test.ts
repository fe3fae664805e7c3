/**
 * `blocksAsStream`, the Worker's side of AXFR out: blocks rewritten as a record stream by copying octets
 * give exactly the stream that decoding the blocks into nodes and encoding them would (`encodeNodesAsStream`),
 * with the apex's SOA moved to the front, and bytes that are not blocks are refused.
 */
import { describe, expect, it } from "vitest";
import { RRClass, RRType } from "../../dns/constants.ts";
import { Name } from "../../dns/name.ts";
import { rdataFromText } from "../../dns/rdata/index.ts";
import { encodeNodesAsStream, parseRecordStream } from "../../contract/record-stream.ts";
import { BlockFormatError, decodeBlock, encodeBlock } from "./block-codec.ts";
import type { StoredNode } from "../../answer/store/stored-node.ts";
import { blocksAsStream } from "./version-stream.ts";

const apex = Name.parse("Stream.Test.");
const record = (type: number, text: string, ttl = 300) => ({ type, class: RRClass.IN, ttl, rdata: rdataFromText(type, text, apex) });
const node = (owner: string, records: StoredNode["records"]): StoredNode => {
  const name = Name.parse(owner, apex);
  return { name, key: name.sortKey(), records };
};

/** The apex with its SOA between other records (as a block may hold it), then names of mixed case and size. */
const APEX = node("@", [record(RRType.NS, "ns1"), record(RRType.SOA, "ns1 hostmaster 7 3600 600 86400 300"), record(RRType.MX, "10 mail")]);
const OTHERS = Array.from({ length: 300 }, (_, i) =>
  node(i % 7 === 0 ? `Host-${i}.Sub` : `host-${i}`, [record(RRType.A, `192.0.2.${i % 256}`), ...(i % 3 === 0 ? [record(RRType.TXT, `"${"t".repeat(i % 90)}"`)] : [])]),
);

describe("blocksAsStream", () => {
  it("copies blocks into the stream that decoding and encoding them gives, record for record", () => {
    const blocks = [encodeBlock(OTHERS.slice(0, 100)), encodeBlock(OTHERS.slice(100, 101)), encodeBlock(OTHERS.slice(101))];
    const copied = blocksAsStream(blocks);
    expect(copied).toEqual(encodeNodesAsStream(blocks.flatMap(decodeBlock)));
    expect(parseRecordStream(copied).length).toBe(OTHERS.reduce((n, x) => n + x.records.length, 0));
  });

  it("puts the apex's SOA first when asked, and keeps every other record in its order", () => {
    const blocks = [encodeBlock([APEX, ...OTHERS.slice(0, 5)])];
    const records = parseRecordStream(blocksAsStream(blocks, true));
    expect(records.map((r) => r.type).slice(0, 3)).toEqual([RRType.SOA, RRType.NS, RRType.MX]);
    expect(records[0]!.name.toString()).toBe("Stream.Test.");
    const plain = parseRecordStream(blocksAsStream(blocks));
    expect(plain.map((r) => r.type).slice(0, 3)).toEqual([RRType.NS, RRType.SOA, RRType.MX]);
    expect(records.slice(3)).toEqual(plain.slice(3));
  });

  it("gives nothing for no blocks and for empty ones", () => {
    expect(blocksAsStream([])).toEqual(new Uint8Array(0));
    expect(blocksAsStream([encodeBlock([])])).toEqual(new Uint8Array(0));
  });

  it("refuses octets that are not blocks", () => {
    const good = encodeBlock(OTHERS.slice(0, 3));
    expect(() => blocksAsStream([Uint8Array.of(2, 0, 0)])).toThrow(BlockFormatError);
    expect(() => blocksAsStream([good.subarray(0, good.length - 1)])).toThrow(BlockFormatError);
    expect(() => blocksAsStream([Uint8Array.from([...good, 0])])).toThrow(BlockFormatError);
    const badLabel = good.slice();
    badLabel[3] = 0x80;
    expect(() => blocksAsStream([badLabel])).toThrow(BlockFormatError);
  });
});
