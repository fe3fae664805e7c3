import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Opcode, RRClass, RRType, Rcode } from "./constants.ts";
import { EdnsOptionCode, type Edns } from "./edns.ts";
import { noFlags } from "./header.ts";
import { type Message, type ResourceRecord, decodeMessage, encodeMessage } from "./message.ts";
import { Name } from "./name.ts";
import { soaSerial } from "./rdata/soa.ts";
import { countCompressionPointers, hex, loadFixtures } from "./testdata/fixtures.ts";
import { WireError } from "./wire/reader.ts";
import { WireOverflow } from "./wire/writer.ts";
import { ownsBuffer, Slab, SLAB_SIZE } from "./wire/slab.ts";

const n = (t: string) => Name.parse(t);
const text = new TextEncoder();

/** A message as plain data, for deep comparison: names as text, octets as hex. */
function plain(m: Message, withTsigOffset = true) {
  const rr = (r: ResourceRecord) => ({ name: r.name.toString(), type: r.type, class: r.class, ttl: r.ttl, rdata: hex(r.rdata) });
  return {
    id: m.id,
    opcode: m.opcode,
    flags: m.flags,
    rcode: m.rcode,
    questions: m.questions.map((q) => ({ name: q.name.toString(), type: q.type, class: q.class })),
    answers: m.answers.map(rr),
    authorities: m.authorities.map(rr),
    additionals: m.additionals.map(rr),
    edns: m.edns && { ...m.edns, options: m.edns.options.map((o) => ({ code: o.code, data: hex(o.data) })) },
    tsig: m.tsig && { record: rr(m.tsig.record), offset: withTsigOffset ? m.tsig.offset : undefined },
  };
}

const fixtures = loadFixtures();

/** The SERIAL field of SOA RDATA: the first of the five 32-bit numbers at its end (RFC 1035 §3.3.13). */
const serialOf = (rr: ResourceRecord) => soaSerial(rr.rdata);

describe("captured messages from dig, kdig and knotd (dns/testdata)", () => {
  it("has the captures", () => {
    expect(fixtures.filter((f) => f.role === "query").length).toBeGreaterThanOrEqual(30);
    expect(fixtures.filter((f) => f.role === "answer").length).toBeGreaterThanOrEqual(30);
  });

  it.each(fixtures.map((f) => [f.file, f] as const))("%s: decode → encode → decode is the same message", (_file, f) => {
    const first = decodeMessage(f.wire);
    const { wire, truncated } = encodeMessage(first);
    expect(truncated).toBe(false);
    const second = decodeMessage(wire);
    const pointers = countCompressionPointers(f.wire);
    if (pointers === 0) {
      // No compression in the original: the re-encoding is the original, octet for octet.
      expect(hex(wire)).toBe(hex(f.wire));
      expect(plain(second)).toEqual(plain(first));
    } else {
      // Compression may be laid out differently (knotd compresses SRV targets, which RFC 3597 §4 forbids
      // us to), which moves the TSIG's offset but nothing else.
      expect(plain(second, false)).toEqual(plain(first, false));
    }
    // Written without any compression, it still reads back the same.
    const flat = encodeMessage(first, { compress: false }).wire;
    expect(countCompressionPointers(flat)).toBe(0);
    expect(plain(decodeMessage(flat), false)).toEqual(plain(first, false));
  });

  const get = (c: string, role: "query" | "answer") => {
    const f = fixtures.find((x) => x.case === c && x.role === role && !/\.answer\.[1-9]/.test(x.file));
    if (f === undefined) throw new Error(`no fixture ${c} ${role}`);
    return decodeMessage(f.wire);
  };
  const opt = (m: Message, code: number) => m.edns?.options.find((o) => o.code === code);
  const names = (rs: ResourceRecord[]) => rs.map((r) => r.name.toString());

  // What each command asked for, and what knotd must have answered, checked on the decoded message.
  const expectations: Array<[c: string, role: "query" | "answer", check: (m: Message) => void]> = [
    ["dig-plain", "query", (m) => {
      expect(m.edns).toBeUndefined();
      expect(m.flags.rd && !m.flags.ad && !m.flags.qr).toBe(true);
      expect(m.questions.map((q) => [q.name.toString(), q.type, q.class])).toEqual([["example.com.", RRType.A, RRClass.IN]]);
    }],
    ["dig-a", "query", (m) => {
      expect(m.edns?.udpPayloadSize).toBe(1232);
      expect(opt(m, EdnsOptionCode.COOKIE)?.data.length).toBe(8);
    }],
    ["dig-dnssec", "query", (m) => expect(m.edns?.dnssecOk).toBe(true)],
    ["dig-dnssec", "answer", (m) => expect(m.edns?.dnssecOk).toBe(true)],
    ["dig-nsid", "query", (m) => expect(opt(m, EdnsOptionCode.NSID)?.data.length).toBe(0)],
    ["dig-nsid", "answer", (m) => expect(new TextDecoder().decode(opt(m, EdnsOptionCode.NSID)?.data)).toBe("backstop-capture")],
    ["dig-cookie", "query", (m) => expect(hex(opt(m, EdnsOptionCode.COOKIE)!.data)).toBe("0102030405060708")],
    ["dig-subnet", "query", (m) => {
      // RFC 7871 §6: FAMILY 1, SOURCE PREFIX-LENGTH 24, SCOPE 0, then the address truncated to 3 octets.
      expect(hex(opt(m, EdnsOptionCode.CLIENT_SUBNET)!.data)).toBe("00011800c00002");
    }],
    ["dig-bufsize", "query", (m) => expect(m.edns?.udpPayloadSize).toBe(4096)],
    ["dig-tsig", "query", (m) => {
      expect(m.tsig?.record.name.toString()).toBe("capture-key.");
      expect(m.tsig?.record.class).toBe(RRClass.ANY);
      expect(m.edns).toBeDefined();
    }],
    ["dig-tsig", "answer", (m) => expect(m.tsig?.record.type).toBe(RRType.TSIG)],
    ["dig-mx", "answer", (m) => {
      // Names in MX RDATA arrive compressed and are stored expanded: preference, then the full name.
      expect(m.answers.map((r) => hex(r.rdata))).toEqual([
        hex(Uint8Array.from([0, 10, ...n("mail.example.com.").toWire()])),
        hex(Uint8Array.from([0, 20, ...n("mail2.example.com.").toWire()])),
      ]);
    }],
    ["dig-srv", "answer", (m) => {
      expect(hex(m.answers[0]!.rdata)).toBe(hex(Uint8Array.from([0, 0, 0, 5, 0x13, 0xc4, ...n("sip.example.com.").toWire()])));
    }],
    ["dig-txt-udp", "answer", (m) => {
      expect(m.flags.tc).toBe(true);
      expect(m.answers).toHaveLength(0);
    }],
    ["dig-txt-tcp", "answer", (m) => {
      expect(m.flags.tc).toBe(false);
      expect(m.answers).toHaveLength(40);
      expect(m.answers.every((r) => r.type === RRType.TXT && r.name.toString() === "big.example.com.")).toBe(true);
    }],
    ["dig-nxdomain", "answer", (m) => {
      expect(m.rcode).toBe(Rcode.NXDOMAIN);
      expect(m.authorities.map((r) => r.type)).toEqual([RRType.SOA]);
    }],
    ["dig-nodata", "answer", (m) => {
      expect([m.rcode, m.answers.length, m.authorities[0]?.type]).toEqual([Rcode.NOERROR, 0, RRType.SOA]);
    }],
    ["dig-referral", "answer", (m) => {
      expect(m.flags.aa).toBe(false);
      expect(names(m.authorities)).toEqual(["sub.example.com."]);
      expect(names(m.additionals)).toEqual(["ns.sub.example.com."]);
      expect(hex(m.authorities[0]!.rdata)).toBe(hex(n("ns.sub.example.com.").toWire()));
    }],
    ["dig-cname", "answer", (m) => {
      expect(m.answers.map((r) => r.type)).toEqual([RRType.CNAME, RRType.A]);
      expect(hex(m.answers[0]!.rdata)).toBe(hex(n("www.example.com.").toWire()));
    }],
    ["dig-naptr", "answer", (m) => {
      const target = n("_sip._udp.example.com.").toWire();
      expect(hex(m.answers[0]!.rdata.subarray(-target.length))).toBe(hex(target));
    }],
    ["dig-rp", "answer", (m) => {
      expect(hex(m.answers[0]!.rdata)).toBe(hex(Uint8Array.from([...n("hostmaster.example.com.").toWire(), ...n("info.example.com.").toWire()])));
    }],
    ["dig-afsdb", "answer", (m) => expect(hex(m.answers[0]!.rdata)).toBe(hex(Uint8Array.from([0, 1, ...n("afs.example.com.").toWire()])))],
    ["dig-refused", "answer", (m) => {
      expect(m.rcode).toBe(Rcode.REFUSED);
      expect(opt(m, EdnsOptionCode.EXTENDED_ERROR)).toBeDefined();
    }],
    ["dig-axfr", "answer", (m) => {
      expect(m.answers[0]!.type).toBe(RRType.SOA);
      expect(m.answers.at(-1)!.type).toBe(RRType.SOA);
    }],
    ["dig-ixfr", "query", (m) => {
      // RFC 1995 §3: the client's SOA goes in the authority section.
      expect(m.questions[0]!.type).toBe(RRType.IXFR);
      expect(m.authorities.map((r) => r.type)).toEqual([RRType.SOA]);
      expect(serialOf(m.authorities[0]!)).toBe(2024010100);
    }],
    ["dig-notify", "query", (m) => expect(m.opcode).toBe(Opcode.NOTIFY)],
    ["dig-notify", "answer", (m) => expect([m.opcode, m.flags.qr, m.rcode]).toEqual([Opcode.NOTIFY, true, Rcode.NOTAUTH])],
    ["dig-status", "answer", (m) => expect([m.opcode, m.rcode]).toEqual([Opcode.STATUS, Rcode.NOTIMP])],
    ["dig-update", "query", (m) => expect(m.opcode).toBe(Opcode.UPDATE)],
    ["kdig-a", "query", (m) => expect(m.edns).toBeUndefined()],
    ["kdig-dnssec-nsid-cookie", "query", (m) => {
      expect(m.edns?.dnssecOk).toBe(true);
      expect(m.edns?.options.map((o) => o.code)).toEqual([EdnsOptionCode.NSID, EdnsOptionCode.COOKIE]);
    }],
    ["kdig-subnet", "query", (m) => expect(hex(opt(m, EdnsOptionCode.CLIENT_SUBNET)!.data)).toBe("0002380020010db8000000")],
    ["kdig-bufsize", "answer", (m) => expect([m.flags.tc, m.answers.length]).toEqual([true, 0])],
    ["kdig-padding", "query", (m) => expect(opt(m, EdnsOptionCode.PADDING)!.data.every((b) => b === 0)).toBe(true)],
    ["kdig-badvers", "query", (m) => expect(m.edns?.version).toBe(1)],
    ["kdig-badvers", "answer", (m) => {
      // RFC 6891 §6.1.3: BADVERS (16) needs the OPT's extended rcode bits; the answer's OPT is version 0.
      expect([m.rcode, m.edns?.extendedRcode, m.edns?.version]).toEqual([Rcode.BADVERS, 1, 0]);
    }],
    ["kdig-unknown-option", "query", (m) => expect(m.edns?.options).toEqual([{ code: 65001, data: Uint8Array.from([0xbe, 0xef]) }])],
    ["kdig-unknown-option", "answer", (m) => expect([m.rcode, m.answers.length]).toEqual([Rcode.NOERROR, 1])],
    ["kdig-expire", "answer", (m) => expect(opt(m, EdnsOptionCode.EXPIRE)?.data.length).toBe(4)],
    ["kdig-tsig", "answer", (m) => expect([m.answers.length, m.tsig?.record.name.toString()]).toEqual([2, "capture-key."])],
    ["kdig-axfr-tsig", "answer", (m) => {
      expect([m.answers[0]!.type, m.answers.at(-1)!.type, m.tsig?.record.type]).toEqual([RRType.SOA, RRType.SOA, RRType.TSIG]);
    }],
    ["kdig-chaos", "query", (m) => expect(m.questions[0]!.class).toBe(RRClass.CH)],
    ["dig-ixfr-diff", "answer", (m) => {
      // RFC 1995 §4: new SOA, then (old SOA, deletions, new SOA, additions) per version, then new SOA.
      const soas = m.answers.flatMap((r, i) => (r.type === RRType.SOA ? [[i, serialOf(r)]] : []));
      expect(soas).toEqual([[0, 2024010102], [1, 2024010101], [4, 2024010102], [7, 2024010102]]);
      expect(m.answers.slice(2, 4).map((r) => [r.name.toString(), r.type]).sort()).toEqual([["example.com.", RRType.MX], ["www.example.com.", RRType.AAAA]]);
      expect(m.answers.slice(5, 7).map((r) => [r.name.toString(), r.type]).sort()).toEqual([["example.com.", RRType.MX], ["new.example.com.", RRType.A]]);
    }],
    ["kdig-ixfr-diff", "answer", (m) => expect(m.answers.map((r) => r.type === RRType.SOA)).toEqual([true, true, false, false, true, false, false, true])],
    ["dig-ixfr-udp", "answer", (m) => expect(m.answers.map(serialOf)).toEqual([2024010102])],
    ["knotd-notify", "query", (m) => {
      // RFC 1996 §3.7: opcode NOTIFY, AA set, the zone's SOA as the question (and here as the answer).
      expect([m.opcode, m.flags.aa, m.flags.qr, m.questions[0]!.type]).toEqual([Opcode.NOTIFY, true, false, RRType.SOA]);
      expect(m.answers.map(serialOf)).toEqual([2024010102]);
    }],
  ];
  it.each(expectations)("%s %s", (c, role, check) => check(get(c, role)));

  it("a multi-message AXFR from knotd: SOA first and last across messages, TSIG on every message", () => {
    const messages = fixtures.filter((f) => f.case === "kdig-axfr-multi-tsig" && f.role === "answer").map((f) => decodeMessage(f.wire));
    expect(messages.length).toBeGreaterThan(1);
    const records = messages.flatMap((m) => m.answers);
    expect(records[0]!.type).toBe(RRType.SOA);
    expect(records.at(-1)!.type).toBe(RRType.SOA);
    expect(records.filter((r) => r.type === RRType.SOA)).toHaveLength(2);
    // The zone of capture.ts: SOA, NS, ns A, 1500 host A records, then the SOA again (RFC 5936 §2.2).
    expect(records).toHaveLength(1504);
    expect(messages.every((m) => m.tsig?.record.name.toString() === "capture-key.")).toBe(true);
    expect(messages[0]!.questions.map((q) => [q.name.toString(), q.type])).toEqual([["large.example.", RRType.AXFR]]);
  });

  it("TSIG offset is where the TSIG record starts, and ARCOUNT includes it", () => {
    for (const f of fixtures) {
      const m = decodeMessage(f.wire);
      if (m.tsig === undefined) continue;
      const name = m.tsig.record.name.toWire();
      expect(hex(f.wire.subarray(m.tsig.offset, m.tsig.offset + name.length))).toBe(hex(name));
      expect(m.tsig.offset + name.length + 10 + m.tsig.record.rdata.length).toBe(f.wire.length);
    }
  });
});

/** A hand-built message: header, then raw section octets. */
function raw(counts: [qd: number, an: number, ns: number, ar: number], ...parts: Array<number[] | Uint8Array>): Uint8Array {
  const out = [0x12, 0x34, 0x01, 0x00, 0, counts[0], 0, counts[1], 0, counts[2], 0, counts[3]];
  for (const p of parts) out.push(...p);
  return Uint8Array.from(out);
}
const name = (t: string) => [...n(t).toWire()];
const q = (t: string, type = 1) => [...name(t), 0, type, 0, 1];
const rr = (owner: number[], type: number, cls: number, rdata: number[], rdlength = rdata.length) => [
  ...owner, type >> 8, type & 0xff, cls >> 8, cls & 0xff, 0, 0, 0x0e, 0x10, rdlength >> 8, rdlength & 0xff, ...rdata,
];
const optRR = (owner = [0]) => rr(owner, RRType.OPT, 1232, []);
const tsigRR = () => rr(name("key."), RRType.TSIG, RRClass.ANY, [...name("hmac-sha256."), 0, 0, 0, 0, 0, 1, 1, 0x2c, 0, 0, 0x12, 0x34, 0, 0, 0, 0]);

describe("decodeMessage bad input", () => {
  const mx = (pref: number[], rest: number[]) => [...pref, ...rest];
  const cases: Array<[label: string, wire: Uint8Array, code: WireError["code"]]> = [
    ["empty", new Uint8Array(0), "truncated"],
    ["header cut short", Uint8Array.from([0x12, 0x34, 0x01]), "truncated"],
    ["question count with no question", raw([1, 0, 0, 0]), "inconsistent"],
    ["counts far beyond the data", raw([0, 0xff, 0, 0], q("a.")), "inconsistent"],
    ["question cut inside the type", raw([1, 0, 0, 0], name("example."), [0]), "truncated"],
    ["RR cut inside RDATA", raw([0, 1, 0, 0], rr([0], RRType.A, 1, [1, 2, 3, 4], 8)), "truncated"],
    ["octets after the last record", raw([1, 0, 0, 0], q("a."), [0, 0]), "trailing-data"],
    ["MX RDLENGTH longer than its layout", raw([0, 1, 0, 0], rr([0], RRType.MX, 1, mx([0, 10], [...name("mx."), 0xff]))), "trailing-data"],
    ["MX RDLENGTH shorter than its name", raw([0, 1, 0, 0], rr([0], RRType.MX, 1, mx([0, 10], name("mx.").slice(0, 3))), [0, 0, 0]), "truncated"],
    ["SOA without its 20 octets of numbers", raw([0, 1, 0, 0], rr([0], RRType.SOA, 1, [...name("a."), ...name("b."), 0, 0, 0, 1])), "truncated"],
    ["NAPTR string running past RDLENGTH", raw([0, 1, 0, 0], rr([0], RRType.NAPTR, 1, [0, 1, 0, 1, 5, 0x61])), "truncated"],
    ["pointer forward from the question", raw([1, 0, 0, 0], [0xc0, 0x11, 0, 1, 0, 1]), "bad-pointer"],
    ["pointer into itself in RDATA", raw([0, 1, 0, 0], rr([0], RRType.NS, 1, [0xc0, 23])), "bad-pointer"],
    ["reserved label type", raw([1, 0, 0, 0], [0x80, 0, 0, 1, 0, 1]), "bad-label-type"],
    ["OPT in the answer section", raw([0, 1, 0, 0], optRR()), "bad-opt"],
    ["OPT in the authority section", raw([0, 0, 1, 0], optRR()), "bad-opt"],
    ["two OPT records", raw([0, 0, 0, 2], optRR(), optRR()), "bad-opt"],
    ["OPT not owned by the root", raw([0, 0, 0, 1], optRR(name("example."))), "bad-opt"],
    ["OPT option overrunning the RDATA", raw([0, 0, 0, 1], rr([0], RRType.OPT, 1232, [0, 3, 0, 9, 1])), "truncated"],
    ["OPT option header cut short", raw([0, 0, 0, 1], rr([0], RRType.OPT, 1232, [0, 3, 0])), "truncated"],
    ["TSIG in the answer section", raw([0, 1, 0, 0], tsigRR()), "bad-tsig"],
    ["TSIG before another additional", raw([0, 0, 0, 2], tsigRR(), optRR()), "bad-tsig"],
  ];
  it.each(cases)("%s → %s", (_label, wire, code) => {
    let caught: unknown;
    try {
      decodeMessage(wire);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(WireError);
    expect((caught as WireError).code).toBe(code);
  });

  it("accepts the well-formed neighbours of those cases", () => {
    const m = decodeMessage(raw([1, 1, 0, 2], q("a."), rr(name("a."), RRType.MX, 1, [0, 10, 0xc0, 12]), optRR(), tsigRR()));
    expect(hex(m.answers[0]!.rdata)).toBe(hex(Uint8Array.from([0, 10, ...name("a.")])));
    expect(m.edns?.udpPayloadSize).toBe(1232);
    expect(m.tsig?.record.name.toString()).toBe("key.");
  });
});

function message(over: Partial<Message> = {}): Message {
  return {
    id: 0xbeef,
    opcode: Opcode.QUERY,
    flags: { ...noFlags(), qr: true, aa: true },
    rcode: Rcode.NOERROR,
    questions: [{ name: n("example.com."), type: RRType.TXT, class: RRClass.IN }],
    answers: [],
    authorities: [],
    additionals: [],
    ...over,
  };
}
const txt = (owner: string, s: string): ResourceRecord => {
  const bytes = text.encode(s);
  return { name: n(owner), type: RRType.TXT, class: RRClass.IN, ttl: 300, rdata: Uint8Array.from([bytes.length, ...bytes]) };
};
const aRR = (owner: string, last: number): ResourceRecord => ({
  name: n(owner), type: RRType.A, class: RRClass.IN, ttl: 300, rdata: Uint8Array.from([192, 0, 2, last]),
});
const edns0: Edns = { udpPayloadSize: 1232, extendedRcode: 0, version: 0, dnssecOk: false, flags: 0, options: [] };

describe("encodeMessage", () => {
  it("hands each message its own octets: encoding the next one (through the shared scratch) leaves it alone", () => {
    const a = encodeMessage(message({ id: 1, answers: [{ name: n("a.example.com."), type: RRType.A, class: 1, ttl: 60, rdata: Uint8Array.of(192, 0, 2, 1) }], edns: edns0 }));
    const before = hex(a.wire);
    const b = encodeMessage(message({ id: 2, answers: [{ name: n("bb.example.net."), type: RRType.TXT, class: 1, ttl: 9, rdata: Uint8Array.of(3, 0x78, 0x79, 0x7a) }] }));
    expect(hex(a.wire)).toBe(before);
    expect(a.wire.buffer).not.toBe(b.wire.buffer);
    expect(decodeMessage(a.wire).answers[0]!.name.toString()).toBe("a.example.com.");
    expect(decodeMessage(b.wire).id).toBe(2);
    // A cut message keeps its TC bit (set on the copy, after the body was written).
    const big = Array.from({ length: 40 }, (_, i) => ({ name: n(`h${i}.example.com.`), type: RRType.TXT, class: 1, ttl: 1, rdata: new Uint8Array(40).fill(1) }));
    const cut = encodeMessage(message({ answers: big }), { maxSize: 512 });
    expect(cut.truncated).toBe(true);
    expect(decodeMessage(cut.wire).flags.tc).toBe(true);
    expect(cut.wire.length).toBeLessThanOrEqual(512);
  });

  it("writes the same octets whatever it wrote before (one writer, reset per message), and into the array `allocate` gives", () => {
    const messages = fixtures.map((f) => decodeMessage(f.wire));
    const big = message({ answers: Array.from({ length: 400 }, (_, i) => aRR(`h${i}.x${i % 7}.example.com.`, i & 0xff)), edns: edns0 });
    const forward = messages.map((m) => hex(encodeMessage(m).wire));
    // In the other order, each after a message cut short (rollback) and one past 24 compression targets.
    const backward = [...messages].reverse().map((m) => {
      encodeMessage(big, { maxSize: 700 });
      encodeMessage(big);
      return hex(encodeMessage(m).wire);
    }).reverse();
    expect(backward).toEqual(forward);
    const slab = new Slab();
    const into = messages.map((m) => encodeMessage(m, { allocate: (length) => slab.take(length) }).wire);
    expect(into.map(hex)).toEqual(forward);
    // Views of the slab, but for messages over a quarter of one (an AXFR's), which get a buffer of their own.
    expect(into.every((w) => ownsBuffer(w) === w.length > SLAB_SIZE / 4)).toBe(true);
  });

  it("compresses names inside RFC 1035 RDATA only (RFC 3597 §4)", () => {
    const target = n("host.example.com.");
    const mx: ResourceRecord = { name: n("example.com."), type: RRType.MX, class: 1, ttl: 1, rdata: Uint8Array.from([0, 5, ...target.toWire()]) };
    const srv: ResourceRecord = { name: n("example.com."), type: RRType.SRV, class: 1, ttl: 1, rdata: Uint8Array.from([0, 0, 0, 0, 0, 53, ...target.toWire()]) };
    const { wire } = encodeMessage(message({ answers: [mx, srv] }));
    // The SRV RDATA appears in full, uncompressed; the MX RDATA does not (its name is a pointer).
    expect(hex(wire)).toContain(hex(srv.rdata));
    expect(hex(wire)).not.toContain(hex(mx.rdata));
    expect(hex(decodeMessage(wire).answers[0]!.rdata)).toBe(hex(mx.rdata));
  });

  it("keeps every opcode and every header rcode", () => {
    for (let opcode = 0; opcode < 16; opcode++) {
      for (let rcode = 0; rcode < 16; rcode++) {
        const m = decodeMessage(encodeMessage(message({ opcode, rcode })).wire);
        expect([m.opcode, m.rcode]).toEqual([opcode, rcode]);
      }
    }
  });

  it("carries a 12-bit rcode in header and OPT, and refuses one without an OPT", () => {
    for (const rcode of [Rcode.BADVERS, Rcode.BADCOOKIE, 0xfff]) {
      const m = decodeMessage(encodeMessage(message({ rcode, edns: edns0 })).wire);
      expect([m.rcode, m.edns?.extendedRcode]).toEqual([rcode, rcode >> 4]);
    }
    expect(() => encodeMessage(message({ rcode: Rcode.BADVERS }))).toThrowError(RangeError);
    expect(() => encodeMessage(message({ rcode: 0x1000, edns: edns0 }))).toThrowError(RangeError);
  });

  it("fits exactly: the message whose size equals maxSize is not truncated", () => {
    const full = encodeMessage(message({ answers: [txt("example.com.", "a"), txt("example.com.", "b")], edns: edns0 }));
    const again = encodeMessage(message({ answers: [txt("example.com.", "a"), txt("example.com.", "b")], edns: edns0 }), { maxSize: full.wire.length });
    expect(again.truncated).toBe(false);
    expect(hex(again.wire)).toBe(hex(full.wire));
  });

  // RFC 2181 §9 truncation: [what, answers, authorities, additionals, maxSize, expected counts, TC].
  const big = (owner: string, count: number, size = 100) =>
    Array.from({ length: count }, (_, i) => txt(owner, `${i}`.padEnd(size, "x")));
  const truncation: Array<[label: string, m: Message, maxSize: number, counts: [number, number, number], tc: boolean, dropped: number]> = [
    ["everything fits", message({ answers: big("example.com.", 3), additionals: [aRR("ns.example.com.", 1)] }), 512, [3, 0, 1], false, 0],
    ["answer RRset too large: dropped whole, TC", message({ answers: big("example.com.", 10) }), 512, [0, 0, 0], true, 0],
    ["second answer RRset does not fit: first kept", message({ answers: [...big("a.example.com.", 2), ...big("b.example.com.", 4)] }), 512, [2, 0, 0], true, 0],
    ["authority does not fit: answers kept, additionals dropped, TC", message({
      answers: big("a.example.com.", 2), authorities: big("example.com.", 3), additionals: [aRR("ns.example.com.", 1)],
    }), 512, [2, 0, 0], true, 1],
    ["additional does not fit: dropped without TC", message({
      answers: big("a.example.com.", 3), additionals: [aRR("ns.example.com.", 1), ...big("ns.example.com.", 1, 200)],
    }), 512, [3, 0, 1], false, 1],
  ];
  it.each(truncation)("%s", (_label, m, maxSize, [an, ns, ar], tc, dropped) => {
    for (const edns of [undefined, { ...edns0, options: [{ code: EdnsOptionCode.NSID, data: text.encode("backstop") }] }]) {
      const withEdns: Message = edns === undefined ? m : { ...m, edns };
      const res = encodeMessage(withEdns, { maxSize });
      expect(res.wire.length).toBeLessThanOrEqual(maxSize);
      expect(res.truncated).toBe(tc);
      expect(res.additionalsDropped).toBe(dropped);
      const back = decodeMessage(res.wire);
      expect(back.flags.tc).toBe(tc);
      expect([back.answers.length, back.authorities.length, back.additionals.length]).toEqual([an, ns, ar]);
      // The OPT is never the casualty (RFC 6891 §7: a responder must keep it).
      expect(back.edns?.options).toEqual(edns?.options);
      expect(back.questions).toHaveLength(1);
    }
  });

  it("keeps the TSIG record as the last additional when truncating", () => {
    const tsig = decodeMessage(raw([0, 0, 0, 1], tsigRR())).tsig!;
    const res = encodeMessage(message({ answers: big("example.com.", 10), edns: edns0, tsig }), { maxSize: 512 });
    expect(res.truncated).toBe(true);
    const back = decodeMessage(res.wire);
    expect(back.tsig?.record.name.toString()).toBe("key.");
    expect(back.tsig!.offset).toBe(res.wire.length - tsig.record.name.wireLength - 10 - tsig.record.rdata.length);
  });

  it("raises typed errors for what cannot be written", () => {
    expect(() => encodeMessage(message(), { maxSize: 11 })).toThrowError(WireOverflow);
    expect(() => encodeMessage(message({ id: 0x10000 }))).toThrowError(RangeError);
    expect(() => encodeMessage(message({ answers: [{ ...aRR("a.", 1), ttl: -1 }] }))).toThrowError(RangeError);
    expect(() => encodeMessage(message({ answers: [{ ...aRR("a.", 1), rdata: new Uint8Array(0x10000) }] }))).toThrowError(RangeError);
    expect(() => encodeMessage(message({ additionals: [{ ...aRR(".", 1), type: RRType.OPT }] }))).toThrowError(/Message.edns/);
    expect(() => encodeMessage(message({ answers: [{ ...aRR("key.", 1), type: RRType.TSIG }] }))).toThrowError(/Message.tsig/);
  });

  it("never writes more than 65535 octets, whatever maxSize says", () => {
    const res = encodeMessage(message({ answers: big("example.com.", 700) }), { maxSize: 1_000_000 });
    expect(res.truncated).toBe(true);
    expect(res.wire.length).toBeLessThanOrEqual(0xffff);
  });

  it("writes RDATA that does not follow its layout as-is", () => {
    // An MX whose stored RDATA holds a pointer (not the uncompressed form): copied, never reinterpreted.
    const odd: ResourceRecord = { name: n("example.com."), type: RRType.MX, class: 1, ttl: 1, rdata: Uint8Array.from([0, 1, 0xc0, 0x0c]) };
    const wire = encodeMessage(message({ answers: [odd] })).wire;
    expect(hex(wire.subarray(-6))).toBe("00040001c00c");
  });
});

describe("encode/decode round trip of arbitrary messages (fast-check, fixed seed)", () => {
  // Labels from a tiny alphabet with both cases, a dot and a zero octet, so that suffixes are shared often
  // and differ only in case often: the cases where compression could change what a name reads back as.
  const label = fc.array(fc.constantFrom(0x61, 0x41, 0x62, 0x42, 0x2e, 0x00), { minLength: 1, maxLength: 3 }).map((b) => Uint8Array.from(b));
  const nameArb = fc.array(label, { maxLength: 4 }).map((labels) => Name.fromLabels(labels));
  const rdataArb: fc.Arbitrary<[number, Uint8Array]> = fc.oneof(
    nameArb.map((x): [number, Uint8Array] => [RRType.NS, x.toWire()]),
    nameArb.map((x): [number, Uint8Array] => [RRType.CNAME, x.toWire()]),
    fc.tuple(nameArb, nameArb).map(([a, b]): [number, Uint8Array] => [RRType.SOA, Uint8Array.from([...a.toWire(), ...b.toWire(), ...new Uint8Array(20).fill(9)])]),
    nameArb.map((x): [number, Uint8Array] => [RRType.MX, Uint8Array.from([0, 1, ...x.toWire()])]),
    nameArb.map((x): [number, Uint8Array] => [RRType.SRV, Uint8Array.from([0, 1, 0, 2, 0, 3, ...x.toWire()])]),
    fc.tuple(nameArb, nameArb).map(([a, b]): [number, Uint8Array] => [RRType.RP, Uint8Array.from([...a.toWire(), ...b.toWire()])]),
    fc.uint8Array({ maxLength: 12 }).map((b): [number, Uint8Array] => [RRType.NULL, b]),
  );
  const rrArb = fc.tuple(nameArb, rdataArb, fc.nat({ max: 0xffffffff })).map(([owner, [type, rdata], ttl]): ResourceRecord => ({ name: owner, type, class: RRClass.IN, ttl, rdata }));
  const messageArb = fc.record({
    id: fc.nat({ max: 0xffff }),
    opcode: fc.nat({ max: 15 }),
    rcode: fc.nat({ max: 15 }),
    q: nameArb,
    answers: fc.array(rrArb, { maxLength: 6 }),
    authorities: fc.array(rrArb, { maxLength: 3 }),
    additionals: fc.array(rrArb, { maxLength: 3 }),
    dnssecOk: fc.option(fc.boolean()),
  }).map((r): Message => message({
    id: r.id, opcode: r.opcode, rcode: r.rcode, questions: [{ name: r.q, type: RRType.ANY, class: RRClass.IN }],
    answers: r.answers, authorities: r.authorities, additionals: r.additionals,
    ...(r.dnssecOk === null ? {} : { edns: { ...edns0, dnssecOk: r.dnssecOk } }),
  }));

  it("reads back every octet of every name, compressed or not", () => {
    fc.assert(
      fc.property(messageArb, (m) => {
        const compressed = encodeMessage(m);
        const flat = encodeMessage(m, { compress: false });
        expect(compressed.truncated || flat.truncated).toBe(false);
        expect(compressed.wire.length).toBeLessThanOrEqual(flat.wire.length);
        expect(plain(decodeMessage(compressed.wire))).toEqual(plain(m));
        expect(plain(decodeMessage(flat.wire))).toEqual(plain(m));
      }),
      { seed: 4343, numRuns: 400 },
    );
  });
});
