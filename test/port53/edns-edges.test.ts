/**
 * @module The DNS wire's edge cases, differential: each odd query goes to a real knotd serving a zone and to
 * Backstop serving the same zone, through the port-53 front over UDP and TCP (the transfer-service in-process,
 * RRL off) and through the Worker's DoH (`wrangler dev`, workerd, local D1), and the answers must agree.
 *
 * Compared, field by field: the rcode (all 12 bits), the header flags (QR AA TC RD RA AD CD), whether an OPT
 * came back, the question section, the answer section, and the Extended DNS Error INFO-CODEs. Not compared:
 * EDE EXTRA-TEXT and the NSID's content (each server names itself: knotd its host name, Backstop its
 * `BACKSTOP_NSID` or the Worker's `NSID` var), and the OPT's payload size (both offer 1232 today, but that
 * is a setting, not a rule).
 *
 * Where Backstop deliberately differs, the case says so and checks Backstop's side alone:
 * - QDCOUNT 2 with an OPT: knotd 3.2 drops the query and named 9.18 answers FORMERR without an OPT; Backstop
 *   answers FORMERR with an OPT, as RFC 6891 §7 asks of every response to a request that had one.
 * - a non-QUERY opcode with RD and CD set: knotd clears CD but copies RD; Backstop clears both, as named does
 *   (RD and CD are defined for QUERY only: RFC 1035 §4.1.1, RFC 4035 §3.2.2). RD is left out of that case's
 *   comparison.
 * - a zone that is configured but has no data (never loaded, or expired): SERVFAIL with EDE 24 "Invalid
 *   Data", as knotd answers for a zone whose file did not load; the peer harness only starts a knotd whose
 *   zones all load, so this case checks Backstop alone.
 *
 * Also: `dig +header-only` (QDCOUNT 0 with an OPT) gets FORMERR with an OPT and does not fall back to
 * "+noedns", and a malformed option is FORMERR even when the front's cache holds the question's answer.
 */
import { randomBytes } from "node:crypto";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Opcode } from "../../dns/constants.ts";
import { EdnsOptionCode, extendedErrors } from "../../dns/edns.ts";
import { decodeMessage, type Message } from "../../dns/message.ts";
import { rdataToText } from "../../dns/rdata/index.ts";
import { queryWire } from "../../dns/testing/query-wire.ts";
import { createLogger } from "../../transfer-service/ops/log.ts";
import type { RunningService } from "../../transfer-service/service.ts";
import { startKnotd } from "../peers/index.ts";
import { runTool } from "../peers/run-tool.ts";
import { freePorts } from "../peers/ports.ts";
import type { PeerHandle } from "../peers/types.ts";
import { startWranglerDev, type WranglerDev } from "../stack/wrangler-dev.ts";
import { createZone, loadZone, type StackTokens } from "../stack/zone-load.ts";
import { startFront } from "./front.ts";
import { udpExchange } from "../tsig/wire-client.ts";
import { FrameDecoder, frame } from "../../dns/wire/tcp-framing.ts";

const ADMIN = `admin-${randomBytes(12).toString("hex")}`;
const INTERNAL = `internal-${randomBytes(12).toString("hex")}`;
const FRONT_NSID = "front-edge";
const WORKER_NSID = "worker-edge";
const log = createLogger({ level: process.env.BACKSTOP_TEST_LOG ?? "silent" });

/**
 * How long one exchange may take: the front's first forwards wait on workerd, which a loaded one-core machine
 * (`npm run test:slow`) can make take seconds; within the front's own 20 s timeout.
 */
const WAIT_MS = 25_000;

const APEX = "edge.test.";
const ZONE = `$ORIGIN ${APEX}
$TTL 300
@    SOA ns1 hostmaster 1 7200 3600 1209600 300
@    NS  ns1
ns1  A   192.0.2.53
www  A   192.0.2.80
`;
/** Configured in Backstop, never given data: SERVFAIL. */
const EMPTY = "empty-edge.test.";

let knotd: PeerHandle | undefined;
let worker: WranglerDev | undefined;
let service: RunningService | undefined;
let stack: StackTokens;
let port: number;

beforeAll(async () => {
  [knotd, worker] = await Promise.all([
    startKnotd({ zones: [{ name: APEX, text: ZONE }] }),
    startWranglerDev({ adminToken: ADMIN, internalToken: INTERNAL, vars: { NSID: WORKER_NSID } }),
  ]);
  stack = { base: worker.base, admin: ADMIN, internal: INTERNAL };
  await loadZone(stack, APEX, ZONE);
  await createZone(stack, EMPTY);
  [port] = await freePorts(1);
  // RRL off and a long forward timeout (front.ts): hundreds of queries a second from 127.0.0.1, and no case
  // here is about the timer.
  service = await startFront(stack, log, { BACKSTOP_DNS_LISTEN: `127.0.0.1:${port}`, BACKSTOP_NSID: FRONT_NSID });
}, 180_000);

afterAll(async () => {
  await service?.stop();
  await worker?.stop();
  await knotd?.stop();
});

// ---- the queries ----

const NSID_OPTION = { code: EdnsOptionCode.NSID, data: new Uint8Array(0) };
const setWord = (wire: Uint8Array, at: number, value: number): Uint8Array => {
  const out = wire.slice();
  out[at] = value >> 8;
  out[at + 1] = value & 0xff;
  return out;
};
/** `www.edge.test. A` with an OPT (1232, DO clear). */
const plainQuery = (id: number): Uint8Array => queryWire(`www.${APEX}`, "A", { id });
const split = (q: Uint8Array) => ({ header: q.subarray(0, 12), question: q.subarray(12, q.length - 11), opt: q.subarray(q.length - 11) });

/** The OPT's RDATA replaced by option octets that overrun it (a cookie claiming 8 octets, holding 2). */
function malformedOption(id: number): Uint8Array {
  const q = plainQuery(id);
  const rdata = [0, EdnsOptionCode.COOKIE, 0, 8, 1, 2];
  return setWord(new Uint8Array([...q, ...rdata]), q.length - 2, rdata.length);
}
function questions(id: number, count: 0 | 2): Uint8Array {
  const { header, question, opt } = split(plainQuery(id));
  const body = count === 0 ? [] : [...question, ...question];
  return setWord(new Uint8Array([...header, ...body, ...opt]), 4, count);
}

interface Case {
  why: string;
  query: (id: number) => Uint8Array;
  /** Flags left out of the comparison with knotd (see the module comment). */
  ignoreFlags?: (keyof Message["flags"])[];
  /** Checked on every Backstop answer (front and DoH), beyond agreeing with knotd. */
  expect: (m: View) => void;
}

const CASES: Case[] = [
  {
    why: "EDNS version 1: BADVERS with the question and an OPT of version 0",
    query: (id) => queryWire(`www.${APEX}`, "A", { id, edns: { version: 1 }, dnssecOk: true }),
    expect: (m) => expect(m).toMatchObject({ rcode: 16, question: [`www.${APEX} A`], opt: { version: 0, dnssecOk: true } }),
  },
  {
    why: "a malformed EDNS option: FORMERR with the question, no OPT",
    query: malformedOption,
    expect: (m) => expect(m).toMatchObject({ rcode: 1, question: [`www.${APEX} A`], opt: undefined }),
  },
  {
    why: "QDCOUNT 0 with an OPT: FORMERR with an OPT",
    query: (id) => questions(id, 0),
    expect: (m) => expect(m).toMatchObject({ rcode: 1, question: [], opt: { version: 0 } }),
  },
  {
    why: "opcode STATUS with RD and CD: NOTIMP, RD and CD clear, an OPT",
    query: (id) => setWord(plainQuery(id), 2, (Opcode.STATUS << 11) | 0x0110),
    ignoreFlags: ["rd"],
    expect: (m) => expect(m).toMatchObject({ rcode: 4, flags: { rd: false, cd: false }, opt: { version: 0 } }),
  },
  {
    why: "an NSID request: the answer and the server's identity",
    query: (id) => queryWire(`www.${APEX}`, "A", { id, edns: { options: [NSID_OPTION] } }),
    expect: (m) => expect(m).toMatchObject({ rcode: 0, answers: [`www.${APEX} 300 A 192.0.2.80`] }),
  },
  {
    why: "a name outside our zones: REFUSED with EDE 20 Not Authoritative",
    query: (id) => queryWire("www.elsewhere.example.", "A", { id }),
    expect: (m) => expect(m).toMatchObject({ rcode: 5, ede: [20] }),
  },
];

// ---- what is compared ----

interface View {
  rcode: number;
  flags: Message["flags"];
  question: string[];
  answers: string[];
  opt: { version: number; dnssecOk: boolean } | undefined;
  ede: number[];
  nsid: string | undefined;
}

function view(wire: Uint8Array): View {
  const m = decodeMessage(wire);
  const nsid = m.edns?.options.find((o) => o.code === EdnsOptionCode.NSID);
  return {
    rcode: m.rcode,
    flags: m.flags,
    question: m.questions.map((q) => `${q.name.toString().toLowerCase()} ${q.type === 1 ? "A" : q.type}`),
    answers: m.answers.map((r) => `${r.name.toString().toLowerCase()} ${r.ttl} ${r.type === 1 ? "A" : r.type} ${rdataToText(r.type, r.rdata)}`),
    opt: m.edns && { version: m.edns.version, dnssecOk: m.edns.dnssecOk },
    ede: extendedErrors(m.edns).map((e) => e.infoCode),
    nsid: nsid && new TextDecoder().decode(nsid.data),
  };
}

/** The fields compared with knotd: everything but the NSID's content and the flags a case leaves out. */
function comparable(v: View, ignore: (keyof Message["flags"])[] = []): Omit<View, "nsid"> & { nsid: boolean } {
  const flags = { ...v.flags };
  for (const f of ignore) delete (flags as Partial<Message["flags"]>)[f];
  return { ...v, flags, nsid: v.nsid !== undefined };
}

/** One query over TCP (RFC 7766 framing); resolves with the first reply, bounded by `timeoutMs`. */
function tcpExchange(p: number, query: Uint8Array, timeoutMs = WAIT_MS): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port: p });
    const decoder = new FrameDecoder();
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no TCP answer from 127.0.0.1:${p} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on("connect", () => socket.write(frame(query)));
    socket.on("data", (data) => {
      const [reply] = decoder.push(new Uint8Array(data));
      if (reply === undefined) return;
      clearTimeout(timer);
      socket.destroy();
      resolve(reply);
    });
    socket.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

async function overDoh(wire: Uint8Array): Promise<Uint8Array> {
  const res = await fetch(`${stack.base}/dns-query`, { method: "POST", headers: { "content-type": "application/dns-message" }, body: new Uint8Array(wire) });
  expect(res.status).toBe(200);
  return new Uint8Array(await res.arrayBuffer());
}

describe("Backstop answers the wire's edge cases as knotd does", () => {
  it.each(CASES)("$why", async (c) => {
    const fromKnot = view(await udpExchange(knotd!.port, c.query(0x4b01), WAIT_MS));
    const front = view(await udpExchange(port, c.query(0x4b01), WAIT_MS));
    const doh = view(await overDoh(c.query(0x4b01)));
    expect(comparable(front, c.ignoreFlags), "port-53 front (UDP) vs knotd").toEqual(comparable(fromKnot, c.ignoreFlags));
    expect(comparable(doh, c.ignoreFlags), "Worker DoH vs knotd").toEqual(comparable(fromKnot, c.ignoreFlags));
    const knotTcp = view(await tcpExchange(knotd!.port, c.query(0x4b02)));
    const frontTcp = view(await tcpExchange(port, c.query(0x4b02)));
    expect(comparable(frontTcp, c.ignoreFlags), "port-53 front (TCP) vs knotd").toEqual(comparable(knotTcp, c.ignoreFlags));
    for (const m of [front, doh, frontTcp]) c.expect(m);
  });

  it("NSID names the server the client spoke to: the front's BACKSTOP_NSID (also from its cache), the Worker's NSID var over DoH", async () => {
    const asks = (id: number) => queryWire(`www.${APEX}`, "A", { id, edns: { options: [NSID_OPTION] } });
    // Twice through the front: the second answer comes from its response cache, which holds no identity.
    for (const id of [1, 2]) expect(view(await udpExchange(port, asks(id), WAIT_MS)).nsid).toBe(FRONT_NSID);
    expect(view(await udpExchange(port, plainQuery(3), WAIT_MS)).nsid).toBeUndefined();
    expect(view(await overDoh(asks(4))).nsid).toBe(WORKER_NSID);
    // knotd answers with its own identity (its host name by default): the feature both sides have.
    expect(view(await udpExchange(knotd!.port, asks(5), WAIT_MS)).nsid).toBeTruthy();
    // Real clients print it: the hex and the text of the front's identity.
    const hex = Buffer.from(FRONT_NSID).toString("hex").toUpperCase();
    for (const [tool, args] of [["dig", ["+nsid", "+norec", "+time=5", "+tries=1"]], ["kdig", ["+nsid", "+norec", "+time=5"]]] as const) {
      const res = await runTool(tool, [`@127.0.0.1`, "-p", String(port), ...args, `www.${APEX}`, "A"], { timeoutMs: 15_000 });
      expect(res.code, res.stdout + res.stderr).toBe(0);
      expect(res.stdout.toUpperCase().replace(/\s/g, "")).toContain(hex);
      expect(res.stdout).toContain(FRONT_NSID);
    }
  });

  it("QDCOUNT 2 with an OPT: FORMERR with an OPT (knotd drops it, named leaves the OPT out; RFC 6891 §7)", async () => {
    for (const wire of [await udpExchange(port, questions(0x4b02, 2), WAIT_MS), await overDoh(questions(0x4b02, 2))]) {
      expect(view(wire)).toMatchObject({ rcode: 1, question: [], opt: { version: 0 } });
    }
  });

  it("a malformed option is FORMERR even when the front's cache holds the question's answer", async () => {
    for (const id of [10, 11]) expect(view(await udpExchange(port, plainQuery(id), WAIT_MS)).rcode).toBe(0);
    expect(view(await udpExchange(port, malformedOption(12), WAIT_MS))).toMatchObject({ rcode: 1, opt: undefined });
  });

  it("a configured zone with no data: SERVFAIL with EDE 24 Invalid Data, only to a query with an OPT", async () => {
    const asks = (id: number, edns: boolean) => queryWire(`www.${EMPTY}`, "A", edns ? { id } : { id, edns: false });
    for (const wire of [await udpExchange(port, asks(20, true), WAIT_MS), await overDoh(asks(21, true))]) {
      expect(view(wire)).toMatchObject({ rcode: 2, ede: [24] });
    }
    expect(view(await udpExchange(port, asks(22, false), WAIT_MS))).toMatchObject({ rcode: 2, opt: undefined, ede: [] });
  });

  it("dig +header-only (QDCOUNT 0 with an OPT) gets FORMERR with an OPT and no +noedns retry, from knotd and from the front", async () => {
    for (const p of [knotd!.port, port]) {
      const res = await runTool("dig", [`@127.0.0.1`, "-p", String(p), "+header-only", "+norec", "+time=5", "+tries=1"], { timeoutMs: 15_000 });
      expect(res.code, res.stdout + res.stderr).toBe(0);
      expect(res.stdout).toMatch(/status: FORMERR/);
      expect(res.stdout).toContain("OPT PSEUDOSECTION");
      expect(res.stdout + res.stderr).not.toMatch(/noedns/i);
    }
  });
});
