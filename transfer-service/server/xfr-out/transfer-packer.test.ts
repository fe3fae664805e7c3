/**
 * @module Packing a transfer: every record exactly once and in order, whole records per message, each
 * message under the limit and the full ones close to it, the question in the first message only, names
 * compressed (rdata names too, for the RFC 1035 types), and a record too large for any message refused.
 * Each message is read back by our decoder, so the octets are a valid DNS message.
 */
import { expireAnswer, expireFromAnswer } from "../../../dns/edns-expire.ts";
import { describe, expect, it } from "vitest";
import { RRClass, RRType } from "../../../dns/constants.ts";
import { decodeMessage, type ResourceRecord } from "../../../dns/message.ts";
import { Name } from "../../../dns/name.ts";
import { rdataFromText } from "../../../dns/rdata/index.ts";
import { MAX_TRANSFER_MESSAGE, TransferPacker } from "./transfer-packer.ts";
import { encodeRecordStream, RecordFrames } from "../../../contract/record-stream.ts";

const origin = Name.parse("pack.test.");
const rr = (owner: string, type: number, text: string, ttl = 300): ResourceRecord => ({
  name: Name.parse(owner, origin),
  type,
  class: RRClass.IN,
  ttl,
  rdata: rdataFromText(type, text, origin),
});

/** A zone's worth of records: SOA, then A, MX and TXT records of varying size. */
function records(n: number): ResourceRecord[] {
  const out = [rr("@", RRType.SOA, "ns1 hostmaster 42 3600 600 86400 300")];
  for (let i = 0; i < n; i++) {
    if (i % 3 === 0) out.push(rr(`host-${i}`, RRType.A, `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`));
    else if (i % 3 === 1) out.push(rr(`mail-${i}`, RRType.MX, `10 host-${i - 1}`));
    else out.push(rr(`txt-${i}`, RRType.TXT, `"${"x".repeat(i % 200)}"`));
  }
  return out;
}

function pack(input: ResourceRecord[], maxSize?: number): Uint8Array[] {
  const packer = new TransferPacker({ id: 0x1234, rd: false }, { name: origin, type: RRType.AXFR, class: RRClass.IN }, maxSize);
  const messages: Uint8Array[] = [];
  for (const r of input) {
    const m = packer.add(r);
    if (m) messages.push(m);
  }
  messages.push(packer.finish());
  expect(packer.messages).toBe(messages.length);
  expect(packer.bytes).toBe(messages.reduce((n, m) => n + m.length, 0));
  return messages;
}

const same = (a: ResourceRecord, b: ResourceRecord) =>
  a.name.equals(b.name) && a.type === b.type && a.ttl === b.ttl && a.rdata.length === b.rdata.length && a.rdata.every((x, i) => x === b.rdata[i]);

describe("TransferPacker", () => {
  it("carries every record once, in order, in messages under the limit and close to it", () => {
    const input = records(20_000);
    const messages = pack(input);
    expect(messages.length).toBeGreaterThan(3);
    const out: ResourceRecord[] = [];
    messages.forEach((wire, i) => {
      expect(wire.length).toBeLessThanOrEqual(MAX_TRANSFER_MESSAGE);
      const m = decodeMessage(wire);
      expect(m.id).toBe(0x1234);
      expect(m.flags.qr && m.flags.aa && !m.flags.tc).toBe(true);
      expect(m.questions.length).toBe(i === 0 ? 1 : 0);
      // A full message left less room than the next record needs: within a few hundred octets of the limit.
      if (i < messages.length - 1) expect(wire.length).toBeGreaterThan(MAX_TRANSFER_MESSAGE - 512);
      out.push(...m.answers);
    });
    expect(out.length).toBe(input.length);
    out.forEach((r, i) => expect(same(r, input[i]!), `record ${i}`).toBe(true));
  });

  it("compresses owners and rdata names within a message", () => {
    // A and MX only: their owners share the zone's suffix, and an MX target is an RFC 1035 name.
    const input = records(3000).filter((r) => r.type !== RRType.TXT);
    const size = (rs: ResourceRecord[]) => rs.reduce((n, r) => n + r.name.wireLength + 10 + r.rdata.length, 0);
    const packed = pack(input).reduce((n, m) => n + m.length, 0);
    expect(packed).toBeLessThan(size(input) * 0.75);
    // The MX targets alone: compressed in the rdata, they take a pointer where their suffix was written.
    const mx = input.filter((r) => r.type === RRType.MX);
    const a = input.filter((r) => r.type === RRType.A);
    const mxShare = pack(mx).reduce((n, m) => n + m.length, 0) / size(mx);
    const aShare = pack(a).reduce((n, m) => n + m.length, 0) / size(a);
    expect(mxShare).toBeLessThan(aShare);
  });

  it("keeps every name's case: a pointer only onto the same octets (RFC 4343 §4.1)", () => {
    const input = [
      rr("@", RRType.SOA, "ns1 hostmaster 42 3600 600 86400 300"),
      rr("www.Sub", RRType.A, "192.0.2.1"),
      rr("www.sub", RRType.A, "192.0.2.2"),
      rr("WWW.sub", RRType.A, "192.0.2.3"),
      rr("www.Sub", RRType.CNAME, "WWW.sub"),
      rr("mail.PACK.test.", RRType.MX, "10 www.Sub"),
    ];
    const [only] = pack(input);
    const out = decodeMessage(only!).answers;
    expect(out.map((r) => r.name.toString())).toEqual(["pack.test.", "www.Sub.pack.test.", "www.sub.pack.test.", "WWW.sub.pack.test.", "www.Sub.pack.test.", "mail.PACK.test."]);
    out.forEach((r, i) => expect(same(r, input[i]!), `record ${i}`).toBe(true));
  });

  it("packs the record stream's octets (addWire) exactly as it packs records (add)", () => {
    const input = records(5000);
    const stream = encodeRecordStream(input);
    const header = { id: 9, rd: true, edns: { udpPayloadSize: 1232, dnssecOk: false, expire: 77 } };
    const question = { name: origin, type: RRType.AXFR, class: RRClass.IN };
    const fromWire = new TransferPacker(header, question);
    const fromRecords = new TransferPacker(header, question);
    const a: Uint8Array[] = [];
    const b: Uint8Array[] = [];
    const frames = new RecordFrames(stream);
    while (frames.next()) {
      const m = fromWire.addWire(stream, frames.owner, frames.body, frames.end);
      if (m) a.push(m);
    }
    for (const r of input) {
      const m = fromRecords.add(r);
      if (m) b.push(m);
    }
    a.push(fromWire.finish());
    b.push(fromRecords.finish());
    expect(a).toEqual(b);
    const back = a.flatMap((m) => decodeMessage(m).answers);
    back.forEach((r, i) => expect(same(r, input[i]!), `record ${i}`).toBe(true));
  });

  it("copies malformed RDATA of a compressible type as it is", () => {
    // An NS whose RDATA is not one name: kept verbatim, never compressed or cut.
    const odd: ResourceRecord = { name: origin, type: RRType.NS, class: RRClass.IN, ttl: 60, rdata: Uint8Array.of(3, 0x61, 0x62, 0x63, 0, 0xff) };
    const [only] = pack([rr("ns", RRType.A, "192.0.2.9"), odd]);
    const view = new DataView(only!.buffer, only!.byteOffset, only!.byteLength);
    // The last record's RDLENGTH and RDATA, at the end of the message.
    expect(view.getUint16(only!.length - 8)).toBe(6);
    expect([...only!.subarray(only!.length - 6)]).toEqual([...odd.rdata]);
  });

  it("sends a record alone in a message when it is all that fits, and refuses one that fits nowhere", () => {
    const big = rr("big", RRType.TXT, Array.from({ length: 40 }, () => `"${"y".repeat(250)}"`).join(" "));
    const messages = pack([big, big, big], 12_000);
    expect(messages.map((m) => decodeMessage(m).answers.length)).toEqual([1, 1, 1]);
    expect(() => pack([big], 5_000)).toThrow(/does not fit/);
  });

  it("puts a bare OPT in every message when the request had one, still under the limit", () => {
    const packer = new TransferPacker({ id: 7, rd: false, edns: { udpPayloadSize: 1232, dnssecOk: true } }, { name: origin, type: RRType.AXFR, class: RRClass.IN });
    const messages: Uint8Array[] = [];
    for (const r of records(20_000)) {
      const m = packer.add(r);
      if (m) messages.push(m);
    }
    messages.push(packer.finish());
    expect(messages.length).toBeGreaterThan(3);
    for (const wire of messages) {
      expect(wire.length).toBeLessThanOrEqual(MAX_TRANSFER_MESSAGE);
      const m = decodeMessage(wire);
      expect(m.edns).toMatchObject({ udpPayloadSize: 1232, version: 0, dnssecOk: true });
      expect(m.additionals).toEqual([]);
    }
  });

  it("adds the EDNS EXPIRE option to every message when asked (RFC 7314 §3), still under the limit", () => {
    const packer = new TransferPacker({ id: 7, rd: false, edns: { udpPayloadSize: 1232, dnssecOk: false, expire: 86_399 } }, { name: origin, type: RRType.AXFR, class: RRClass.IN });
    const messages: Uint8Array[] = [];
    for (const r of records(20_000)) {
      const m = packer.add(r);
      if (m) messages.push(m);
    }
    messages.push(packer.finish());
    expect(messages.length).toBeGreaterThan(3);
    for (const wire of messages) {
      expect(wire.length).toBeLessThanOrEqual(MAX_TRANSFER_MESSAGE);
      const m = decodeMessage(wire);
      expect(m.edns?.options).toEqual([expireAnswer(86_399)]);
      expect(expireFromAnswer(m.edns)).toBe(86_399);
    }
  });

  it("finishes a transfer of nothing as one question-only message", () => {
    const [only] = pack([]);
    const m = decodeMessage(only!);
    expect(m.questions.length).toBe(1);
    expect(m.answers).toEqual([]);
  });
});
