/**
 * @module The compact binary form of a block of nodes (one `blocks.data` BLOB, also used for the sorted
 * runs of an ingest). Hand-written rather than JSON or CBOR: it is read on every cache miss of the answer
 * path and written a million times per large transfer, and it reuses the RR wire layout as is.
 *
 *   u8  format (1)
 *   u16 node count
 *   per node, in canonical order:
 *     owner name, uncompressed wire form, case as received
 *     u16 record count
 *     per record: u16 type, u16 class, u32 ttl, u16 rdlength, rdata
 */
import { wireSortKey } from "../../dns/sort-key.ts";
import { WireReader } from "../../dns/wire/reader.ts";
import type { StoredNode, StoredRecord } from "../../answer/store/stored-node.ts";

const FORMAT = 1;
const HEADER = 3;
/** Fixed part of a record: type, class, ttl, rdlength. */
const RECORD_FIXED = 10;

export class BlockFormatError extends Error {
  override readonly name = "BlockFormatError";
}

/** Encoded size of one node, so a writer can cut blocks before encoding them. */
export function nodeSize(node: StoredNode): number {
  let n = node.name.wireLength + 2;
  for (const r of node.records) n += RECORD_FIXED + r.rdata.length;
  return n;
}

export function blockSize(nodes: readonly StoredNode[]): number {
  let n = HEADER;
  for (const node of nodes) n += nodeSize(node);
  return n;
}

export function encodeBlock(nodes: readonly StoredNode[]): Uint8Array {
  if (nodes.length > 0xffff) throw new BlockFormatError(`a block holds at most 65535 nodes, got ${nodes.length}`);
  const out = new Uint8Array(blockSize(nodes));
  const view = new DataView(out.buffer);
  out[0] = FORMAT;
  view.setUint16(1, nodes.length);
  let pos = HEADER;
  for (const node of nodes) {
    for (const label of node.name.labels) {
      out[pos++] = label.length;
      out.set(label, pos);
      pos += label.length;
    }
    out[pos++] = 0;
    if (node.records.length > 0xffff) throw new BlockFormatError(`node ${node.name} has over 65535 records`);
    view.setUint16(pos, node.records.length);
    pos += 2;
    for (const r of node.records) {
      view.setUint16(pos, r.type);
      view.setUint16(pos + 2, r.class);
      view.setUint32(pos + 4, r.ttl);
      view.setUint16(pos + 8, r.rdata.length);
      out.set(r.rdata, pos + RECORD_FIXED);
      pos += RECORD_FIXED + r.rdata.length;
    }
  }
  return out;
}

/** @throws BlockFormatError (or the reader's WireError) for bytes that are not a block. */
export function decodeBlock(data: Uint8Array): StoredNode[] {
  if (data.length < HEADER || data[0] !== FORMAT) throw new BlockFormatError("not a block (bad format octet)");
  const reader = new WireReader(data, 1);
  const count = reader.u16();
  const nodes: StoredNode[] = new Array(count);
  for (let i = 0; i < count; i++) {
    // Names in a block are never compressed; WireReader still bounds-checks them.
    const at = reader.offset;
    const name = reader.name();
    // Keyed straight from the block's bytes when they hold the name uncompressed (always, from encodeBlock).
    const key = reader.offset - at === name.wireLength ? wireSortKey(data, at).key : name.sortKey();
    const n = reader.u16();
    const records: StoredRecord[] = new Array(n);
    for (let j = 0; j < n; j++) {
      const type = reader.u16();
      const cls = reader.u16();
      const ttl = reader.u32();
      const len = reader.u16();
      records[j] = { type, class: cls, ttl, rdata: reader.bytes(len) };
    }
    nodes[i] = { name, key, records };
  }
  reader.expectEnd("block");
  return nodes;
}
