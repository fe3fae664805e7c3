/**
 * @module The record stream, the one encoding of record data between the two runtimes: resource records
 * in uncompressed wire form (RFC 1035 §4.1.3: owner, type, class, ttl, rdlength, rdata), simply
 * concatenated. Ingest chunks, changesets, the journal and version streams all use it, so a transfer never
 * needs a second encoding. The transfer-service writes it (`worker-client.ts`); the Worker reads and
 * writes it (`workers/store/`).
 *
 * Compression pointers are refused in owners; rdata must be uncompressed too (the transfer-service
 * decompresses it with the rdata codecs), because a pointer into a message the Worker never saw cannot
 * be followed.
 *
 * One encoder, and one reader in two variants over the same framing ({@link RecordFrames}):
 * - {@link parseRecordStream} gives record objects with `Name` owners (changesets, tests, tools);
 * - {@link RecordFrames} itself gives offsets only, without an object per record: the Worker's full ingest
 *   (`workers/store/raw-nodes.ts`) sorts and copies records by offset, which a 1M-record zone needs.
 */
import type { ResourceRecord } from "../dns/message.ts";
import { MAX_LABEL_LENGTH, MAX_NAME_LENGTH, Name } from "../dns/name.ts";

/** A record with its owner, as it travels in a stream: a resource record, its rdata uncompressed. */
export type StreamRecord = ResourceRecord;

/** A record's fields without its owner, as they follow the owner in a stream. */
export type StreamFields = Omit<ResourceRecord, "name">;

/** An owner with its records (the store's node), written as one record after another. */
export interface StreamNode {
  name: Name;
  records: readonly StreamFields[];
}

// Framing of the fixed fields after the owner (RFC 1035 §4.1.3), as offsets from the end of the owner.
export const TYPE_AT = 0;
export const CLASS_AT = 2;
export const TTL_AT = 4;
export const RDLENGTH_AT = 8;
/** Octets of type, class, ttl and rdlength: where the rdata starts, past the owner. */
export const FIXED_FIELDS = 10;

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

/** Encoded size of one record in a stream. */
export function streamRecordSize(owner: Name, record: StreamFields): number {
  return owner.wireLength + FIXED_FIELDS + record.rdata.length;
}

/** Writes records (with their owners) as a stream. */
export function encodeRecordStream(records: readonly StreamRecord[]): Uint8Array {
  let size = 0;
  for (const r of records) size += streamRecordSize(r.name, r);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let pos = 0;
  for (const r of records) pos = writeRecord(out, view, pos, r.name, r);
  return out;
}

/** Writes every record of the nodes, in node order, as a stream. */
export function encodeNodesAsStream(nodes: readonly StreamNode[]): Uint8Array {
  let size = 0;
  for (const node of nodes) for (const r of node.records) size += streamRecordSize(node.name, r);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let pos = 0;
  for (const node of nodes) for (const r of node.records) pos = writeRecord(out, view, pos, node.name, r);
  return out;
}

function writeRecord(out: Uint8Array, view: DataView, pos: number, owner: Name, r: StreamFields): number {
  for (const label of owner.labels) {
    out[pos++] = label.length;
    out.set(label, pos);
    pos += label.length;
  }
  out[pos++] = 0;
  view.setUint16(pos + TYPE_AT, r.type);
  view.setUint16(pos + CLASS_AT, r.class);
  view.setUint32(pos + TTL_AT, r.ttl);
  view.setUint16(pos + RDLENGTH_AT, r.rdata.length);
  out.set(r.rdata, pos + FIXED_FIELDS);
  return pos + FIXED_FIELDS + r.rdata.length;
}

/**
 * The low-level reader: walks a stream record by record and checks each one's framing (an uncompressed
 * owner of at most 255 octets, the fixed fields and the rdata inside the stream), without copying or
 * allocating. After `next()` returns true, `owner`, `body` and `end` are the current record's offsets.
 */
export class RecordFrames {
  /** Offset of the current record's owner name. */
  owner = 0;
  /** Offset just past the owner: the type field. */
  body = 0;
  /** Offset just past the rdata: where the next record starts. */
  end = 0;
  readonly view: DataView;

  constructor(readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /**
   * Moves to the next record; false at the end of the stream.
   * @throws RecordStreamError for a compressed or malformed owner, or a record cut short.
   */
  next(): boolean {
    const buf = this.buf;
    const at = this.end;
    if (at >= buf.length) return false;
    const body = ownerEnd(buf, at);
    if (body + FIXED_FIELDS > buf.length) throw new RecordStreamError("record cut short", at);
    const end = body + FIXED_FIELDS + this.view.getUint16(body + RDLENGTH_AT);
    if (end > buf.length) throw new RecordStreamError("rdata runs past the end", at);
    this.owner = at;
    this.body = body;
    this.end = end;
    return true;
  }

  get type(): number {
    return this.view.getUint16(this.body + TYPE_AT);
  }

  get class(): number {
    return this.view.getUint16(this.body + CLASS_AT);
  }

  get ttl(): number {
    return this.view.getUint32(this.body + TTL_AT);
  }

  /** Offset of the rdata (it ends at `end`). */
  get rdataAt(): number {
    return this.body + FIXED_FIELDS;
  }
}

/** The offset just past the uncompressed name at `at`, checking it as RFC 1035 §3.1 limits it. */
function ownerEnd(buf: Uint8Array, at: number): number {
  let pos = at;
  for (;;) {
    if (pos >= buf.length) throw new RecordStreamError("owner name runs past the end", at);
    const len = buf[pos]!;
    if (len === 0) return pos + 1;
    // A pointer (0xc0) would point into a message the Worker never saw; 0x40 and 0x80 are retired types.
    if (len > MAX_LABEL_LENGTH) throw new RecordStreamError(len >= 0xc0 ? "compressed owner name" : "bad label type in owner name", at);
    pos += len + 1;
    // Labels so far plus the root octet.
    if (pos - at + 1 > MAX_NAME_LENGTH) throw new RecordStreamError(`owner name longer than ${MAX_NAME_LENGTH} octets`, at);
  }
}

/** The owner at [at, end) as a `Name`; its labels are copied out, so the name does not keep the stream alive. */
function ownerName(buf: Uint8Array, at: number, end: number): Name {
  const labels: Uint8Array[] = [];
  for (let pos = at; pos < end - 1; pos += buf[pos]! + 1) labels.push(buf.slice(pos + 1, pos + 1 + buf[pos]!));
  return Name.fromLabels(labels);
}

/**
 * Parses a whole stream into records. Owners must be at or below `apex` when it is given. The rdata are
 * views into `bytes` (no copy).
 * @throws RecordStreamError for truncated, compressed or out-of-zone records, and past `maxRecords`.
 */
export function parseRecordStream(bytes: Uint8Array, apex?: Name, maxRecords = Number.MAX_SAFE_INTEGER): StreamRecord[] {
  const frames = new RecordFrames(bytes);
  const out: StreamRecord[] = [];
  while (frames.next()) {
    if (out.length >= maxRecords) throw new RecordStreamError(`more than ${maxRecords} records`, frames.owner);
    const name = ownerName(bytes, frames.owner, frames.body);
    if (apex && !name.isSubdomainOf(apex)) throw new RecordStreamError(`owner ${name} is outside ${apex}`, frames.owner);
    out.push({ name, type: frames.type, class: frames.class, ttl: frames.ttl, rdata: bytes.subarray(frames.rdataAt, frames.end) });
  }
  return out;
}
