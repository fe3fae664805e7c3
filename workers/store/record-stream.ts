/**
 * @module The record stream of the internal API: resource records in uncompressed wire form (RFC 1035
 * §4.1.3: owner, type, class, ttl, rdlength, rdata), simply concatenated. Ingest chunks, changesets, the
 * journal and version streams all use it, so a transfer never needs a second encoding.
 *
 * Compression pointers are refused in owners; rdata must be uncompressed too (the transfer-service
 * decompresses it with the rdata codecs), because a pointer into a message the Worker never saw cannot
 * be followed.
 */
import type { Name } from "../../dns/name.ts";
import { WireError, WireReader } from "../../dns/wire/reader.ts";
import type { StoredNode, StoredRecord } from "./stored-node.ts";

/** A record with its owner, as it travels in a stream. */
export interface OwnedRecord extends StoredRecord {
  name: Name;
}

/** A record stream that cannot be taken: malformed, or (`too-large`) one owner over the node size limit. */
export class RecordStreamError extends Error {
  override readonly name = "RecordStreamError";
  constructor(
    message: string,
    /** Octet offset in the stream where the fault was found. */
    readonly offset: number,
    readonly kind: "malformed" | "too-large" = "malformed",
  ) {
    super(`${message} (at octet ${offset})`);
  }
}

/**
 * Parses a whole stream. Owners must be at or below `apex` when it is given.
 * @throws RecordStreamError for truncated, compressed or out-of-zone records, and at `maxRecords`.
 */
export function parseRecordStream(bytes: Uint8Array, apex?: Name, maxRecords = Number.MAX_SAFE_INTEGER): OwnedRecord[] {
  const reader = new WireReader(bytes);
  const out: OwnedRecord[] = [];
  while (reader.remaining > 0) {
    const start = reader.offset;
    if (out.length >= maxRecords) throw new RecordStreamError(`more than ${maxRecords} records`, start);
    try {
      const name = reader.name();
      // A pointer would make the name shorter than its labels: refuse it, a stream is never compressed.
      if (reader.offset - start !== name.wireLength) throw new RecordStreamError("compressed owner name", start);
      if (apex && !name.isSubdomainOf(apex)) throw new RecordStreamError(`owner ${name} is outside ${apex}`, start);
      const type = reader.u16();
      const cls = reader.u16();
      const ttl = reader.u32();
      const len = reader.u16();
      out.push({ name, type, class: cls, ttl, rdata: reader.bytes(len) });
    } catch (err) {
      if (err instanceof WireError) throw new RecordStreamError(err.message, err.offset);
      throw err;
    }
  }
  return out;
}

/** Encoded size of one record in a stream. */
export function streamRecordSize(owner: Name, record: StoredRecord): number {
  return owner.wireLength + 10 + record.rdata.length;
}

/** Writes records (with their owners) as a stream. */
export function encodeRecordStream(records: readonly OwnedRecord[]): Uint8Array {
  let size = 0;
  for (const r of records) size += streamRecordSize(r.name, r);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let pos = 0;
  for (const r of records) pos = writeRecord(out, view, pos, r.name, r);
  return out;
}

/** Writes every record of the nodes, in node order, as a stream. */
export function encodeNodesAsStream(nodes: readonly StoredNode[]): Uint8Array {
  let size = 0;
  for (const node of nodes) for (const r of node.records) size += streamRecordSize(node.name, r);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let pos = 0;
  for (const node of nodes) for (const r of node.records) pos = writeRecord(out, view, pos, node.name, r);
  return out;
}

function writeRecord(out: Uint8Array, view: DataView, pos: number, owner: Name, r: StoredRecord): number {
  for (const label of owner.labels) {
    out[pos++] = label.length;
    out.set(label, pos);
    pos += label.length;
  }
  out[pos++] = 0;
  view.setUint16(pos, r.type);
  view.setUint16(pos + 2, r.class);
  view.setUint32(pos + 4, r.ttl);
  view.setUint16(pos + 8, r.rdata.length);
  out.set(r.rdata, pos + 10);
  return pos + 10 + r.rdata.length;
}
