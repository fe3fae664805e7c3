/**
 * Message-level rules of the engine: bad input of every kind gets the right rcode (never an exception),
 * opcodes and classes, EDNS0 (echo, DO, BADVERS, payload clamp to 1232), and truncation by transport.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Rcode, RRType } from "../dns/constants.ts";
import { EdnsOptionCode, extendedErrors } from "../dns/edns.ts";
import { expireFromAnswer, expireRequest } from "../dns/edns-expire.ts";
import { decodeMessage, encodeMessage } from "../dns/message.ts";
import { webCryptoHmac } from "../dns/tsig/hmac.ts";
import { prepareTsigKey } from "../dns/tsig/key.ts";
import { findTsig } from "../dns/tsig/record.ts";
import { signRequest } from "../dns/tsig/sign.ts";
import { answerQuery, NotDnsMessage, type QueryContext } from "./engine.ts";
import { storeOf } from "./testing/load-zone.ts";
import { actual, expected, queryWire, run, type Row } from "./testing/table.ts";

const txt = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${prefix} IN TXT "${String(i).padStart(3, "0")} ${"x".repeat(44)}"`).join("\n");

const store = storeOf({
  apex: "example.org.",
  text: `
$ORIGIN example.org.
@      IN SOA ns1 hostmaster 1 7200 3600 1209600 300
@      IN NS  ns1
ns1    IN A   192.0.2.1
www    IN A   192.0.2.80
${txt("medium", 12)}
${txt("big", 40)}
`,
});

const TCP: QueryContext = { transport: "tcp", client: { admin: false }, now: 0 };
const UDP: QueryContext = { ...TCP, transport: "udp" };

/** A well-formed query's wire with header fields patched. */
function patched(patch: { flags?: number; qdcount?: number; id?: number }, qname = "www.example.org.", qtype = "A"): Uint8Array {
  const wire = queryWire(qname, qtype, { edns: false, id: 0xbeef });
  const view = new DataView(wire.buffer, wire.byteOffset);
  if (patch.flags !== undefined) view.setUint16(2, patch.flags);
  if (patch.qdcount !== undefined) view.setUint16(4, patch.qdcount);
  return wire;
}

async function answer(wire: Uint8Array, ctx: QueryContext = TCP) {
  const out = await answerQuery(store, wire, ctx);
  return decodeMessage(out.wire);
}

describe("bad input", () => {
  const cases: Array<{ why: string; wire: () => Uint8Array; rcode: number; id?: number }> = [
    { why: "QDCOUNT 0", wire: () => patched({ qdcount: 0 }).subarray(0, 12), rcode: Rcode.FORMERR, id: 0xbeef },
    {
      why: "QDCOUNT 2",
      wire: () => {
        const one = patched({});
        const q = one.subarray(12);
        const two = new Uint8Array(12 + 2 * q.length);
        two.set(one.subarray(0, 12));
        two.set(q, 12);
        two.set(q, 12 + q.length);
        new DataView(two.buffer).setUint16(4, 2);
        return two;
      },
      rcode: Rcode.FORMERR,
      id: 0xbeef,
    },
    { why: "a response (QR=1)", wire: () => patched({ flags: 0x8000 }), rcode: Rcode.FORMERR, id: 0xbeef },
    { why: "opcode IQUERY", wire: () => patched({ flags: 1 << 11 }), rcode: Rcode.NOTIMP },
    { why: "opcode STATUS", wire: () => patched({ flags: 2 << 11 }), rcode: Rcode.NOTIMP },
    { why: "opcode NOTIFY", wire: () => patched({ flags: 4 << 11 }), rcode: Rcode.NOTIMP },
    { why: "opcode UPDATE", wire: () => patched({ flags: 5 << 11 }), rcode: Rcode.NOTIMP },
    { why: "opcode 15 (unassigned)", wire: () => patched({ flags: 15 << 11 }), rcode: Rcode.NOTIMP },
    { why: "cut inside the question", wire: () => patched({}).subarray(0, 20), rcode: Rcode.FORMERR, id: 0xbeef },
    { why: "cut before QCLASS", wire: () => patched({}).subarray(0, patched({}).length - 1), rcode: Rcode.FORMERR },
    { why: "trailing octets", wire: () => Uint8Array.from([...patched({}), 0, 0]), rcode: Rcode.FORMERR },
    { why: "class CH", wire: () => queryWire("version.bind.", "TXT", { qclass: 3 }), rcode: Rcode.REFUSED },
    { why: "class ANY", wire: () => queryWire("www.example.org.", "A", { qclass: 255 }), rcode: Rcode.REFUSED },
    { why: "class NONE", wire: () => queryWire("www.example.org.", "A", { qclass: 254 }), rcode: Rcode.REFUSED },
    { why: "QTYPE AXFR (transfers are served elsewhere)", wire: () => queryWire("example.org.", "AXFR"), rcode: Rcode.REFUSED },
    { why: "QTYPE IXFR", wire: () => queryWire("example.org.", "IXFR"), rcode: Rcode.REFUSED },
    { why: "QTYPE OPT", wire: () => queryWire("example.org.", "OPT"), rcode: Rcode.FORMERR },
    { why: "QTYPE TSIG", wire: () => queryWire("example.org.", "TSIG"), rcode: Rcode.FORMERR },
    { why: "QTYPE MAILB", wire: () => queryWire("example.org.", "MAILB"), rcode: Rcode.NOTIMP },
    { why: "EDNS version 1: BADVERS", wire: () => queryWire("www.example.org.", "A", { edns: { version: 1 } }), rcode: Rcode.BADVERS },
  ];
  it.each(cases)("$why", async ({ wire, rcode, id }) => {
    const response = await answer(wire());
    expect(response.rcode).toBe(rcode);
    expect(response.flags.qr).toBe(true);
    expect(response.flags.aa).toBe(false);
    expect(response.answers).toEqual([]);
    if (id !== undefined) expect(response.id).toBe(id);
  });

  it.each([0, 1, 5, 11])("%i octets is not a DNS message", async (n) => {
    await expect(answerQuery(store, new Uint8Array(n), TCP)).rejects.toBeInstanceOf(NotDnsMessage);
  });

  it("random octets never crash the engine", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 12, maxLength: 300 }), fc.constantFrom(TCP, UDP), async (bytes, ctx) => {
        const out = await answerQuery(store, bytes, ctx);
        const response = decodeMessage(out.wire);
        expect(response.flags.qr).toBe(true);
        expect(response.id).toBe((bytes[0]! << 8) | bytes[1]!);
        if (ctx.transport === "udp") expect(out.wire.length).toBeLessThanOrEqual(1232);
      }),
      { numRuns: 300 },
    );
  });
});

describe("TSIG (RFC 8945)", () => {
  it("a signed query gets NOTAUTH with an unsigned BADKEY TSIG record, never an answer", async () => {
    const key = await prepareTsigKey({ name: "some.key.", algorithm: "hmac-sha256", secret: "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0" }, webCryptoHmac);
    const signed = await signRequest(queryWire("www.example.org.", "A"), key);
    const response = await answer(signed.message);
    expect(response.rcode).toBe(Rcode.NOTAUTH);
    expect(response.answers).toEqual([]);
    expect(response.tsig).toBeDefined();
    const located = findTsig(encodeMessage(response).wire);
    expect(located?.record.error).toBe(Rcode.BADKEY);
    expect(located?.record.mac.length).toBe(0);
    expect(located?.record.keyName.toString()).toBe("some.key.");
  });
});

describe("EDNS0 (RFC 6891)", () => {
  it("echoes an OPT with our payload size, version 0, DO copied", async () => {
    const response = await answer(queryWire("www.example.org.", "A", { edns: { udpPayloadSize: 4096 }, dnssecOk: true }));
    expect(response.edns).toMatchObject({ udpPayloadSize: 1232, version: 0, dnssecOk: true });
  });
  it("sends no OPT to a query without one", async () => {
    expect((await answer(queryWire("www.example.org.", "A", { edns: false }))).edns).toBeUndefined();
  });
  it("BADVERS carries an OPT of version 0, DO copied, and the question (as knotd and named answer)", async () => {
    const response = await answer(queryWire("www.Example.org.", "A", { edns: { version: 3 }, dnssecOk: true }));
    expect(response.rcode).toBe(Rcode.BADVERS);
    expect(response.edns).toMatchObject({ version: 0, dnssecOk: true });
    expect(response.questions.map((q) => `${q.name} ${q.type}`)).toEqual(["www.Example.org. 1"]);
    expect(response.answers).toEqual([]);
  });

  it("FORMERR to QDCOUNT 0 or 2 with an OPT carries an OPT (RFC 6891 §7)", async () => {
    const one = queryWire("www.example.org.", "A", { id: 0xbeef });
    const opt = one.subarray(one.length - 11);
    const question = one.subarray(12, one.length - 11);
    for (const [qd, body] of [[0, []], [2, [...question, ...question]]] as const) {
      const wire = new Uint8Array([...one.subarray(0, 12), ...body, ...opt]);
      new DataView(wire.buffer).setUint16(4, qd);
      const response = await answer(wire);
      expect(response.rcode).toBe(Rcode.FORMERR);
      expect(response.edns).toBeDefined();
      expect(response.questions).toEqual([]);
    }
  });

  it.each([
    { why: "an option header cut short", rdata: [0, 10] },
    { why: "option data past the RDATA", rdata: [0, 10, 0, 8, 1, 2] },
  ])("$why: FORMERR with the question and no OPT (as knotd and named answer)", async ({ rdata }) => {
    const good = queryWire("www.example.org.", "A", { id: 0xbeef });
    const wire = new Uint8Array([...good, ...rdata]);
    wire[good.length - 1] = rdata.length;
    const response = await answer(wire);
    expect(response.rcode).toBe(Rcode.FORMERR);
    expect(response.id).toBe(0xbeef);
    expect(response.questions.map((q) => q.name.toString())).toEqual(["www.example.org."]);
    expect(response.edns).toBeUndefined();
  });
});

describe("opcodes other than QUERY (RFC 1035 §4.1.1, RFC 4035 §3.2.2)", () => {
  it.each([1, 2, 3, 5, 6, 15])("opcode %i with RD and CD: NOTIMP with RD and CD clear", async (opcode) => {
    const wire = queryWire("www.example.org.", "A");
    new DataView(wire.buffer).setUint16(2, (opcode << 11) | 0x0110);
    const response = await answer(wire);
    expect(response.rcode).toBe(Rcode.NOTIMP);
    expect(response.opcode).toBe(opcode);
    expect(response.flags).toMatchObject({ qr: true, rd: false, cd: false, aa: false });
    expect(response.edns).toBeDefined();
  });

  it("a QUERY keeps RD and CD", async () => {
    const wire = queryWire("www.example.org.", "A");
    new DataView(wire.buffer).setUint16(2, 0x0110);
    expect((await answer(wire)).flags).toMatchObject({ rd: true, cd: true });
  });
});

describe("Extended DNS Errors (RFC 8914), only to a query with an OPT", () => {
  const zones = storeOf(
    { apex: "example.org.", text: "$ORIGIN example.org.\n@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ IN NS ns1\nns1 IN A 192.0.2.1\n" },
    { apex: "expired.test.", expiresAt: 1000, text: "$ORIGIN expired.test.\n@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ IN NS ns1\nns1 IN A 192.0.2.1\n" },
    { apex: "unloaded.test.", version: null, text: "" },
    { apex: "hidden.test.", answerAllow: ["192.0.2.99/32"], text: "$ORIGIN hidden.test.\n@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ IN NS ns1\nns1 IN A 192.0.2.1\n" },
  );
  const ask = async (qname: string, edns = true) =>
    decodeMessage((await answerQuery(zones, queryWire(qname, "A", edns ? {} : { edns: false }), { ...TCP, now: 2000, client: { address: "192.0.2.7", admin: false } })).wire);

  it.each([
    { why: "a name in none of our zones: REFUSED, EDE 20 Not Authoritative", qname: "www.elsewhere.example.", rcode: Rcode.REFUSED, ede: 20, text: "" },
    { why: "a hidden zone's name to a client not allowed: the same as none of our zones", qname: "ns1.hidden.test.", rcode: Rcode.REFUSED, ede: 20, text: "" },
    { why: "an expired zone: SERVFAIL, EDE 24 Invalid Data (§4.25)", qname: "ns1.expired.test.", rcode: Rcode.SERVFAIL, ede: 24, text: "zone expired" },
    { why: "a zone never loaded: SERVFAIL, EDE 24 Invalid Data", qname: "ns1.unloaded.test.", rcode: Rcode.SERVFAIL, ede: 24, text: "zone not loaded" },
  ])("$why", async ({ qname, rcode, ede, text }) => {
    const response = await ask(qname);
    expect(response.rcode).toBe(rcode);
    expect(extendedErrors(response.edns)).toEqual([{ infoCode: ede, extraText: text }]);
    const bare = await ask(qname, false);
    expect(bare.rcode).toBe(rcode);
    expect(bare.edns).toBeUndefined();
  });

  it("a hidden zone's refusal is the same octets as a name we do not host, but for the question", async () => {
    const wire = (qname: string) => answerQuery(zones, queryWire(qname, "A", { id: 7 }), { ...TCP, client: { address: "192.0.2.7", admin: false } });
    // Names of the same length, so the messages may differ only in the question's octets.
    const hidden = (await wire("www.hidden.test.")).wire;
    const elsewhere = (await wire("www.hiddex.test.")).wire;
    expect(hidden.length).toBe(elsewhere.length);
    const differing = Array.from(hidden.keys()).filter((i) => hidden[i] !== elsewhere[i]);
    expect(differing).toEqual([12 + 1 + 3 + 1 + 5]);
  });

  it("none on an answer", async () => {
    const response = await ask("ns1.example.org.");
    expect(response.rcode).toBe(Rcode.NOERROR);
    expect(response.edns?.options.some((o) => o.code === EdnsOptionCode.EXTENDED_ERROR)).toBe(false);
  });
});

describe("transport and truncation", () => {
  const rows: Row[] = [
    { why: "UDP without EDNS: 512 octets, TC", qname: "medium.example.org.", qtype: "TXT", transport: "udp", edns: false, rcode: "NOERROR", tc: true },
    { why: "UDP with EDNS 1232: the medium RRset fits", qname: "medium.example.org.", qtype: "TXT", transport: "udp", rcode: "NOERROR", tc: false },
    { why: "UDP asking 4096 is clamped to 1232: TC", qname: "big.example.org.", qtype: "TXT", transport: "udp", edns: { udpPayloadSize: 4096 }, rcode: "NOERROR", tc: true },
    { why: "UDP asking 100 is raised to 512", qname: "www.example.org.", qtype: "A", transport: "udp", edns: { udpPayloadSize: 100 }, rcode: "NOERROR", tc: false, answer: ["www.example.org. 3600 A 192.0.2.80"] },
  ];
  it.each(rows)("$why", async (row) => {
    const got = await run(store, row);
    expect(actual(row, got)).toEqual(expected({ ...row, answer: row.answer ?? got.answer }));
  });

  it("a truncated UDP answer drops the whole RRset and stays under the limit", async () => {
    const out = await answerQuery(store, queryWire("big.example.org.", "TXT", { edns: { udpPayloadSize: 4096 } }), UDP);
    const response = decodeMessage(out.wire);
    expect(out.wire.length).toBeLessThanOrEqual(1232);
    expect(response.flags.tc).toBe(true);
    expect(response.answers).toEqual([]);
    expect(response.edns).toBeDefined();
  });

  it("TCP carries the whole RRset", async () => {
    const response = await answer(queryWire("big.example.org.", "TXT"));
    expect(response.flags.tc).toBe(false);
    expect(response.answers.filter((r) => r.type === RRType.TXT)).toHaveLength(40);
  });

  it("the port-53 front's UDP limit caps the negotiated size", async () => {
    const out = await answerQuery(store, queryWire("medium.example.org.", "TXT"), { ...UDP, udpLimit: 512 });
    expect(decodeMessage(out.wire).flags.tc).toBe(true);
    expect(out.wire.length).toBeLessThanOrEqual(512);
  });
});

describe("the EDNS EXPIRE option (RFC 7314 §3, issue 21)", () => {
  const NOW = 1_800_000_000_000;
  const zoneText = (apex: string) => `
$ORIGIN ${apex}
@      IN SOA ns1 hostmaster 1 7200 3600 1209600 300
@      IN NS  ns1
ns1    IN A   192.0.2.1
`;
  const zones = storeOf(
    // A secondary with 3,600.5 s left, a primary (never expires: its SOA EXPIRE), a hidden zone.
    { apex: "secondary.test.", text: zoneText("secondary.test."), expiresAt: NOW + 3_600_500 },
    { apex: "primary.test.", text: zoneText("primary.test."), model: "primary" },
    { apex: "hidden.test.", text: zoneText("hidden.test."), model: "hidden", answerAllow: ["192.0.2.0/24"], expiresAt: NOW + 60_000 },
  );
  const asking = (qname: string, qtype = "SOA") => queryWire(qname, qtype, { edns: { options: [expireRequest()] } });
  const ask = async (wire: Uint8Array, ctx: Partial<QueryContext> = {}) =>
    decodeMessage((await answerQuery(zones, wire, { ...TCP, now: NOW, client: { address: "198.51.100.7", admin: false }, ...ctx })).wire);

  it("a secondary zone answers the whole seconds left, and the value counts down", async () => {
    expect(expireFromAnswer((await ask(asking("secondary.test."))).edns)).toBe(3_600);
    expect(expireFromAnswer((await ask(asking("secondary.test."), { now: NOW + 60_000 })).edns)).toBe(3_540);
  });

  it("a primary zone answers its SOA EXPIRE", async () => {
    const response = await ask(asking("primary.test."));
    expect(response.answers[0]?.type).toBe(RRType.SOA);
    expect(expireFromAnswer(response.edns)).toBe(1_209_600);
  });

  it("over UDP as over TCP", async () => {
    expect(expireFromAnswer((await ask(asking("primary.test."), { transport: "udp" })).edns)).toBe(1_209_600);
  });

  it("only when the query asked, and only for the SOA at a zone's apex", async () => {
    expect((await ask(queryWire("primary.test.", "SOA"))).edns?.options).toEqual([]);
    expect(expireFromAnswer((await ask(asking("ns1.primary.test.", "A"))).edns)).toBeUndefined();
    expect(expireFromAnswer((await ask(asking("primary.test.", "NS"))).edns)).toBeUndefined();
    // SOA at a name below the apex: NODATA with the SOA in the authority section, no option.
    expect(expireFromAnswer((await ask(asking("ns1.primary.test."))).edns)).toBeUndefined();
  });

  it("never for a hidden zone to a client outside answerAllow: the same REFUSED as a name we do not host", async () => {
    const hidden = await ask(asking("hidden.test."));
    const stranger = await ask(asking("nowhere.test."));
    expect(hidden.rcode).toBe(Rcode.REFUSED);
    expect(expireFromAnswer(hidden.edns)).toBeUndefined();
    expect(hidden.edns?.options).toEqual(stranger.edns?.options);
    // Inside answerAllow it answers like any secondary.
    expect(expireFromAnswer((await ask(asking("hidden.test."), { client: { address: "192.0.2.9", admin: false } })).edns)).toBe(60);
  });

  it("an expired zone is SERVFAIL without the option", async () => {
    const response = await ask(asking("secondary.test."), { now: NOW + 3_601_000 });
    expect(response.rcode).toBe(Rcode.SERVFAIL);
    expect(expireFromAnswer(response.edns)).toBeUndefined();
  });
});

describe("the array the response is encoded into", () => {
  it("is the one `allocate` gives (the front's slab), with the same octets as a fresh one", async () => {
    const wire = queryWire("www.example.org.", "A", { edns: false, id: 7 });
    const fresh = (await answerQuery(store, wire, UDP)).wire;
    const given: Uint8Array[] = [];
    const shared = new ArrayBuffer(4096);
    const allocate = (length: number) => {
      const out = new Uint8Array(shared, 64 * given.length, length);
      given.push(out);
      return out;
    };
    const out = (await answerQuery(store, wire, { ...UDP, allocate })).wire;
    expect(given).toHaveLength(1);
    expect(out).toBe(given[0]);
    expect([...out]).toEqual([...fresh]);
  });
});
