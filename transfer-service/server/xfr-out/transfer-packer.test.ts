/**
 * @module Packing a transfer: every record exactly once and in order, whole records per message, each
 * message under the limit and the full ones close to it, the question in the first message only, names
 * compressed (rdata names too, for the RFC 1035 types), and a record too large for any message refused.
 * Each message is read back by our decoder, so the octets are a valid DNS message.
 */
import { describe, expect, it } from "vitest";
import { RRClass, RRType } from "../../../dns/constants.ts";
import { decodeMessage, type ResourceRecord } from "../../../dns/message.ts";
import { Name } from "../../../dns/name.ts";
import { rdataFromText } from "../../../dns/rdata/index.ts";
import { MAX_TRANSFER_MESSAGE, TransferPacker } from "./transfer-packer.ts";

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

  it("finishes a transfer of nothing as one question-only message", () => {
    const [only] = pack([]);
    const m = decodeMessage(only!);
    expect(m.questions.length).toBe(1);
    expect(m.answers).toEqual([]);
  });
});
