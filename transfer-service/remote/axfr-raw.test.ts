/**
 * @module The record-stream builder of the AXFR body (`axfr-raw.ts`) on its own: it writes exactly what
 * `encodeRecordStream` writes for the same records, cuts chunks only where the owner changes (case aside),
 * cuts a huge owner at 4× the target, and refuses rdata whose names do not use RDLENGTH exactly.
 */
import { describe, expect, it } from "vitest";
import { Opcode, RRType } from "../../dns/constants.ts";
import { noFlags } from "../../dns/header.ts";
import { decodeMessage, encodeMessage, type Message, type ResourceRecord } from "../../dns/message.ts";
import { nodeHmac } from "../../dns/hmac.node.ts";
import { prepareTsigKey } from "../../dns/tsig/key.ts";
import { signRequest } from "../../dns/tsig/sign.ts";
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

describe("readRawHead", () => {
  const later = (edns: Message["edns"], rcode = 0): Uint8Array =>
    encodeMessage({ id: 7, opcode: Opcode.QUERY, flags: { ...noFlags(), qr: true }, rcode, questions: [], answers: [a("h1.raw.test", 1), a("h2.raw.test", 2)], authorities: [], additionals: [], ...(edns ? { edns } : {}) }).wire;
  const opt = (): NonNullable<Message["edns"]> => ({ udpPayloadSize: 1232, extendedRcode: 0, version: 0, dnssecOk: false, flags: 0, options: [{ code: 9, data: Uint8Array.of(0, 0, 14, 16) }] });

  // knotd answers a transfer asked for with EDNS (ours carry EXPIRE, RFC 7314) with an OPT in every message:
  // each was decoded in full, record objects and all, before this case was taken.
  it("takes a message whose additional section is an OPT and then a TSIG, as knotd sends every message", async () => {
    const key = await prepareTsigKey({ name: "raw.key", algorithm: "hmac-sha256", secret: Buffer.alloc(32, 7).toString("base64") }, nodeHmac);
    const signed = (await signRequest(later(opt()), key)).message;
    const head = readRawHead(signed)!;
    expect(head).toBeDefined();
    expect(head.ancount).toBe(2);
    expect(head.message.rcode).toBe(0);
    expect(head.message.edns?.options).toEqual(opt().options);
    const decoded = decodeMessage(signed);
    expect(head.tsigOffset).toBe(decoded.tsig!.offset);
    const builder = new StreamBuilder(apex, 1000);
    let at = head.answersAt;
    for (let i = 0; i < head.ancount; i++) at = builder.readWire(signed, at, () => true);
    expect(parseRecordStream(builder.finish()!.stream)).toEqual(decoded.answers);
    // An OPT alone is fine too.
    expect(readRawHead(later(opt()))?.ancount).toBe(2);
  });

  it("joins the OPT's extended rcode to the header's, as the full decoder does (BADVERS is 16)", () => {
    // encodeMessage puts the rcode's upper bits into the OPT.
    const wire = later(opt(), 16);
    expect(wire[3]! & 0x0f).toBe(0);
    expect(readRawHead(wire)!.message.rcode).toBe(decodeMessage(wire).rcode);
    expect(readRawHead(wire)!.message.rcode).toBe(16);
  });

  it("leaves anything else in the additional section to the full decoder", () => {
    // Two OPTs; an OPT that is not the root's; a TSIG that is not last; an A record.
    const two = later(opt());
    const withRecord = encodeMessage({ id: 7, opcode: Opcode.QUERY, flags: { ...noFlags(), qr: true }, rcode: 0, questions: [], answers: [a("h1.raw.test", 1)], authorities: [], additionals: [a("x.raw.test", 3)], edns: opt() }).wire;
    expect(readRawHead(withRecord)).toBeUndefined();
    const doubled = new Uint8Array(two.length + 11 + 8);
    doubled.set(two);
    const optAt = two.length - (11 + 8);
    doubled.set(two.subarray(optAt), two.length);
    new DataView(doubled.buffer).setUint16(10, 2);
    expect(readRawHead(doubled)).toBeUndefined();
    expect(() => decodeMessage(doubled)).toThrow(WireError);
    const named = two.slice();
    // The OPT's owner: a pointer to the first answer's owner instead of the root.
    const misnamed = new Uint8Array(named.length + 1);
    misnamed.set(named.subarray(0, optAt));
    misnamed[optAt] = 0xc0;
    misnamed[optAt + 1] = 12;
    misnamed.set(named.subarray(optAt + 1), optAt + 2);
    expect(readRawHead(misnamed)).toBeUndefined();
    expect(() => decodeMessage(misnamed)).toThrow(WireError);
  });
});
