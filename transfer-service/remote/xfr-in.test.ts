/**
 * @module The transfer client against a scripted primary: a loopback TCP server that answers with the
 * exact messages a case needs, for the faults no real primary produces on demand (an AXFR whose closing
 * SOA differs, a broken IXFR chain, records after the end, a stalled or truncated stream, limits).
 * Real primaries' good and bad answers are covered in test/transfer/; faults a real primary once caused
 * are replayed end to end in test/cases/ (PowerDNS's single newer SOA to an IXFR moved there).
 */
import { createServer, type Server, type Socket } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Opcode, Rcode, RRType } from "../../dns/constants.ts";
import { noFlags } from "../../dns/header.ts";
import { decodeMessage, encodeMessage, type Message, type ResourceRecord } from "../../dns/message.ts";
import { Name } from "../../dns/name.ts";
import { soa as soaCodec } from "../../dns/rdata/soa.ts";
import { FrameDecoder, frame } from "../../dns/wire/tcp-framing.ts";
import { TransferError } from "./transfer-error.ts";
import { transfer, type XfrLimits, type XfrResult, type XfrSink } from "./xfr-in.ts";
import { encodeRecordStream, parseRecordStream } from "../../contract/record-stream.ts";

const zone = Name.parse("scripted.test");

function soa(serial: number): ResourceRecord {
  const rdata = soaCodec.encode({
    mname: Name.parse("ns1.scripted.test"),
    rname: Name.parse("hostmaster.scripted.test"),
    serial,
    refresh: 3600,
    retry: 600,
    expire: 86400,
    minimum: 300,
  });
  return { name: zone, type: RRType.SOA, class: 1, ttl: 3600, rdata };
}

function a(label: string, last: number): ResourceRecord {
  return { name: Name.parse(`${label}.scripted.test`), type: RRType.A, class: 1, ttl: 300, rdata: new Uint8Array([10, 0, 0, last]) };
}

/** A reply to `query` carrying `answers`; `rcode` and `id` overridable for faults. */
function answer(query: Message, answers: ResourceRecord[], opts: { rcode?: number; id?: number } = {}): Uint8Array {
  const flags = noFlags();
  flags.qr = true;
  flags.aa = true;
  return encodeMessage({
    id: opts.id ?? query.id,
    opcode: Opcode.QUERY,
    flags,
    rcode: opts.rcode ?? Rcode.NOERROR,
    questions: query.questions,
    answers,
    authorities: [],
    additionals: [],
  }).wire;
}

/** What the scripted primary does once it has read the query. */
type Script = (query: Message, socket: Socket) => void;

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function scriptedPrimary(script: Script): Promise<number> {
  const server = createServer((socket) => {
    const decoder = new FrameDecoder();
    socket.on("error", () => undefined);
    socket.on("data", (d) => {
      for (const m of decoder.push(new Uint8Array(d))) script(decodeMessage(m), socket);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return (server.address() as { port: number }).port;
}

/**
 * When set, `send` cuts every message of three answers or more in two: the first two answers with the
 * question, the rest in a second message without it (RFC 5936 §2.2.1). A stream sink reads the answers of
 * every later message straight from the wire (`axfr-raw.ts`), so the split puts a case on that path.
 */
let splitting = false;

function split(m: Uint8Array): Uint8Array[] {
  const msg = decodeMessage(m);
  if (msg.answers.length < 3) return [m];
  const first = encodeMessage({ ...msg, answers: msg.answers.slice(0, 2) }).wire;
  const rest = encodeMessage({ ...msg, questions: [], answers: msg.answers.slice(2) }).wire;
  return [first, rest];
}

const send = (socket: Socket, ...messages: Uint8Array[]) => {
  for (const m of messages) for (const part of splitting ? split(m) : [m]) socket.write(frame(part));
};

class CountingSink implements XfrSink {
  events: string[] = [];
  count = 0;
  /** Every record handed over, as objects or parsed back from streams. */
  got: ResourceRecord[] = [];
  async beginFull() {
    this.events.push("full");
  }
  async beginIncremental() {
    this.events.push("incremental");
  }
  async beginChangeset() {
    this.events.push("changeset");
  }
  async beginAdditions() {
    this.events.push("additions");
  }
  async records(chunk: ResourceRecord[]) {
    this.count += chunk.length;
    this.got.push(...chunk);
  }
  async end() {
    this.events.push("end");
  }
}

/** A sink that takes a whole zone as record streams, as the Worker client does. */
class StreamSink extends CountingSink {
  streams: Uint8Array[] = [];
  readonly rawChunkBytes = 64;
  async rawRecords(stream: Uint8Array, records: number) {
    const parsed = parseRecordStream(stream);
    expect(parsed).toHaveLength(records);
    this.streams.push(stream);
    this.count += records;
    this.got.push(...parsed);
  }
}

/** The sink of a case: record objects, or streams; each message whole or split (`splitting`). */
type Mode = { sink: "objects" | "stream"; split: boolean };
const MODES: Mode[] = [
  { sink: "objects", split: false },
  { sink: "stream", split: false },
  { sink: "stream", split: true },
];
let mode: Mode = MODES[0]!;
const newSink = (): CountingSink => (mode.sink === "stream" ? new StreamSink() : new CountingSink());
const byMode = (name: string, body: () => void) =>
  describe.each(MODES)(`${name} ($sink, split $split)`, (m) => {
    beforeEach(() => {
      mode = m;
      splitting = m.split;
    });
    afterEach(() => {
      mode = MODES[0]!;
      splitting = false;
    });
    body();
  });

// Generous timers, so a loaded machine that starves the event loop for a moment (a timer can fire before
// the data that arrived meanwhile is read) never turns a test into a timeout; the two timeout tests set
// their own short ones.
const limits: XfrLimits = {
  connectTimeoutMs: 10_000,
  idleTimeoutMs: 5_000,
  totalTimeoutMs: 60_000,
  maxRecords: 1000,
  maxBytes: 1 << 20,
  chunkRecords: 10,
};

async function run(
  script: Script,
  opts: { kind?: "axfr" | "ixfr"; ours?: number; limits?: Partial<XfrLimits>; onFull?: () => void } = {},
): Promise<{ result?: XfrResult; error?: TransferError; sink: CountingSink }> {
  const port = await scriptedPrimary(script);
  const sink = newSink();
  if (opts.onFull) {
    const onFull = opts.onFull;
    const beginFull = sink.beginFull.bind(sink);
    sink.beginFull = async () => {
      await beginFull();
      onFull();
    };
  }
  try {
    const result = await transfer({
      kind: opts.kind ?? "axfr",
      zone,
      primary: { address: "127.0.0.1", port },
      currentSoa: opts.ours === undefined ? undefined : soa(opts.ours),
      sink,
      limits: { ...limits, ...opts.limits },
    });
    return { result, sink };
  } catch (err) {
    if (!(err instanceof TransferError)) throw err;
    return { error: err, sink };
  }
}

const body = Array.from({ length: 25 }, (_, i) => a(`h${i}`, i));

byMode("good replies", () => {
  it.each([
    {
      name: "AXFR in one message",
      kind: "axfr" as const,
      script: ((q, s) => send(s, answer(q, [soa(5), ...body, soa(5)]))) as Script,
      style: "axfr",
      events: ["full", "end"],
      records: 25,
    },
    {
      name: "AXFR over three messages, question only in the first",
      kind: "axfr" as const,
      script: ((q, s) => {
        const later = { ...q, questions: [] };
        send(s, answer(q, [soa(5), ...body.slice(0, 10)]), answer(later, body.slice(10, 20)), answer(later, [...body.slice(20), soa(5)]));
      }) as Script,
      style: "axfr",
      events: ["full", "end"],
      records: 25,
    },
    {
      name: "IXFR answered AXFR-style (RFC 1995 §4)",
      kind: "ixfr" as const,
      ours: 4,
      script: ((q, s) => send(s, answer(q, [soa(5), ...body, soa(5)]))) as Script,
      style: "axfr",
      events: ["full", "end"],
      records: 25,
    },
    {
      name: "IXFR with two changesets",
      kind: "ixfr" as const,
      ours: 3,
      script: ((q, s) => send(s, answer(q, [soa(5), soa(3), body[0]!, soa(4), body[1]!, soa(4), body[1]!, soa(5), body[2]!, body[3]!, soa(5)]))) as Script,
      style: "ixfr",
      events: ["incremental", "changeset", "additions", "changeset", "additions", "end"],
      records: 5,
    },
    {
      name: "IXFR with one SOA not newer than ours: up to date",
      kind: "ixfr" as const,
      ours: 5,
      script: ((q, s) => send(s, answer(q, [soa(5)]))) as Script,
      style: "up-to-date",
      events: [],
      records: 0,
    },
  ])("$name", async ({ kind, ours, script, style, events, records }) => {
    const { result, error, sink } = await run(script, { kind, ours });
    expect(error).toBeUndefined();
    expect(result!.style).toBe(style);
    expect(sink.events).toEqual(events);
    expect(sink.count).toBe(records);
    if (style === "axfr") expect(sink.got.map((r) => `${r.name} ${r.type} ${r.rdata.join(".")}`)).toEqual(body.map((r) => `${r.name} ${r.type} ${r.rdata.join(".")}`));
  });
});

describe("pace", () => {
  it("keeps reading the socket while it parses a backlog: the event loop gets turns during the drain", async () => {
    // 60 messages arrive while the sink holds its first chunk; then every chunk costs the sink 4 ms of CPU
    // and resolves at once, so the backlog (150 chunks) would drain as microtasks in one 600 ms stretch,
    // during which the socket is not read and a real primary's writes block. Counted in event-loop turns
    // (a 1 ms interval's ticks), not in wall time, so a loaded machine that preempts us changes nothing.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const port = await scriptedPrimary((q, s) => {
      const later = { ...q, questions: [] };
      const messages = [answer(q, [soa(5), ...body])];
      for (let i = 0; i < 58; i++) messages.push(answer(later, body));
      messages.push(answer(later, [...body, soa(5)]));
      send(s, ...messages);
      setTimeout(release, 200);
    });
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 1);
    const sink = new CountingSink();
    let ticksAtRelease: number | undefined;
    let ticksAtLast = 0;
    sink.records = async (chunk: ResourceRecord[]) => {
      if (ticksAtRelease === undefined) {
        await held;
        ticksAtRelease = ticks;
      }
      const until = performance.now() + 4;
      while (performance.now() < until);
      sink.count += chunk.length;
      ticksAtLast = ticks;
    };
    const result = await transfer({ kind: "axfr", zone, primary: { address: "127.0.0.1", port }, sink, limits: { ...limits, maxRecords: 10_000, idleTimeoutMs: 5000 } }).finally(() =>
      clearInterval(ticker),
    );
    expect(result.records).toBe(1502);
    expect(sink.count).toBe(1500);
    // At least one turn per 20 ms of the ≥ 600 ms drain, with room to spare; none without yielding.
    expect(ticksAtLast - ticksAtRelease!).toBeGreaterThanOrEqual(10);
  });
});

byMode("names read from the wire", () => {
  it("compressed owners and rdata names (NS, MX, CNAME, SRV) come out uncompressed, case kept, in order", async () => {
    const n = (text: string) => Name.parse(text);
    const records: ResourceRecord[] = [
      { name: zone, type: RRType.NS, class: 1, ttl: 300, rdata: n("ns1.scripted.test").toWire() },
      { name: n("Mail.scripted.test"), type: RRType.MX, class: 1, ttl: 300, rdata: new Uint8Array([0, 10, ...n("mx.Scripted.test").toWire()]) },
      { name: n("mail.scripted.test"), type: RRType.A, class: 1, ttl: 300, rdata: new Uint8Array([10, 0, 0, 1]) },
      { name: n("www.scripted.test"), type: RRType.CNAME, class: 1, ttl: 300, rdata: n("mail.scripted.test").toWire() },
      { name: n("_sip._udp.scripted.test"), type: RRType.SRV, class: 1, ttl: 300, rdata: new Uint8Array([0, 1, 0, 2, 0x13, 0xc4, ...n("mail.scripted.test").toWire()]) },
      ...body,
    ];
    const { result, error, sink } = await run((q, s) => send(s, answer(q, [soa(7), ...records, soa(7)])));
    expect(error).toBeUndefined();
    expect(result!.records).toBe(records.length + 2);
    const text = (rs: ResourceRecord[]) => rs.map((r) => `${r.name.toString()} ${r.type} ${r.rdata.join(".")}`);
    expect(text(sink.got)).toEqual(text(records));
    // Owners whose case differs are one owner: a stream is never cut between them.
    if (sink instanceof StreamSink) {
      for (const stream of sink.streams.slice(0, -1)) {
        const parsed = parseRecordStream(stream);
        const next = parseRecordStream(sink.streams[sink.streams.indexOf(stream) + 1]!)[0]!;
        expect(next.name.equals(parsed.at(-1)!.name)).toBe(false);
      }
      expect(sink.streams.length).toBeGreaterThan(1);
      expect(new Uint8Array(sink.streams.flatMap((x) => [...x]))).toEqual(encodeRecordStream(records));
    }
  });
});

byMode("limits at their edge", () => {
  it("an AXFR of exactly the limit passes (the closing SOA repeats the first), an IXFR to exactly the limit too", async () => {
    const axfr = await run((q, s) => send(s, answer(q, [soa(5), ...body, soa(5)])), { limits: { maxRecords: 26 } });
    expect(axfr.error).toBeUndefined();
    const ixfr = await run((q, s) => send(s, answer(q, [soa(5), soa(3), body[0]!, soa(5), ...body.slice(1, 8), soa(5)])), {
      kind: "ixfr",
      ours: 3,
      limits: { maxRecords: 1_006, currentRecords: 1_000 },
    });
    expect(ixfr.error).toBeUndefined();
    expect(ixfr.sink.events).toContain("end");
  });

  it("the first-message timeout holds only until the first octets: a stream that pauses longer after them completes", async () => {
    // The pause starts once the sink has the first message (a condition, not a guess at when it arrived), and
    // is longer than the first-message timeout: only a timer that went back to the idle timeout lets it pass.
    let rest: (() => void) | undefined;
    const first = await run(
      (q, s) => {
        send(s, answer(q, [soa(5), ...body.slice(0, 10)]));
        rest = () => setTimeout(() => send(s, answer({ ...q, questions: [] }, [...body.slice(10), soa(5)])), 400);
      },
      { limits: { firstMessageTimeoutMs: 150, idleTimeoutMs: 10_000 }, onFull: () => rest?.() },
    );
    expect(first.error).toBeUndefined();
    expect(first.sink.events).toContain("end");
  });
});

byMode("per-name guards count a name, not the zone", () => {
  it("100 names of 5 A records each pass a limit of 5 per RRset and 1 type per name", async () => {
    const names = Array.from({ length: 100 }, (_, n) => Array.from({ length: 5 }, (_, i) => a(`h${n}`, i))).flat();
    const { result, error } = await run((q, s) => send(s, answer(q, [soa(5), ...names, soa(5)])), { limits: { maxRecordsPerType: 5, maxTypesPerName: 1 } });
    expect(error).toBeUndefined();
    expect(result?.records).toBe(502);
  });
});

byMode("faults, each a typed error", () => {
  it.each<{ name: string; script: Script; code: string; match: RegExp; kind?: "axfr" | "ixfr"; ours?: number; limits?: Partial<XfrLimits> }>([
    {
      name: "AXFR ending with another SOA",
      script: (q, s) => send(s, answer(q, [soa(5), ...body, soa(6)])),
      code: "bad-axfr",
      match: /began with SOA serial 5 but ended with serial 6/,
    },
    {
      name: "records after the closing SOA",
      script: (q, s) => send(s, answer(q, [soa(5), ...body, soa(5), body[0]!])),
      code: "bad-axfr",
      match: /follow the closing SOA/,
    },
    {
      name: "a reply that does not begin with the SOA",
      script: (q, s) => send(s, answer(q, [...body, soa(5)])),
      code: "bad-axfr",
      match: /does not begin with the zone's SOA/,
    },
    {
      name: "a record outside the zone",
      script: (q, s) => send(s, answer(q, [soa(5), { ...body[0]!, name: Name.parse("elsewhere.test") }, soa(5)])),
      code: "bad-axfr",
      match: /outside the zone/,
    },
    {
      name: "a CH-class record inside an IN zone's AXFR",
      script: (q, s) => send(s, answer(q, [soa(5), ...body.slice(0, 3), { ...body[3]!, class: 3 }, ...body.slice(4), soa(5)])),
      code: "bad-axfr",
      match: /record h3\.scripted\.test\. A has class CH, but the zone is class IN/,
    },
    {
      name: "a CH-class record inside an IXFR changeset",
      script: (q, s) => send(s, answer(q, [soa(5), soa(3), { ...body[0]!, class: 3 }, soa(5), soa(5)])),
      code: "inconsistent-ixfr",
      match: /has class CH, but the zone is class IN/,
      kind: "ixfr",
      ours: 3,
    },
    {
      name: "the stream truncated (closed before the closing SOA)",
      script: (q, s) => {
        send(s, answer(q, [soa(5), ...body.slice(0, 10)]));
        s.end();
      },
      code: "reset",
      match: /closed the connection after 11 records/,
    },
    {
      name: "the stream stalls",
      script: (q, s) => send(s, answer(q, [soa(5), ...body.slice(0, 10)])),
      code: "idle-timeout",
      match: /sent nothing for/,
      limits: { idleTimeoutMs: 300 },
    },
    {
      name: "a primary that takes the connection and never answers (a bootstrap's first question to it)",
      script: () => undefined,
      code: "idle-timeout",
      match: /sent nothing for 0\.3 s during our AXFR/,
      limits: { firstMessageTimeoutMs: 300, idleTimeoutMs: 60_000 },
    },
    {
      name: "a stream that trickles past the total timeout",
      script: (q, s) => {
        send(s, answer(q, [soa(5)]));
        const later = { ...q, questions: [] };
        const timer = setInterval(() => (s.destroyed ? clearInterval(timer) : send(s, answer(later, [body[0]!]))), 100);
      },
      code: "total-timeout",
      match: /took longer than/,
      limits: { totalTimeoutMs: 700 },
    },
    {
      name: "more records than the limit",
      script: (q, s) => send(s, answer(q, [soa(5), ...body, soa(5)])),
      code: "limit",
      match: /^the zone has more than 20 records \(our AXFR of scripted\.test\. from 127\.0\.0\.1:\d+ stopped at 27\); the service's limit \(BACKSTOP_XFR_MAX_RECORDS\) is 20$/,
      limits: { maxRecords: 20 },
    },
    {
      name: "more records than this zone's limit, counted in thousands",
      script: (q, s) => send(s, answer(q, [soa(5), ...Array.from({ length: 1_200 }, (_, i) => a(`n${i}`, i & 0xff)), soa(5)])),
      code: "limit",
      match: /^the zone has more than 1,000 records .*; this zone's limit is 1,000$/,
      limits: { maxRecords: 1_000, whose: { records: "this zone's limit" } },
    },
    {
      name: "an IXFR that would take the zone past its limit: the exact count is known",
      script: (q, s) => send(s, answer(q, [soa(5), soa(3), body[0]!, soa(5), ...body.slice(1, 8), soa(5)])),
      code: "limit",
      match: /^the zone would have 1,006 records after 127\.0\.0\.1:\d+'s IXFR to serial 5 \(1,000 served, 1 deleted, 7 added\); this zone's limit is 1,005$/,
      kind: "ixfr",
      ours: 3,
      limits: { maxRecords: 1_005, currentRecords: 1_000, whose: { records: "this zone's limit" } },
    },
    {
      name: "more octets than the limit",
      script: (q, s) => send(s, answer(q, [soa(5), ...body, soa(5)])),
      code: "limit",
      match: /passed 100 octets and was stopped; the service's limit \(BACKSTOP_XFR_MAX_BYTES\) is 100 octets/,
      limits: { maxBytes: 100 },
    },
    {
      name: "an RRset over max-records-per-type",
      script: (q, s) => send(s, answer(q, [soa(5), ...Array.from({ length: 6 }, (_, i) => a("big", i)), soa(5)])),
      code: "limit",
      match: /^big\.scripted\.test\. has more than 5 A records in .*; the limit per RRset is 5 \(BACKSTOP_XFR_MAX_RECORDS_PER_TYPE, BIND's max-records-per-type\)$/,
      limits: { maxRecordsPerType: 5 },
    },
    {
      name: "a name over max-types-per-name",
      script: (q, s) => send(s, answer(q, [soa(5), ...[1, 16, 28, 99].map((type) => ({ ...a("many", 1), type, rdata: type === 28 ? new Uint8Array(16) : type === 16 ? new Uint8Array([1, 120]) : new Uint8Array([1, 2, 3, 4]) })), soa(5)])),
      code: "limit",
      match: /^many\.scripted\.test\. has more than 3 record types in .*; the limit per name is 3 \(BACKSTOP_XFR_MAX_TYPES_PER_NAME, BIND's max-types-per-name\)$/,
      limits: { maxTypesPerName: 3 },
    },
    {
      name: "NOTIMP to an IXFR",
      script: (q, s) => send(s, answer(q, [], { rcode: Rcode.NOTIMP })),
      code: "rcode",
      match: /answered NOTIMP to our IXFR/,
      kind: "ixfr",
      ours: 4,
    },
    {
      name: "REFUSED to an AXFR",
      script: (q, s) => send(s, answer(q, [], { rcode: Rcode.REFUSED })),
      code: "rcode",
      match: /answered REFUSED/,
    },
    {
      name: "a reply with another ID",
      script: (q, s) => send(s, answer(q, [soa(5), soa(5)], { id: (q.id + 1) & 0xffff })),
      code: "malformed",
      match: /replied with ID/,
    },
    {
      name: "a zero-length frame",
      script: (_q, s) => s.write(new Uint8Array([0, 0])),
      code: "malformed",
      match: /framing/,
    },
    {
      name: "an IXFR changeset that starts from another serial",
      script: (q, s) => send(s, answer(q, [soa(5), soa(3), body[0]!, soa(4), soa(2), soa(5), soa(5)])),
      code: "inconsistent-ixfr",
      match: /starts at serial 2, but the previous one ended at 4/,
      kind: "ixfr",
      ours: 3,
    },
    {
      name: "an IXFR changeset going backwards",
      script: (q, s) => send(s, answer(q, [soa(5), soa(3), soa(2), soa(5)])),
      code: "inconsistent-ixfr",
      match: /from serial 3 to 2, not forwards/,
      kind: "ixfr",
      ours: 3,
    },
  ])("$name → $code", async ({ script, code, match, kind, ours, limits: l }) => {
    const { error, sink } = await run(script, { kind, ours, limits: l });
    expect(error?.code).toBe(code);
    expect(error?.message).toMatch(match);
    expect(sink.events).not.toContain("end");
  });

  it("a primary that refuses the connection", async () => {
    const port = await scriptedPrimary(() => undefined);
    await new Promise((r) => servers.pop()!.close(r));
    const err = await transfer({ kind: "axfr", zone, primary: { address: "127.0.0.1", port }, sink: new CountingSink(), limits }).catch((e: unknown) => e);
    expect((err as TransferError).code).toBe("connect");
    expect((err as TransferError).message).toMatch(/ECONNREFUSED/);
  });

  it("a sink failure is reported as such, and stops the transfer", async () => {
    const port = await scriptedPrimary((q, s) => send(s, answer(q, [soa(5), ...body, soa(5)])));
    const sink = new CountingSink();
    sink.records = async () => {
      throw new Error("D1 is down");
    };
    const err = await transfer({ kind: "axfr", zone, primary: { address: "127.0.0.1", port }, sink, limits }).catch((e: unknown) => e);
    expect((err as TransferError).code).toBe("sink");
    expect((err as TransferError).message).toMatch(/D1 is down/);
  });
});
