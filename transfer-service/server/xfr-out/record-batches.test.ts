/**
 * @module A record stream cut anywhere (every octet offset, one octet at a time) comes back as the same
 * records; a stream that ends inside a record or carries a compressed owner is an error, not a short zone.
 */
import { describe, expect, it } from "vitest";
import { RRClass, RRType } from "../../../dns/constants.ts";
import { Name } from "../../../dns/name.ts";
import { encodeRecordStream, RecordStreamError } from "../../../contract/record-stream.ts";
import { recordBatches } from "./record-batches.ts";

const records = Array.from({ length: 40 }, (_, i) => ({
  name: Name.parse(`n${i}.batch.test.`),
  type: RRType.A,
  class: RRClass.IN,
  ttl: 60 + i,
  rdata: Uint8Array.of(10, 0, 0, i),
}));
const stream = encodeRecordStream(records);

async function* cut(bytes: Uint8Array, at: number[]): AsyncGenerator<Uint8Array> {
  let from = 0;
  for (const to of [...at, bytes.length]) {
    yield bytes.slice(from, to);
    from = to;
  }
}

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<string[]> {
  const out: string[] = [];
  for await (const batch of recordBatches(chunks)) for (const r of batch) out.push(`${r.name} ${r.ttl} ${r.rdata.join(".")}`);
  return out;
}

describe("recordBatches", () => {
  const expected = records.map((r) => `${r.name} ${r.ttl} ${r.rdata.join(".")}`);

  it("gives the same records wherever the stream is cut", async () => {
    for (let at = 1; at < stream.length; at++) expect(await collect(cut(stream, [at]))).toEqual(expected);
  });

  it("gives the same records when every octet is its own chunk", async () => {
    expect(await collect(cut(stream, Array.from({ length: stream.length - 1 }, (_, i) => i + 1)))).toEqual(expected);
  });

  it("refuses a stream that ends inside a record, or a compressed owner", async () => {
    await expect(collect(cut(stream.subarray(0, stream.length - 2), [10]))).rejects.toThrow(RecordStreamError);
    const compressed = Uint8Array.of(0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 1);
    await expect(collect(cut(compressed, [3]))).rejects.toThrow(/compressed/);
  });
});
