/**
 * @module The hand-rolled query reader against the full decoder: every field it reads must equal what
 * `decodeMessage` reads, `plain` must hold exactly for the cacheable shape, malformed input must be a
 * `WireError` (never another throw), and `shapeReply` must be a well-formed reply that echoes the question.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Rcode } from "../../../dns/constants.ts";
import { decodeMessage } from "../../../dns/message.ts";
import { WireError } from "../../../dns/wire/reader.ts";
import { queryWire } from "../../../dns/testing/query-wire.ts";
import { readQueryShape, writeLowerQname } from "./query-shape.ts";
import { shapeReply } from "../reply.ts";

const withCounts = (wire: Uint8Array, at: number, value: number): Uint8Array => {
  const out = wire.slice();
  out[at] = value >> 8;
  out[at + 1] = value & 0xff;
  return out;
};

describe("readQueryShape", () => {
  it.each<{ why: string; wire: Uint8Array; plain: boolean }>([
    { why: "A with EDNS", wire: queryWire("www.Example.org.", "A"), plain: true },
    { why: "AAAA without EDNS", wire: queryWire("example.org.", "AAAA", { edns: false }), plain: true },
    { why: "DO=1, 4096", wire: queryWire("example.org.", "DNSKEY", { dnssecOk: true, edns: { udpPayloadSize: 4096 } }), plain: true },
    { why: "EDNS version 1", wire: queryWire("example.org.", "SOA", { edns: { version: 1 } }), plain: true },
    { why: "root name", wire: queryWire(".", "NS"), plain: true },
    { why: "trailing octets", wire: new Uint8Array([...queryWire("example.org.", "A", { edns: false }), 0]), plain: false },
    { why: "ANCOUNT 1", wire: withCounts(queryWire("example.org.", "A", { edns: false }), 6, 1), plain: false },
    { why: "QDCOUNT 2", wire: withCounts(queryWire("example.org.", "A", { edns: false }), 4, 2), plain: false },
  ])("$why: fields agree with the full decoder, plain = $plain", ({ wire, plain }) => {
    const shape = readQueryShape(wire);
    expect(shape.plain).toBe(plain);
    if (!plain) return;
    const m = decodeMessage(wire);
    expect(shape.id).toBe(m.id);
    expect(shape.opcode).toBe(m.opcode);
    expect(shape.qtype).toBe(m.questions[0]!.type);
    expect(shape.qclass).toBe(m.questions[0]!.class);
    const lowered = new Uint8Array(2 + 255);
    const end = writeLowerQname(wire, shape, lowered, 2);
    expect(lowered.subarray(2, end)).toEqual(m.questions[0]!.name.lower().toWire());
    expect(shape.edns?.udpSize).toBe(m.edns?.udpPayloadSize);
    expect(shape.edns?.dnssecOk).toBe(m.edns?.dnssecOk);
    expect(shape.edns?.version).toBe(m.edns?.version);
  });

  it("a compression pointer in the question is not plain (the Worker judges it)", () => {
    const wire = new Uint8Array([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c, 0, 1, 0, 1]);
    expect(readQueryShape(wire).plain).toBe(false);
  });

  it.each([
    { why: "shorter than a header", wire: new Uint8Array(11) },
    { why: "name runs off the end", wire: new Uint8Array([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 5, 0x61]) },
    { why: "type and class missing", wire: new Uint8Array([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1]) },
    { why: "name over 255 octets", wire: new Uint8Array([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, ...Array.from({ length: 5 }, () => [63, ...new Array(63).fill(0x61)]).flat(), 0, 0, 1, 0, 1]) },
  ])("$why: WireError", ({ wire }) => {
    expect(() => readQueryShape(wire)).toThrow(WireError);
  });

  it("random octets give a shape or a WireError, nothing else", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 80 }), (bytes) => {
        try {
          readQueryShape(bytes);
        } catch (err) {
          if (!(err instanceof WireError)) throw err;
        }
      }),
      { numRuns: 2000 },
    );
  });
});

/** `wire` with its header's counts set and `rdata` as the OPT's RDATA (the OPT is the query's last record). */
const optRdata = (wire: Uint8Array, rdata: number[]): Uint8Array => {
  const out = new Uint8Array([...wire, ...rdata]);
  const rdlength = wire.length - 2;
  out[rdlength] = rdata.length >> 8;
  out[rdlength + 1] = rdata.length & 0xff;
  return out;
};

describe("the OPT of a query that is not plain, and its options", () => {
  const a = queryWire("www.example.org.", "A", { dnssecOk: true, edns: { udpPayloadSize: 4096 } });
  const question = a.subarray(12, a.length - 11);
  const opt = a.subarray(a.length - 11);

  it.each<{ why: string; wire: Uint8Array }>([
    { why: "QDCOUNT 0 with an OPT", wire: withCounts(new Uint8Array([...a.subarray(0, 12), ...opt]), 4, 0) },
    { why: "QDCOUNT 2 with an OPT", wire: withCounts(new Uint8Array([...a.subarray(0, 12), ...question, ...question, ...opt]), 4, 2) },
    { why: "a compressed question name with an OPT", wire: new Uint8Array([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0xc0, 0x0c, 0, 1, 0, 1, ...opt]) },
  ])("$why: the OPT is read (so a FORMERR can carry one), the query is not plain", ({ wire }) => {
    const shape = readQueryShape(wire);
    expect(shape.plain).toBe(false);
    expect(shape.edns).toEqual({ udpSize: 4096, dnssecOk: true, version: 0, nsid: false, expire: false, cookieAt: -1, cookieLength: 0 });
  });

  it("an NSID option is seen, on the plain path and off it", () => {
    const nsid = queryWire("www.example.org.", "A", { edns: { options: [{ code: 3, data: new Uint8Array(0) }] } });
    expect(readQueryShape(nsid)).toMatchObject({ plain: true, edns: { nsid: true } });
    expect(readQueryShape(withCounts(nsid, 6, 0)).edns?.nsid).toBe(true);
    expect(readQueryShape(a).edns?.nsid).toBe(false);
  });

  it("a COOKIE option's place and length are recorded, after another option and off the plain path", () => {
    const cookie = Uint8Array.from({ length: 24 }, (_, i) => i + 1);
    const wire = queryWire("www.example.org.", "A", { edns: { options: [{ code: 3, data: new Uint8Array(0) }, { code: 10, data: cookie }] } });
    const shape = readQueryShape(wire);
    expect(shape).toMatchObject({ plain: true, edns: { nsid: true, cookieLength: 24 } });
    expect([...wire.subarray(shape.edns!.cookieAt, shape.edns!.cookieAt + 24)]).toEqual([...cookie]);
    expect(readQueryShape(withCounts(wire, 6, 0)).edns).toMatchObject({ cookieAt: shape.edns!.cookieAt, cookieLength: 24 });
    // A length RFC 7873 §5.2.2 refuses is recorded as it is; the front answers it FORMERR.
    const odd = queryWire("www.example.org.", "A", { edns: { options: [{ code: 10, data: new Uint8Array(9) }] } });
    expect(readQueryShape(odd).edns).toMatchObject({ cookieLength: 9 });
  });

  it.each<{ why: string; rdata: number[] }>([
    { why: "an option header cut short", rdata: [0, 10] },
    { why: "option data past the RDATA", rdata: [0, 10, 0, 8, 1, 2] },
  ])("$why: ednsMalformed, no edns, never plain (the cache key leaves options out)", ({ rdata }) => {
    const wire = optRdata(queryWire("www.example.org.", "A"), rdata);
    expect(() => decodeMessage(wire)).toThrow(WireError);
    const shape = readQueryShape(wire);
    expect(shape).toMatchObject({ ednsMalformed: true, edns: undefined, plain: false, qtype: 1 });
  });
});

describe("shapeReply", () => {
  it.each([
    { why: "SERVFAIL with EDNS and DO", wire: queryWire("Www.example.org.", "A", { id: 77, dnssecOk: true }), rcode: Rcode.SERVFAIL, tc: false },
    { why: "REFUSED without EDNS", wire: queryWire("example.org.", "AXFR", { id: 78, edns: false }), rcode: Rcode.REFUSED, tc: false },
    { why: "the empty TC=1 slip", wire: queryWire("example.org.", "TXT", { id: 79 }), rcode: Rcode.NOERROR, tc: true },
  ])("$why decodes as a reply to its query", ({ wire, rcode, tc }) => {
    const query = decodeMessage(wire);
    const reply = decodeMessage(shapeReply(wire, readQueryShape(wire), rcode, { tc }));
    expect(reply.id).toBe(query.id);
    expect(reply.flags.qr).toBe(true);
    expect(reply.flags.tc).toBe(tc);
    expect(reply.flags.rd).toBe(query.flags.rd);
    expect(reply.rcode).toBe(rcode);
    expect(reply.questions.map((x) => [x.name.toString(), x.type])).toEqual(query.questions.map((x) => [x.name.toString(), x.type]));
    expect(reply.answers).toHaveLength(0);
    expect(reply.edns?.dnssecOk).toBe(query.edns?.dnssecOk);
    expect(reply.edns === undefined).toBe(query.edns === undefined);
  });

  it("RD and CD are copied for QUERY only (RFC 1035 §4.1.1, RFC 4035 §3.2.2)", () => {
    const query = withCounts(queryWire("example.org.", "A", { id: 80 }), 2, 0x0110);
    expect(decodeMessage(shapeReply(query, readQueryShape(query), Rcode.SERVFAIL)).flags).toMatchObject({ rd: true, cd: true });
    const status = withCounts(query, 2, (2 << 11) | 0x0110);
    expect(decodeMessage(shapeReply(status, readQueryShape(status), Rcode.NOTIMP)).flags).toMatchObject({ rd: false, cd: false });
  });
});
