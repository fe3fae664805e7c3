/**
 * @module A version's record stream (`contract/record-stream.ts`) as the Worker sends it over HTTP, cut
 * wherever the network cut it, turned back into whole records batch by batch: each chunk's complete
 * records are parsed, and the partial record at its end waits for the next chunk. Only that tail is kept
 * between chunks, so the memory is one chunk whatever the zone's size.
 */
import type { ResourceRecord } from "../../../dns/message.ts";
import { concatBytes } from "../../../dns/bytes.ts";
import { parseRecordStream, RecordFrames, RecordStreamError } from "../../../contract/record-stream.ts";

/** Where the last whole record in `bytes` ends (0: none is whole yet). */
function wholeRecordsEnd(bytes: Uint8Array): number {
  const frames = new RecordFrames(bytes);
  let end = 0;
  try {
    while (frames.next()) end = frames.end;
  } catch (err) {
    // The record that did not frame is the partial one at the end (or a malformed one, caught at the end).
    if (!(err instanceof RecordStreamError)) throw err;
  }
  return end;
}

/**
 * The stream cut at record boundaries: each piece holds whole records only (read them with `RecordFrames`),
 * one per chunk received that completes at least one record. AXFR out packs from these octets directly.
 * @throws RecordStreamError when the stream is malformed or ends inside a record.
 */
export async function* wholeRecords(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let tail = new Uint8Array(0);
  for await (const chunk of chunks) {
    const bytes = tail.length === 0 ? chunk : concatBytes([tail, chunk]);
    const end = wholeRecordsEnd(bytes);
    if (end > 0) yield bytes.subarray(0, end);
    // Copied: the tail must not keep the whole chunk alive.
    tail = bytes.slice(end);
  }
  if (tail.length > 0) {
    parseRecordStream(tail); // throws the precise fault when there is one
    throw new RecordStreamError("the record stream ends inside a record", 0);
  }
}

/**
 * The records of a stream, a batch per chunk received.
 * @throws RecordStreamError when the stream is malformed or ends inside a record.
 */
export async function* recordBatches(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<ResourceRecord[]> {
  for await (const bytes of wholeRecords(chunks)) yield parseRecordStream(bytes);
}
