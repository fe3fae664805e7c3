/**
 * @module The port-53 front end to end (issue 9): the transfer-service in-process with its DNS listener on
 * 127.0.0.1 and ::1, forwarding to the real Worker (`wrangler dev`, workerd, local D1 from migrations/).
 *
 * - real `dig` and `kdig`, over UDP and TCP, get the answers the Worker gives over DoH;
 * - a large RRset over UDP is truncated (TC=1) and dig's retry over TCP gets all of it;
 * - several queries written at once on one TCP connection are all answered, matched by ID, out of order
 *   when a cache hit overtakes a forward;
 * - a silent Worker (a blackholing proxy) gets SERVFAIL within the front's timeout, an absent one at once,
 *   and the front answers again when the Worker is back;
 * - across 100 IXFR commits made through this instance's commit path, a query right after each commit gets
 *   the new version although the one before it was answered from the cache; a second instance, which does
 *   not hear of those commits, serves the new version one second after each at the latest;
 * - a hidden zone (answerAllow ::1) is never served from the cache to 127.0.0.1; promoted to live it answers
 *   127.0.0.1 at once, and demoted again it is refused a second after the change at the latest;
 * - a bounded UDP flood of one question from 127.0.0.1 (5,000 queries) engages RRL (drops and slips in
 *   /metrics, TC=1 slips received) while ::1, another prefix asking a trickle, keeps getting answers;
 * - RRL counts identical responses, as BIND does: 2,000 distinct names from one prefix are never limited,
 *   random names under one zone (NXDOMAIN) are limited by the zone while ::1 is answered, and log-only
 *   limits nothing but counts what it would have.
 *
 * Every service here runs with RRL off except the flood's own: the other tests send hundreds of queries
 * from 127.0.0.1 as fast as the machine allows, and whether that crosses 50 a second depends on the
 * machine. Each test sets up the zone versions it needs (its own zone), never another test's leftovers.
 */
import { randomBytes } from "node:crypto";
import { createSocket } from "node:dgram";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Rcode, rcodeToString, RRType, type RRTypeName, typeFromString } from "../../dns/constants.ts";
import { decodeMessage, type Message, type ResourceRecord } from "../../dns/message.ts";
import { Name } from "../../dns/name.ts";
import { rdataToText } from "../../dns/rdata/index.ts";
import { parseZoneText } from "../../dns/zonefile/parser.ts";
import { CommitEvents, watchCommits } from "../../transfer-service/server/query/commit-watch.ts";
import { createLogger } from "../../transfer-service/ops/log.ts";
import type { RunningService } from "../../transfer-service/service.ts";
import { FrameDecoder, frame } from "../../dns/wire/tcp-framing.ts";
import type { WorkerApi } from "../../transfer-service/worker/worker-api.ts";
import { WorkerClient } from "../../transfer-service/worker/worker-client.ts";
import { queryWire } from "../../answer/testing/table.ts";
import { type FaultProxy, startFaultProxy } from "../peers/fault-proxy.ts";
import { kdig } from "../peers/kdig.ts";
import { freePort, freePorts } from "../peers/ports.ts";
import { digAt, digFlags, norm, type Seen, seenOf } from "../stack/dig-output.ts";
import { startWranglerDev, type WranglerDev } from "../stack/wrangler-dev.ts";
import { createZone, ingestZoneText, loadZone, patchZone, type StackTokens } from "../stack/zone-load.ts";
import { waitFor } from "../transfer/service-under-test.ts";
import { startFront } from "./front.ts";
import { blast } from "./udp-blast.ts";
import { udpExchange } from "../tsig/wire-client.ts";

const ADMIN = `admin-${randomBytes(12).toString("hex")}`;
const INTERNAL = `internal-${randomBytes(12).toString("hex")}`;
const log = createLogger({ level: process.env.BACKSTOP_TEST_LOG ?? "silent" });

const BIG_TXT = 40;
const FRONT_ZONE = `
$ORIGIN front.test.
$TTL 300
@     SOA   ns hostmaster 1 7200 3600 1209600 300
@     NS    ns
ns    A     192.0.2.53
www   A     192.0.2.80
www   AAAA  2001:db8::80
alias CNAME www
@     MX    10 mx
mx    A     192.0.2.25
${Array.from({ length: BIG_TXT }, (_, i) => `big TXT "${String(i).padStart(2, "0")} ${"x".repeat(90)}"`).join("\n")}
`;

/** Version `n` of a churned zone: the serial and the TXT at `v` say `n`. */
const churnZone = (apex: string, n: number) => `
$ORIGIN ${apex}
$TTL 300
@  SOA ns hostmaster ${n} 7200 3600 1209600 300
@  NS  ns
ns A   192.0.2.53
v  TXT "version ${n}"
`;
/** One zone per commit test, so neither starts from the versions the other left behind. */
const CHURN_HERE = "churn-here.test.";
const CHURN_ELSEWHERE = "churn-elsewhere.test.";

let worker: WranglerDev | undefined;
let stack: StackTokens;
let service: RunningService | undefined;
let port: number;
const commits = new CommitEvents();

/** A front on the test's Worker, RRL off unless `env` turns it on (only the RRL tests do). */
async function start(env: Record<string, string>, parts: { commits?: CommitEvents } = {}): Promise<RunningService> {
  return startFront(stack, log, env, parts);
}

beforeAll(async () => {
  worker = await startWranglerDev({ adminToken: ADMIN, internalToken: INTERNAL });
  stack = { base: worker.base, admin: ADMIN, internal: INTERNAL };
  await loadZone(stack, "front.test.", FRONT_ZONE);
  await createZone(stack, CHURN_HERE);
  await createZone(stack, CHURN_ELSEWHERE);
  [port] = await freePorts(1);
  // One port on both loopbacks: the hidden-zone test asks from both.
  service = await start({ BACKSTOP_DNS_LISTEN: `127.0.0.1:${port},[::1]:${port}` }, { commits });
}, 150_000);

afterAll(async () => {
  await service?.stop();
  await worker?.stop();
});

/** The Worker's own answer over DoH (POST, no token: a DoH client). */
async function overDoh(name: string, type: string): Promise<Seen> {
  const res = await fetch(`${stack.base}/dns-query`, { method: "POST", headers: { "content-type": "application/dns-message" }, body: new Uint8Array(queryWire(name, type, { id: 0 })) });
  expect(res.status).toBe(200);
  return seenOf(decodeMessage(new Uint8Array(await res.arrayBuffer())));
}

const dig = (args: string[], name: string, type: string) => digAt({ port, args, name, type });

const QUESTIONS: Array<{ name: string; type: RRTypeName; rcode: string; answers: number }> = [
  { name: "www.front.test.", type: "A", rcode: "NOERROR", answers: 1 },
  { name: "www.front.test.", type: "AAAA", rcode: "NOERROR", answers: 1 },
  { name: "alias.front.test.", type: "A", rcode: "NOERROR", answers: 2 },
  { name: "front.test.", type: "MX", rcode: "NOERROR", answers: 1 },
  { name: "front.test.", type: "NS", rcode: "NOERROR", answers: 1 },
  { name: "www.front.test.", type: "MX", rcode: "NOERROR", answers: 0 },
  { name: "nope.front.test.", type: "A", rcode: "NXDOMAIN", answers: 0 },
  { name: "www.example.com.", type: "A", rcode: "REFUSED", answers: 0 },
];

describe("dig and kdig over UDP and TCP get the Worker's DoH answers", () => {
  it.each(QUESTIONS)("$name $type → $rcode", async (q) => {
    const want = await overDoh(q.name, q.type);
    expect(want.rcode).toBe(q.rcode);
    expect(want.answers).toHaveLength(q.answers);
    // Twice each: the second UDP/TCP answer of a cacheable question comes from the front's cache.
    for (let round = 0; round < 2; round++) {
      expect((await dig([], q.name, q.type)).seen, "dig UDP").toEqual(want);
      expect((await dig(["+tcp"], q.name, q.type)).seen, "dig +tcp").toEqual(want);
      for (const extra of [[], ["+tcp"]]) {
        const k = await kdig({ port, zone: q.name, type: q.type, extra, timeoutMs: 5_000 });
        expect(k.errors.filter((e) => !e.includes("server replied")), k.stdout + k.stderr).toEqual([]);
        const status = /->>HEADER<<-.*status: (\w+)/.exec(k.stdout)?.[1];
        const seen = { rcode: status, aa: k.flags.includes("aa"), answers: k.records.map((r) => norm(`${r.owner} ${r.ttl} IN ${r.type} ${r.data}`)) };
        expect(seen, `kdig ${extra.join(" ") || "UDP"}`).toEqual(want);
      }
    }
  });

  it("AXFR over UDP is NOTIMP (as knotd answers), IXFR outside the zone's empty transferAllow REFUSED (test/xfr-out/ serves them)", async () => {
    for (const [type, rcode] of [["AXFR", "NOTIMP"], ["IXFR", "REFUSED"]] as const) {
      const reply = decodeMessage(await udpExchange(port, queryWire("front.test.", type, { id: 99 })));
      expect(rcodeToString(reply.rcode)).toBe(rcode);
      expect(reply.id).toBe(99);
      expect(reply.answers).toEqual([]);
    }
  });
});

describe("truncation", () => {
  it("a large RRset over UDP is cut with TC=1, and dig's retry over TCP gets all of it", async () => {
    const cut = await dig(["+ignore", "+bufsize=1232"], "big.front.test.", "TXT");
    expect(digFlags(cut.stdout)).toContain("tc");
    expect(cut.seen.answers.length).toBeLessThan(BIG_TXT);
    const plain = await dig(["+noedns", "+ignore"], "big.front.test.", "TXT");
    expect(digFlags(plain.stdout)).toContain("tc");

    const retried = await dig(["+bufsize=1232"], "big.front.test.", "TXT");
    expect(retried.stdout).toContain("Truncated, retrying in TCP mode");
    expect(retried.seen.answers).toHaveLength(BIG_TXT);
    expect(retried.seen).toEqual(await overDoh("big.front.test.", "TXT"));
  });
});

/** Writes every query in one segment on one connection; resolves with the replies in arrival order. */
function pipelined(queries: Uint8Array[], timeoutMs = 5000): Promise<Message[]> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port });
    const decoder = new FrameDecoder();
    const replies: Message[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`${replies.length} of ${queries.length} replies within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on("connect", () => socket.write(Buffer.concat(queries.map((q) => frame(q)))));
    socket.on("data", (data) => {
      for (const m of decoder.push(new Uint8Array(data))) replies.push(decodeMessage(m));
      if (replies.length === queries.length) {
        clearTimeout(timer);
        socket.destroy();
        resolve(replies);
      }
    });
    socket.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

describe("pipelined TCP (RFC 7766 §6.2.1.1)", () => {
  it("answers every query written at once, each matched by its ID, a cache hit overtaking forwards", async () => {
    // Fresh names under no zone: the replica (which answers a held zone in the turn it reads the query, in
    // order) leaves them to the Worker, so they are forwards (REFUSED) for the cache hit to overtake.
    const fresh = () => `p-${randomBytes(4).toString("hex")}.nowhere.test.`;
    // A cached answer lives at most a second from the Worker's pointer read, which may be most of a second
    // old already: on a loaded machine the primed entry can expire before the second write. So the order
    // is checked on a round whose 103 really was a hit (the cache's hit count says so), bounded in rounds.
    for (let round = 1; ; round++) {
      // Prime the cache over TCP (the key has the transport class), then send fresh misses around the hit.
      await pipelined([queryWire("www.front.test.", "A", { id: 1 })]);
      const hitsBefore = service!.cache!.stats.hits;
      const sent = [
        { id: 101, name: fresh(), type: "A", rcode: Rcode.REFUSED },
        { id: 102, name: fresh(), type: "AAAA", rcode: Rcode.REFUSED },
        { id: 103, name: "www.front.test.", type: "A", rcode: Rcode.NOERROR },
        { id: 104, name: "big.front.test.", type: "TXT", rcode: Rcode.NOERROR },
        { id: 105, name: "mx.front.test.", type: "A", rcode: Rcode.NOERROR },
      ];
      const replies = await pipelined(sent.map((q) => queryWire(q.name, q.type, { id: q.id })));
      const byId = new Map(replies.map((r) => [r.id, r]));
      for (const q of sent) {
        const r = byId.get(q.id);
        expect(r, `reply to ${q.id}`).toBeDefined();
        expect(r!.questions[0]!.name.toString()).toBe(q.name);
        expect(r!.questions[0]!.type).toBe(typeFromString(q.type));
        expect(r!.rcode).toBe(q.rcode);
        expect(r!.flags.tc).toBe(false);
      }
      expect(byId.get(104)!.answers).toHaveLength(BIG_TXT);
      if (service!.cache!.stats.hits === hitsBefore) {
        expect(round, "rounds without the primed answer still cached").toBeLessThan(10);
        continue;
      }
      // The cached answer (103) left before the forwards sent ahead of it.
      const order = replies.map((r) => r.id);
      expect(order.indexOf(103)).toBeLessThan(order.indexOf(101));
      break;
    }
  });
});

describe("the Worker down or silent", () => {
  let proxy: FaultProxy | undefined;
  let viaProxy: RunningService | undefined;
  let absent: RunningService | undefined;

  afterAll(async () => {
    await viaProxy?.stop();
    await absent?.stop();
    await proxy?.close();
  });

  it("a silent Worker gets SERVFAIL within the timeout, the front stays up and answers when it is back", async () => {
    const workerPort = Number(new URL(stack.base).port);
    proxy = await startFaultProxy({ target: { address: "127.0.0.1", port: workerPort } });
    // No cache here, so every query goes to the (faulty) Worker.
    viaProxy = await start({
      BACKSTOP_WORKER_URL: `http://127.0.0.1:${proxy.port}`,
      BACKSTOP_DNS_LISTEN: "127.0.0.1:0",
      BACKSTOP_FRONT_TIMEOUT_MS: "400",
      BACKSTOP_FRONT_CACHE_ENTRIES: "0",
      // Nor a replica (issue 27: it would answer the held zone itself; test/port53/replica.test.ts covers that).
      BACKSTOP_REPLICA_MAX_BYTES: "0",
    });
    const p = viaProxy.dnsAddresses[0]!.port;
    const ask = async (id: number) => decodeMessage(await udpExchange(p, queryWire("www.front.test.", "A", { id }), 10_000));

    // Silent from the start (a connection keeps the fault it began with, so no keep-alive one may exist yet).
    proxy.fault = { kind: "blackhole" };
    const started = Date.now();
    const failed = await Promise.all([2, 3, 4, 5, 6].map(ask));
    const elapsed = Date.now() - started;
    for (const [i, m] of failed.entries()) {
      expect(m.rcode).toBe(Rcode.SERVFAIL);
      expect(m.id).toBe(i + 2);
      expect(m.questions[0]!.name.toString()).toBe("www.front.test.");
    }
    // The SERVFAILs came from the front's 400 ms timer: not before it, and long before the client's
    // own 10 s would have run out (a front without the timer leaves the blackholed query unanswered).
    expect(elapsed).toBeGreaterThanOrEqual(350);
    expect(elapsed).toBeLessThan(6_000);

    proxy.fault = { kind: "none" };
    let id = 10;
    await waitFor("answers again", async () => (await ask(id++)).rcode === Rcode.NOERROR, 5_000);
    const metrics = (await viaProxy.metrics.render()).body;
    expect(metrics).toMatch(/backstop_front_upstream_failures_total\{reason="timeout"\} [1-9]/);
  });

  it("an absent Worker gets SERVFAIL at once", async () => {
    const nobody = await freePort();
    // A 20 s forward timeout: "at once" means the refused connection, not the timer, ended the wait.
    absent = await start({ BACKSTOP_WORKER_URL: `http://127.0.0.1:${nobody}`, BACKSTOP_DNS_LISTEN: "127.0.0.1:0", BACKSTOP_FRONT_TIMEOUT_MS: "20000" });
    const p = absent.dnsAddresses[0]!.port;
    const started = Date.now();
    const m = decodeMessage(await udpExchange(p, queryWire("www.front.test.", "A", { id: 7 }), 25_000));
    expect(m.rcode).toBe(Rcode.SERVFAIL);
    expect(Date.now() - started).toBeLessThan(10_000);
    const tcp = await dig(["+tcp"], "www.front.test.", "A").catch(() => undefined);
    expect(tcp?.seen.rcode).toBe("NOERROR"); // the main front, unaffected
  });
});

/** One IXFR-style change of `apex`, version n-1 → n (the TXT replaced), committed through `api` as the refresher does. */
async function ixfr(api: WorkerApi, apex: string, n: number): Promise<void> {
  const [before, after] = [n - 1, n].map((v) => parseZoneText(churnZone(apex, v), { origin: Name.parse(apex), defaultTtl: 300 }));
  const soa = (rrs: ResourceRecord[]) => rrs.find((r) => r.type === RRType.SOA)!;
  const txt = (rrs: ResourceRecord[]) => rrs.filter((r) => r.type === RRType.TXT);
  const session = await api.beginIngest(apex.slice(0, -1), "port53-test", "ixfr", n);
  await session.beginIncremental(soa(after!));
  await session.beginChangeset(soa(before!));
  await session.records(txt(before!));
  await session.beginAdditions(soa(after!));
  await session.records(txt(after!));
  await session.end();
  await session.commit();
}

describe("the cache never serves an old version after a commit", () => {
  it("100 IXFR commits through this instance, each followed at once by a query that must see it", async () => {
    const client = new WorkerClient({ baseUrl: stack.base, token: INTERNAL, timeoutMs: 30_000 });
    const api = watchCommits(client, commits);
    const txt = async (id: number): Promise<string> => {
      const m = decodeMessage(await udpExchange(port, queryWire(`v.${CHURN_HERE}`, "TXT", { id }), 3000));
      expect(m.rcode).toBe(Rcode.NOERROR);
      return m.answers.map((r) => rdataToText(r.type, r.rdata)).join(" ");
    };
    try {
      await ingestZoneText(api, CHURN_HERE, churnZone(CHURN_HERE, 1), "port53-test");
      const hitsBefore = service!.cache!.stats.hits;
      for (let n = 2; n <= 101; n++) {
        // Two queries: the second is a cache hit, so the old version is in the cache when the commit lands.
        expect(await txt(n * 4)).toBe(`"version ${n - 1}"`);
        expect(await txt(n * 4 + 1)).toBe(`"version ${n - 1}"`);
        await ixfr(api, CHURN_HERE, n);
        expect(await txt(n * 4 + 2), `right after commit ${n}`).toBe(`"version ${n}"`);
      }
      // The old answers really were cached: without the drop on commit they would have been served.
      expect(service!.cache!.stats.hits - hitsBefore).toBeGreaterThanOrEqual(100);
    } finally {
      await client.close();
    }
  }, 120_000);

  it("another instance, which does not hear of the commit, serves the new version a second after it at the latest", async () => {
    const other = await start({ BACKSTOP_DNS_LISTEN: "127.0.0.1:0" });
    const client = new WorkerClient({ baseUrl: stack.base, token: INTERNAL, timeoutMs: 30_000 });
    // The commits are announced on the first instance's events only: `other` must find them by itself.
    const api = watchCommits(client, commits);
    const p = other.dnsAddresses[0]!.port;
    const txt = async (id: number) =>
      decodeMessage(await udpExchange(p, queryWire(`v.${CHURN_ELSEWHERE}`, "TXT", { id }), 3000)).answers.map((r) => rdataToText(r.type, r.rdata)).join(" ");
    try {
      await ingestZoneText(api, CHURN_ELSEWHERE, churnZone(CHURN_ELSEWHERE, 1), "port53-test");
      for (let n = 2; n <= 4; n++) {
        // Three asks, so the old version is in the other instance's cache when the commit lands: an answer
        // from its replica is stored from the second ask of its key on (query-forward.ts, `askedBefore`).
        for (const id of [1, 3, 5]) expect(await txt(id)).toBe(`"version ${n - 1}"`);
        await ixfr(api, CHURN_ELSEWHERE, n);
        // This test is about time: the rule is "never more than a second after the commit". The commit
        // was durable before ixfr() returned, so a second measured from its return is a second after the
        // commit at the least. Until then the other instance may still answer from its cache; after, never.
        const committedBy = Date.now();
        await new Promise((r) => setTimeout(r, committedBy + 1_000 - Date.now() + 5));
        expect(await txt(2), `a second after commit ${n}`).toBe(`"version ${n}"`);
      }
      expect(other.cache!.stats.hits).toBeGreaterThan(0);
    } finally {
      await client.close();
      await other.stop();
    }
  });
});

describe("promotion from hidden to live", () => {
  it("a restricted answer is never served to another client; promotion answers at once; demotion within a second", async () => {
    const HIDDEN = `
$ORIGIN hidden.test.
$TTL 300
@   SOA ns hostmaster 1 7200 3600 1209600 300
@   NS  ns
ns  A   192.0.2.53
www A   192.0.2.99
`;
    await loadZone(stack, "hidden.test.", HIDDEN, ["::1/128"], "hidden");
    const ask = async (address: string, id: number) => decodeMessage(await udpExchange(port, queryWire("www.hidden.test.", "A", { id }), 3000, address));
    // ::1 may ask, twice (the second would be a cache hit if restricted answers were cached) …
    for (const id of [1, 2]) expect((await ask("::1", id)).answers).toHaveLength(1);
    // … and 127.0.0.1 still may not: nothing of ::1's answer reaches it.
    expect((await ask("127.0.0.1", 3)).rcode).toBe(Rcode.REFUSED);

    await patchZone(stack, "hidden.test.", { model: "secondary", answerAllow: [] });
    const live = await ask("127.0.0.1", 4);
    expect(live.rcode).toBe(Rcode.NOERROR);
    expect(live.answers).toHaveLength(1);
    expect((await ask("127.0.0.1", 5)).rcode).toBe(Rcode.NOERROR); // now from the cache

    // Back to hidden: the version did not change, so a cached answer may live out its second, never more.
    // The change was committed before the PATCH returned, so a query a second after that must be refused.
    await patchZone(stack, "hidden.test.", { model: "hidden", answerAllow: ["::1/128"] });
    const committedBy = Date.now();
    await new Promise((r) => setTimeout(r, committedBy + 1_000 - Date.now() + 5));
    expect((await ask("127.0.0.1", 6)).rcode).toBe(Rcode.REFUSED);
    expect((await ask("::1", 7)).answers).toHaveLength(1);
  });
});

/** BIND-style per-token rate this project ships (config.ts): the RRL tests below run at it. */
const RRL_DEFAULT_RATE = 20;

describe("response rate limiting under a flood", () => {
  it("5,000 queries from 127.0.0.1 engage RRL; ::1, asking a trickle, is still answered", async () => {
    // RRL on at the default: 20 identical answers a second per prefix. The flood repeats one question as
    // fast as the machine allows, far over 20 a second on any machine; the trickle from ::1, one query per
    // 50 ms at most, is another prefix. So the outcome does not depend on the machine's speed.
    const [floodPort] = await freePorts(1);
    const limited = await start({ BACKSTOP_DNS_LISTEN: `127.0.0.1:${floodPort},[::1]:${floodPort}`, BACKSTOP_RRL_RESPONSES_PER_SECOND: String(RRL_DEFAULT_RATE) });
    const metric = async (action: string) =>
      Number(new RegExp(`backstop_rrl_responses_total\\{action="${action}",category="response"\\} (\\d+)`).exec((await limited.metrics.render()).body)?.[1] ?? 0);
    const flooder = createSocket("udp4");
    try {
      let full = 0, slipped = 0;
      flooder.on("message", (msg) => {
        const m = decodeMessage(new Uint8Array(msg));
        if (m.flags.tc && m.answers.length === 0) slipped++;
        else if (m.rcode === Rcode.NOERROR && m.answers.length > 0) full++;
      });
      await new Promise<void>((r) => flooder.bind(0, "127.0.0.1", () => r()));

      // The second client: ::1, another prefix, asking all through the flood.
      const second = (async () => {
        const seen: number[] = [];
        for (let i = 0; i < 20; i++) {
          const m = decodeMessage(await udpExchange(floodPort, queryWire("www.front.test.", "A", { id: 9000 + i }), 5_000, "::1"));
          seen.push(m.answers.length > 0 && !m.flags.tc ? 1 : 0);
          await new Promise((r) => setTimeout(r, 50));
        }
        return seen;
      })();

      const query = queryWire("www.front.test.", "A", { id: 0 });
      const started = Date.now();
      let sent = 0;
      // Bounded in count (5,000) and time (30 s, far more than any machine needs to send them).
      while (sent < 5000 && Date.now() - started < 30_000) {
        for (let i = 0; i < 100 && sent < 5000; i++, sent++) {
          const q = query.slice();
          q[0] = sent >> 8;
          q[1] = sent & 0xff;
          flooder.send(q, floodPort, "127.0.0.1");
        }
        // A short pause per hundred, so the kernel's socket buffer is not simply overrun.
        await new Promise((r) => setTimeout(r, 5));
      }
      const secondSeen = await second;
      expect(sent).toBe(5000);

      // Wait until the service has answered what reached it and the replies have stopped arriving: both
      // counts unchanged from one poll to the next. (Replies can be lost too, so no count is awaited.)
      let last = "";
      await waitFor("the flood's replies to settle", async () => {
        const now = `${(await metric("allow")) + (await metric("slip")) + (await metric("drop"))}/${full + slipped}`;
        const settled = now === last;
        last = now;
        return settled;
      }, 20_000);
      const floodMs = Date.now() - started;
      const allowed = await metric("allow"), dropped = await metric("drop"), slips = await metric("slip");

      // Not all 5,000 reach the listener (the kernel drops what overflows the socket buffer), so no exact
      // count; but most of what does is over the limit, and slip 2 sends every other limited answer as TC=1.
      expect(dropped + slips).toBeGreaterThan(1000);
      expect(Math.abs(dropped - slips)).toBeLessThanOrEqual(1);
      expect(slipped).toBeGreaterThan(0);
      expect(slipped).toBeLessThanOrEqual(slips);
      // 20 a second per prefix and answer with a one-second burst, over however long the flood took on
      // this machine (the trickle's 20 answers are in "allow" too).
      const bound = RRL_DEFAULT_RATE + Math.ceil((floodMs / 1000) * RRL_DEFAULT_RATE) + 5;
      expect(allowed - 20).toBeLessThanOrEqual(bound);
      expect(full).toBeLessThanOrEqual(bound);
      expect(secondSeen).toEqual(new Array(20).fill(1));
      console.log(`RRL flood: ${sent} queries, settled after ${floodMs} ms → ${full} answered, ${slipped} slips received; metrics ${allowed} allowed, ${dropped} dropped, ${slips} slipped`);
    } finally {
      flooder.close();
      await limited.stop();
    }
  }, 90_000);
});

describe("RRL counts identical responses, as BIND does", () => {
  const MANY = 2000;
  let rrlPort: number;
  let limited: RunningService | undefined;
  let logOnly: RunningService | undefined;
  const rrlMetric = async (svc: RunningService, action: string, category: string) =>
    Number(new RegExp(`backstop_rrl_responses_total\\{action="${action}",category="${category}"\\} (\\d+)`).exec((await svc.metrics.render()).body)?.[1] ?? 0);

  beforeAll(async () => {
    const names = Array.from({ length: MANY }, (_, i) => `n${i} A 192.0.2.${i % 250}`).join("\n");
    await loadZone(stack, "many.test.", `$ORIGIN many.test.\n$TTL 300\n@ SOA ns hostmaster 1 7200 3600 1209600 300\n@ NS ns\nns A 192.0.2.53\n${names}\n`);
    [rrlPort] = await freePorts(1);
    // RRL at the defaults (every category 20 a second per token, as the service ships).
    // A long forward timeout: a flood of misses queues at the Worker, and this test is about RRL, not about
    // how long the Worker may take on a loaded machine.
    limited = await start({ BACKSTOP_DNS_LISTEN: `127.0.0.1:${rrlPort},[::1]:${rrlPort}`, BACKSTOP_RRL_RESPONSES_PER_SECOND: String(RRL_DEFAULT_RATE), BACKSTOP_FRONT_TIMEOUT_MS: "30000" });
  }, 120_000);

  afterAll(async () => {
    await limited?.stop();
    await logOnly?.stop();
  });

  it(`${MANY} distinct names from one prefix, about 500 a second: none limited`, async () => {
    const before = { drop: await rrlMetric(limited!, "drop", "response"), slip: await rrlMetric(limited!, "slip", "response") };
    // Each query waits for its answer (5 in flight): a lost answer would show as a timeout, a slip as TC=1.
    const seen: Array<{ rcode: number; tc: boolean; answers: number }> = [];
    const started = Date.now();
    let next = 0;
    await Promise.all(Array.from({ length: 5 }, async () => {
      while (next < MANY) {
        const i = next++;
        // About 500 a second at most: each of the 5 lanes asks at most once per 10 ms.
        const pace = new Promise((r) => setTimeout(r, 10));
        const m = decodeMessage(await udpExchange(rrlPort, queryWire(`n${i}.many.test.`, "A", { id: i & 0xffff }), 10_000));
        seen.push({ rcode: m.rcode, tc: m.flags.tc, answers: m.answers.length });
        await pace;
      }
    }));
    const elapsedS = (Date.now() - started) / 1000;
    expect(seen).toHaveLength(MANY);
    expect(seen.filter((m) => m.rcode !== Rcode.NOERROR || m.tc || m.answers !== 1)).toEqual([]);
    expect(await rrlMetric(limited!, "drop", "response")).toBe(before.drop);
    expect(await rrlMetric(limited!, "slip", "response")).toBe(before.slip);
    console.log(`RRL, resolver-like: ${MANY} distinct names in ${elapsedS.toFixed(1)} s (${Math.round(MANY / elapsedS)}/s), 0 limited`);
  }, 120_000);

  it("random names under one zone (NXDOMAIN) are limited by the zone; ::1 is answered throughout", async () => {
    const before = { allow: await rrlMetric(limited!, "allow", "nxdomain"), drop: await rrlMetric(limited!, "drop", "nxdomain"), slip: await rrlMetric(limited!, "slip", "nxdomain") };
    const wires = Array.from({ length: 400 }, (_, i) => queryWire(`r-${randomBytes(6).toString("hex")}.many.test.`, "A", { id: i }));
    const trickle = (async () => {
      const ok: boolean[] = [];
      for (let i = 0; i < 10; i++) {
        const m = decodeMessage(await udpExchange(rrlPort, queryWire(`n${i}.many.test.`, "A", { id: 7000 + i }), 40_000, "::1"));
        ok.push(m.rcode === Rcode.NOERROR && m.answers.length === 1 && !m.flags.tc);
        await new Promise((r) => setTimeout(r, 50));
      }
      return ok;
    })();
    // 400 NXDOMAIN answers of one zone, 10 every 20 ms (about 500 a second offered): far over 20 a second
    // whatever the Worker's pace on this machine.
    const started = Date.now();
    const replies = await blast(rrlPort, wires, 10, 20);
    const elapsedS = (Date.now() - started) / 1000;
    expect(await trickle).toEqual(new Array(10).fill(true));
    const allowed = (await rrlMetric(limited!, "allow", "nxdomain")) - before.allow;
    const dropped = (await rrlMetric(limited!, "drop", "nxdomain")) - before.drop;
    const slipped = (await rrlMetric(limited!, "slip", "nxdomain")) - before.slip;
    expect(dropped + slipped).toBeGreaterThan(0);
    expect(allowed).toBeLessThanOrEqual(RRL_DEFAULT_RATE + Math.ceil(elapsedS * RRL_DEFAULT_RATE) + 5);
    expect(replies.filter((m) => m.rcode === Rcode.NXDOMAIN).length).toBeLessThanOrEqual(allowed);
    expect(replies.some((m) => m.flags.tc && m.answers.length === 0)).toBe(true);
    console.log(`RRL, random-subdomain flood: 400 NXDOMAIN in ${elapsedS.toFixed(1)} s → ${allowed} allowed, ${dropped} dropped, ${slipped} slipped`);
  }, 120_000);

  it("log-only limits nothing, but counts what it would have limited", async () => {
    const [port2] = await freePorts(1);
    logOnly = await start({ BACKSTOP_DNS_LISTEN: `127.0.0.1:${port2}`, BACKSTOP_RRL_RESPONSES_PER_SECOND: String(RRL_DEFAULT_RATE), BACKSTOP_RRL_LOG_ONLY: "true", BACKSTOP_FRONT_TIMEOUT_MS: "30000" });
    // One question 300 times, each waiting for its answer: every one must come back whole.
    for (let i = 0; i < 300; i++) {
      const m = decodeMessage(await udpExchange(port2, queryWire("n1.many.test.", "A", { id: i }), 10_000));
      expect(m.answers, `answer ${i}`).toHaveLength(1);
      expect(m.flags.tc).toBe(false);
    }
    const wouldLimit = (await rrlMetric(logOnly, "drop", "response")) + (await rrlMetric(logOnly, "slip", "response"));
    expect(wouldLimit).toBeGreaterThan(0);
  }, 120_000);
});
