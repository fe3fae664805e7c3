/**
 * @module The record-stream builder of the AXFR body (`axfr-raw.ts`) on its own: it writes exactly what
 * `encodeRecordStream` writes for the same records, cuts chunks only where the owner changes (case aside),
 * cuts a huge owner at 4× the target, and refuses rdata whose names do not use RDLENGTH exactly.
 */
import { describe, expect, it } from "vitest";
import { Opcode, RRType } from "../../dns/constants.ts";
import { noFlags } from "../../dns/header.ts";
import { encodeMessage, type ResourceRecord } from "../../dns/message.ts";
import { Name } from "../../dns/name.ts";
import { WireError } from "../../dns/wire/reader.ts";
import { encodeRecordStream, parseRecordStream } from "../../contract/record-stream.ts";
import { FIRST_CHUNK_BYTES, readRawHead, StreamBuilder, type StreamChunk } from "./axfr-raw.ts";

const apex = Name.parse("raw.test");
const a = (owner: string, last: number): ResourceRecord => ({ name: Name.parse(owner), type: RRType.A, class: 1, ttl: 60, rdata: Uint8Array.of(192, 0, 2, last) });

function build(records: ResourceRecord[], target: number): StreamChunk[] {
  const builder = new StreamBuilder(apex, target);
  const chunks: StreamChunk[] = [];
  for (const r of records) {
    const c = builder.readRecord(r.name, r.type, r.class, r.ttl, r.rdata, () => true);
    if (c) chunks.push(c);
  }
  const rest = builder.finish();
  if (rest) chunks.push(rest);
  return chunks;
}

describe("StreamBuilder", () => {
  it("writes the record stream of its records, cut only between owners once the target is reached", () => {
    // Owners of 1–4 records, one of them spelled in two cases.
    const records: ResourceRecord[] = [];
    for (let i = 0; i < 200; i++) for (let k = 0; k <= i % 4; k++) records.push(a(`${k === 1 ? "H" : "h"}${i}.raw.test`, k));
    const chunks = build(records, 300);
    expect(chunks.length).toBeGreaterThan(5);
    const joined = new Uint8Array(chunks.reduce((n, c) => n + c.stream.length, 0));
    let at = 0;
    for (const c of chunks) {
      joined.set(c.stream, at);
      at += c.stream.length;
    }
    expect(joined).toEqual(encodeRecordStream(records));
    chunks.forEach((c, i) => {
      const parsed = parseRecordStream(c.stream);
      expect(parsed).toHaveLength(c.records);
      if (i < chunks.length - 1) {
        expect(c.stream.length).toBeGreaterThanOrEqual(300);
        expect(parseRecordStream(chunks[i + 1]!.stream)[0]!.name.equals(parsed.at(-1)!.name)).toBe(false);
      }
    });
  });

  it("cuts the first chunk at FIRST_CHUNK_BYTES, the others at the target", () => {
    const records: ResourceRecord[] = [];
    for (let i = 0; i < 40_000; i++) records.push(a(`h${i}.raw.test`, i & 0xff));
    const chunks = build(records, 512 * 1024);
    expect(chunks[0]!.stream.length).toBeGreaterThanOrEqual(FIRST_CHUNK_BYTES);
    expect(chunks[0]!.stream.length).toBeLessThan(FIRST_CHUNK_BYTES + 100);
    expect(chunks[1]!.stream.length).toBeGreaterThanOrEqual(512 * 1024);
    expect(chunks[1]!.stream.length).toBeLessThan(512 * 1024 + 100);
    // A target below the first chunk's size is taken for the first chunk too.
    expect(build(records.slice(0, 100), 300)[0]!.stream.length).toBeLessThan(400);
  });

  it("cuts one huge owner at 4× the target, which bounds memory", () => {
    const records = Array.from({ length: 100 }, (_, i) => a("big.raw.test", i));
    const chunks = build(records, 100);
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks.slice(0, -1)) expect(c.stream.length).toBeLessThan(4 * 100 + 40);
  });

  it("tells apex, in-zone and out-of-zone owners apart on label boundaries", () => {
    const seen: Array<[string, boolean, boolean]> = [];
    const builder = new StreamBuilder(apex, 1000);
    for (const owner of ["raw.test", "RAW.test", "x.raw.test", "xraw.test", "raw.test.other", "test"]) {
      builder.readRecord(Name.parse(owner), RRType.A, 1, 60, Uint8Array.of(1, 2, 3, 4), (rr) => {
        seen.push([owner, rr.atApex, rr.inZone]);
        return false;
      });
    }
    expect(seen).toEqual([
      ["raw.test", true, true],
      ["RAW.test", true, true],
      ["x.raw.test", false, true],
      ["xraw.test", false, false],
      ["raw.test.other", false, false],
      ["test", false, false],
    ]);
  });

  it("refuses an MX whose exchange name leaves octets of RDLENGTH over, as the full decoder does", () => {
    const mx: ResourceRecord = { name: Name.parse("m.raw.test"), type: RRType.MX, class: 1, ttl: 60, rdata: Uint8Array.of(0, 10, ...Name.parse("mx.raw.test").toWire(), 7) };
    const wire = encodeMessage({ id: 1, opcode: Opcode.QUERY, flags: { ...noFlags(), qr: true }, rcode: 0, questions: [], answers: [mx], authorities: [], additionals: [] }, { compress: false }).wire;
    const head = readRawHead(wire)!;
    expect(head.ancount).toBe(1);
    expect(() => new StreamBuilder(apex, 1000).readWire(wire, head.answersAt, () => true)).toThrow(WireError);
  });
});
