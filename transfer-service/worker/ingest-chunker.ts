/**
 * @module Shipping a full transfer's records to the Worker as ingest chunks: big, cut between owners, and
 * several in flight.
 *
 * - **Big** (about `targetBytes` of record stream, ~1 MB): every request to the Worker costs a round trip
 *   and a few D1 statements whatever its size, so fewer, larger chunks are cheaper (D1's per-statement
 *   limits apply to the blocks the Worker makes of a chunk, not to the chunk).
 * - **Cut between owners**: a chunk ends only where the owner name changes, so with a primary that sends
 *   its zone in canonical order (knotd, named, nsd do) every chunk covers a key range of its own and the
 *   Worker writes it straight into final blocks (`workers/store/full-ingest.ts`). An owner bigger than
 *   `4 × targetBytes` is cut anyway, which bounds memory; the Worker then stages and merges.
 * - **In flight**: up to `inFlight` chunks are sent while the AXFR keeps being read, so the socket, the
 *   Worker and D1 work at the same time. Memory stays bounded at about `(inFlight + 1) × targetBytes`.
 *   The Worker does not care in which order chunks arrive (it checks key ranges, not sequence numbers).
 *
 * Records are encoded as they arrive and only their bytes are kept: record objects then die young, which
 * the collector handles cheaply (holding ~100k of them across sends cost seconds of GC per 1M records).
 *
 * The first failure of a send is kept and thrown by the next `add` or by `flush`; later chunks are not
 * sent after it.
 *
 * A zone that never fills a chunk is never sent by the chunker: its owner takes the records whole
 * (`takeUnshipped`) and stores them with one request (issue 19: `worker-client.ts`).
 */
import type { ResourceRecord } from "../../dns/message.ts";
import type { Name } from "../../dns/name.ts";
import { streamRecordSize } from "../../contract/record-stream.ts";
import { concatBytes, releasableBytes, releaseBytes } from "../../dns/bytes.ts";

export interface ChunkerOptions {
  /** Record-stream bytes per chunk, roughly. */
  targetBytes: number;
  /**
   * A first stream piece (`addStream`) of at least this many bytes is shipped at once, so the Worker starts
   * storing while the rest is read (the transfer cuts its first piece at this size: `remote/axfr-raw.ts`
   * `FIRST_CHUNK_BYTES`). A smaller first piece can only be the end of the zone, which then goes whole
   * (`takeUnshipped`). Default: `targetBytes`.
   */
  firstBytes?: number;
  /** Chunks being sent at once (at least 1). */
  inFlight: number;
  /** Encodes records as one chunk body (the contract's record stream). */
  encode: (records: readonly ResourceRecord[]) => Uint8Array;
  /** Sends chunk `seq`; resolves when the Worker has stored it. */
  send: (seq: number, body: Uint8Array) => Promise<void>;
}

/**
 * One turn of the event loop. The AXFR client's loop (take a message, decode, hand records over) runs
 * on promises that are already settled while messages wait in its queue, so without a real wait in the
 * sink it never lets the socket be read: knotd, seeing its socket unwritable for a moment, drops the
 * transfer. Before chunks were batched, each chunk's HTTP call was that wait; this keeps one per `add`
 * (2,000 records by default). Seen on this machine: 100k-record AXFRs cut at ~67k records, twice in a
 * row, under load.
 */
const yieldToIo = () => new Promise<void>((resolve) => setImmediate(resolve));

export class IngestChunker {
  /** Encoded pieces of the chunk being filled. */
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  /** Owner of the last record taken (a chunk is cut only where the owner changes). */
  private lastOwner: Name | undefined;
  private seq = 0;
  private readonly running = new Set<Promise<void>>();
  private failure: { error: unknown } | undefined;

  constructor(private readonly options: ChunkerOptions) {}

  /** Chunks sent or being sent so far. */
  get chunks(): number {
    return this.seq;
  }

  /**
   * Takes records in transfer order; waits only when `inFlight` chunks are already on their way, and
   * otherwise for one turn of the event loop (see `yieldToIo`).
   */
  async add(records: readonly ResourceRecord[]): Promise<void> {
    this.throwIfFailed();
    await yieldToIo();
    const { targetBytes } = this.options;
    let from = 0, bytes = 0;
    for (let i = 0; i < records.length; i++) {
      const rr = records[i]!;
      const total = this.pendingBytes + bytes;
      if (total >= targetBytes && ((this.lastOwner !== undefined && !rr.name.equals(this.lastOwner)) || total >= 4 * targetBytes)) {
        this.take(records.slice(from, i), bytes);
        from = i;
        bytes = 0;
        await this.ship();
      }
      bytes += streamRecordSize(rr.name, rr);
      this.lastOwner = rr.name;
    }
    this.take(records.slice(from), bytes);
  }

  /**
   * Takes records already encoded as a record stream (`XfrSink.rawRecords`), which must end where an owner
   * ends: it joins what is pending and is shipped once that reaches `targetBytes`, or, while no chunk has
   * been shipped, `firstBytes` (the stream's first piece is cut small on purpose: `remote/axfr-raw.ts`). A
   * zone smaller than that is never shipped here: it goes whole, in one request (issue 19).
   */
  async addStream(stream: Uint8Array): Promise<void> {
    this.throwIfFailed();
    await yieldToIo();
    this.pending.push(stream);
    this.pendingBytes += stream.length;
    this.lastOwner = undefined;
    const due = this.seq === 0 ? (this.options.firstBytes ?? this.options.targetBytes) : this.options.targetBytes;
    if (this.pendingBytes >= due) await this.ship();
  }

  /** Sends what is left and waits for every chunk; throws the first failure. */
  async flush(): Promise<void> {
    this.throwIfFailed();
    if (this.pending.length > 0) await this.ship();
    while (this.running.size > 0) await Promise.all(this.running);
    this.throwIfFailed();
  }

  /**
   * The records taken so far as one record stream, while no chunk was sent: the whole zone, when the
   * transfer ended before it filled one. They are no longer the chunker's.
   */
  takeUnshipped(): Uint8Array {
    this.throwIfFailed();
    if (this.seq > 0) throw new Error("chunks were sent already: flush instead");
    const body = this.pending.length === 1 ? this.pending[0]! : concatBytes(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    return body;
  }

  /** Waits for the chunks in flight, ignoring failures (before an abort). */
  async settle(): Promise<void> {
    this.pending = [];
    while (this.running.size > 0) await Promise.allSettled(this.running);
  }

  private take(records: readonly ResourceRecord[], bytes: number): void {
    if (records.length === 0) return;
    this.pending.push(this.options.encode(records));
    this.pendingBytes += bytes;
  }

  private async ship(): Promise<void> {
    const pieces = this.pending;
    let body = pieces[0]!;
    if (pieces.length > 1) {
      body = releasableBytes(pieces.reduce((n, p) => n + p.length, 0));
      pieces.reduce((at, p) => (body.set(p, at), at + p.length), 0);
    }
    // The chunker is the last holder of the stream's pieces (`remote/axfr-raw.ts` cuts them releasable):
    // joined, they go at once; sent, the body goes once the Worker has it (or the send failed for good).
    if (pieces.length > 1) for (const p of pieces) releaseBytes(p);
    this.pending = [];
    this.pendingBytes = 0;
    while (this.running.size >= Math.max(1, this.options.inFlight)) await Promise.race(this.running);
    this.throwIfFailed();
    const seq = this.seq++;
    const sending: Promise<void> = this.options
      .send(seq, body)
      .catch((error: unknown) => {
        this.failure ??= { error };
      })
      .finally(() => {
        this.running.delete(sending);
        releaseBytes(body);
      });
    this.running.add(sending);
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }
}
