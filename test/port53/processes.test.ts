/**
 * @module The multi-process port-53 front (issue 18 item 3, `server/front-processes.ts`): the real
 * transfer-service as its own process tree (`main.ts` with BACKSTOP_FRONT_PROCESSES=2: one owner, two query
 * processes on shared sockets) before the real Worker (`wrangler dev`, local D1), secondary of a real knotd.
 *
 * - both query processes answer real `dig` and `kdig` over UDP and TCP, as the merged `/metrics` shows
 *   (each process's messages under its `process` slot, summed counters beside them);
 * - a NOTIFY to the port, whichever process the kernel gives it to, reaches the owner: one NOTIFY, one
 *   SOA check, and the NOTIFYs sent land on both processes; an AXFR through a query process is streamed
 *   by the owner and is the zone knotd serves;
 * - across commits made by the owner's refresh machine (knotd edits, its NOTIFY, IXFR), a query right
 *   after each commit gets the new version from every process, although the version before was cached
 *   (the commit fans out to every process's cache before the owner's refresh moves on);
 * - the versions the owner's transfers build reach each query process's replica from the owner (issue 27:
 *   IXFR changesets over IPC, an AXFR's packed zone as a snapshot file), none read back from the Worker;
 * - a query process killed with SIGKILL is replaced (same slot, new pid), and answering goes on meanwhile.
 *
 * RRL is off (not an RRL test). Which process gets a datagram is the kernel's choice, so the tests that
 * need both send until both have answered, bounded in count and time.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Rcode } from "../../dns/constants.ts";
import { decodeMessage } from "../../dns/message.ts";
import { rdataToText } from "../../dns/rdata/index.ts";
import { notifyWire, queryWire } from "../../dns/testing/query-wire.ts";
import { STREAM_WINDOW } from "../../transfer-service/server/front-processes.ts";
import { kdig, recordLine } from "../peers/kdig.ts";
import { startKnotd } from "../peers/knotd.ts";
import { freePorts } from "../peers/ports.ts";
import type { PeerHandle } from "../peers/types.ts";
import { digAt } from "../stack/dig-output.ts";
import { loadZone, patchZone, type StackTokens } from "../stack/zone-load.ts";
import { startWranglerDev, type WranglerDev } from "../stack/wrangler-dev.ts";
import { waitFor } from "../transfer/service-under-test.ts";
import { udpExchange } from "../tsig/wire-client.ts";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
const ADMIN = `admin-${randomBytes(12).toString("hex")}`;
const INTERNAL = `internal-${randomBytes(12).toString("hex")}`;
const ZONE = "procs.test";

/** Version `n`: the serial and the TXT at `v` say `n`. */
const zoneText = (n: number) => `
$ORIGIN ${ZONE}.
$TTL 300
@   SOA ns hostmaster ${n} 7200 3600 1209600 300
@   NS  ns
ns  A   192.0.2.53
www A   192.0.2.80
v   TXT "version ${n}"
`;

/**
 * A zone whose AXFR takes more messages than the owner may send ahead (`STREAM_WINDOW`, 8) at 64 KB each:
 * 4,000 TXT records of ~230 octets, about 14 messages. Loaded straight into the Worker (no primary).
 */
const BIG = "big-axfr.test";
const BIG_RECORDS = 4_000;
const bigZone = () =>
  `$ORIGIN ${BIG}.\n$TTL 300\n@ SOA ns hostmaster 1 7200 3600 1209600 300\n@ NS ns\nns A 192.0.2.53\n` +
  Array.from({ length: BIG_RECORDS }, (_, i) => `t${i} TXT "${String(i).padStart(6, "0")} ${"x".repeat(200)}"`).join("\n") +
  "\n";

let worker: WranglerDev | undefined;
let knotd: PeerHandle | undefined;
let service: ChildProcess | undefined;
let output = "";
let dnsPort: number;
let httpPort: number;

beforeAll(async () => {
  [dnsPort, httpPort] = (await freePorts(2)) as [number, number];
  worker = await startWranglerDev({ adminToken: ADMIN, internalToken: INTERNAL, vars: { SERVICE_CONTROL_URLS: `http://127.0.0.1:${httpPort}` } });
  knotd = await startKnotd({ zones: [{ name: ZONE, text: zoneText(1), notify: [`127.0.0.1:${dnsPort}`] }] });
  // Before the service starts, so no refresh of it holds the lease the load needs.
  const stack: StackTokens = { base: worker.base, admin: ADMIN, internal: INTERNAL };
  await loadZone(stack, `${BIG}.`, bigZone());
  await patchZone(stack, `${BIG}.`, { transferAllow: [{ address: "127.0.0.1" }] });
  service = spawn(process.execPath, ["--import", "tsx", path.join(root, "transfer-service/main.ts")], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      BACKSTOP_INTERNAL_TOKEN: INTERNAL,
      BACKSTOP_WORKER_URL: worker.base,
      BACKSTOP_DNS_LISTEN: `127.0.0.1:${dnsPort}`,
      BACKSTOP_HTTP_LISTEN: `127.0.0.1:${httpPort}`,
      BACKSTOP_FRONT_PROCESSES: "2",
      // Not an RRL test; and a loaded machine's workerd may take longer than the front's 1.5 s default.
      BACKSTOP_RRL_RESPONSES_PER_SECOND: "0",
      BACKSTOP_FRONT_TIMEOUT_MS: "20000",
      // The zone's serial in /metrics: the sign that a commit (and its fan-out) is done.
      BACKSTOP_METRICS_ZONE_LABELS: "true",
      BACKSTOP_POLL_INTERVAL_S: "1",
      BACKSTOP_SOA_TIMEOUT_MS: "2000",
      // "query process listening" lines (slot and pid) are at info.
      BACKSTOP_LOG_LEVEL: "info",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  service.stdout!.on("data", (d) => (output = (output + String(d)).slice(-50_000)));
  service.stderr!.on("data", (d) => (output = (output + String(d)).slice(-50_000)));
  await waitFor("the service to listen", () => output.includes('"msg":"listening"'), 60_000).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}\n${output}`);
  });
  const res = await fetch(`${worker.base}/api/v1/zones`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
    body: JSON.stringify({ name: ZONE, model: "secondary", primaries: [{ address: "127.0.0.1", port: knotd.port }], notifyAllow: ["127.0.0.1/32"], transferAllow: [{ address: "127.0.0.1" }] }),
  });
  expect(res.status, await res.text()).toBe(201);
  await waitFor("version 1 answered on port 53", async () => (await txt().catch(() => "")) === `"version 1"`, 60_000).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}\n${output}`);
  });
}, 240_000);

afterAll(async () => {
  if (service && service.exitCode === null && service.signalCode === null) {
    const exited = new Promise((r) => service!.once("exit", r));
    service.kill("SIGTERM");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
    if (service.exitCode === null && service.signalCode === null) service.kill("SIGKILL");
  }
  await knotd?.stop();
  await worker?.stop();
});

let nextId = 1;
/** `v.procs.test. TXT` over UDP from a fresh socket (so from a fresh port): its TXT text. */
async function txt(timeoutMs = 5_000): Promise<string> {
  const m = decodeMessage(await udpExchange(dnsPort, queryWire(`v.${ZONE}.`, "TXT", { id: nextId++ & 0xffff }), timeoutMs));
  expect(m.rcode).toBe(Rcode.NOERROR);
  return m.answers.map((r) => rdataToText(r.type, r.rdata)).join(" ");
}

/** The merged /metrics as `name{labels}` → value. */
async function metrics(): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

/** Messages each query process received so far, by slot. */
async function perProcess(): Promise<[number, number]> {
  const m = await metrics();
  return [m.get('backstop_front_process_messages_total{process="1"}') ?? NaN, m.get('backstop_front_process_messages_total{process="2"}') ?? NaN];
}

/** Sum of the series of `name` whose labels contain `labels`. */
function sum(m: Map<string, number>, name: string, labels = ""): number {
  let total = 0;
  for (const [key, value] of m) if (key.startsWith(`${name}{`) && key.includes(labels)) total += value;
  return total;
}

/** The query processes as the owner logged them starting: slot → pid (the latest start of each slot). */
function queryProcesses(): Map<number, number> {
  const out = new Map<number, number>();
  for (const m of output.matchAll(/"slot":(\d+),"pid":(\d+),"msg":"query process listening"/g)) out.set(Number(m[1]), Number(m[2]));
  return out;
}

describe("BACKSTOP_FRONT_PROCESSES=2", () => {
  it("both query processes answer dig and kdig over UDP and TCP; /metrics merges them", async () => {
    const before = await perProcess();
    // dig and kdig, UDP and TCP (TCP connections are handed out in turn by the owner).
    for (const args of [[], ["+tcp"]]) {
      const d = await digAt({ port: dnsPort, args, name: `www.${ZONE}.`, type: "A" });
      expect(d.seen.rcode).toBe("NOERROR");
      expect(d.seen.answers).toEqual([`www.${ZONE}. 300 in a 192.0.2.80`]);
      const k = await kdig({ port: dnsPort, zone: `www.${ZONE}.`, type: "A", extra: args, timeoutMs: 5_000 });
      expect(k.records.map(recordLine)).toEqual([`www.${ZONE}. 300 A 192.0.2.80`]);
    }
    // Until each process has answered (the kernel picks the reader of each datagram): bounded at 400 queries.
    let sent = 0;
    await waitFor("both processes to answer", async () => {
      for (let i = 0; i < 20; i++, sent++) expect(await txt()).toBe(`"version 1"`);
      const now = await perProcess();
      return now[0] > before[0] && now[1] > before[1];
    }, 60_000);
    expect(sent).toBeLessThanOrEqual(400);
    const m = await metrics();
    const [one, two] = await perProcess();
    expect(m.get("backstop_front_processes")).toBe(2);
    // Every message a process counted is in the merged, summed counter (the scrape itself adds none).
    expect(sum(m, "backstop_dns_messages_total")).toBe(m.get('backstop_front_process_messages_total{process="1"}')! + m.get('backstop_front_process_messages_total{process="2"}')!);
    expect(sum(m, "backstop_front_queries_total", 'result="hit"')).toBeGreaterThan(0);
    // The owner's own series are there too: the zones it keeps.
    expect(m.get("backstop_zones")).toBe(2);
    console.log(`front processes: ${one} and ${two} messages after ${sent} queries`);
  }, 90_000);

  it("a NOTIFY to the port reaches the owner whichever process gets it: one NOTIFY, one SOA check", async () => {
    // procs.test's checks: its serial has not moved, so each is "up-to-date" (big-axfr.test, which has no
    // primary to ask, fails its own checks meanwhile: result "error", not counted here).
    const soaChecks = async () => (await metrics()).get('backstop_transfers_total{kind="soa",result="up-to-date"}') ?? 0;
    const landed = new Set<number>();
    let n = 0;
    // One NOTIFY at a time (nothing else is sent meanwhile), until both processes have received one.
    for (; n < 30 && landed.size < 2; n++) {
      const [checks, p] = [await soaChecks(), await perProcess()];
      const reply = decodeMessage(await udpExchange(dnsPort, notifyWire(`${ZONE}.`, { id: 500 + n }), 5_000));
      expect(reply.rcode).toBe(Rcode.NOERROR);
      expect(reply.id).toBe(500 + n);
      await waitFor(`the SOA check NOTIFY ${n} asked for`, async () => (await soaChecks()) >= checks + 1, 20_000);
      const after = await perProcess();
      if (after[0] > p[0]) landed.add(1);
      if (after[1] > p[1]) landed.add(2);
      // Exactly one: the next round starts from here, and the total is checked at the end.
      expect(await soaChecks()).toBe(checks + 1);
    }
    expect([...landed].sort()).toEqual([1, 2]);
    const m = await metrics();
    expect(m.get('backstop_notify_total{result="accepted"}')).toBeGreaterThanOrEqual(n);
  }, 120_000);

  it("an AXFR through a query process is streamed by the owner: the zone knotd serves, and one of many messages whole", async () => {
    const fromReplica = async () => sum(await metrics(), "backstop_xfr_out_reads_total", 'source="replica"');
    const streamed = await fromReplica();
    const ours = await kdig({ port: dnsPort, zone: `${ZONE}.`, type: "AXFR", timeoutMs: 10_000 });
    // From the owner's own (passive) replica, which kept the version its transfer built (session 11).
    expect(await fromReplica()).toBeGreaterThan(streamed);
    const theirs = await kdig({ port: knotd!.port, zone: `${ZONE}.`, type: "AXFR", timeoutMs: 10_000 });
    expect(ours.errors, ours.stdout + ours.stderr).toEqual([]);
    expect(ours.records.map(recordLine).sort()).toEqual(theirs.records.map(recordLine).sort());
    // More messages than the owner sends ahead: each half window taken by the client asks for more.
    const big = await kdig({ port: dnsPort, zone: `${BIG}.`, type: "AXFR", timeoutMs: 30_000 });
    expect(big.errors, big.stderr).toEqual([]);
    const messages = Number(/Received \d+ B \((\d+) messages?, (\d+) records?\)/.exec(big.stdout)?.[1]);
    expect(messages).toBeGreaterThan(STREAM_WINDOW);
    const txts = big.records.filter((r) => r.type === "TXT");
    expect(txts).toHaveLength(BIG_RECORDS);
    expect(new Set(txts.map((r) => r.owner)).size).toBe(BIG_RECORDS);
    expect(big.records.at(0)!.type).toBe("SOA");
    expect(big.records.at(-1)!.type).toBe("SOA");
  }, 60_000);

  it("commits by the owner's refresh machine: a query right after each gets the new version from every process", async () => {
    const ROUNDS = 30;
    const serial = async () => (await metrics()).get(`backstop_zone_serial{zone="${ZONE}"}`);
    const hitsBefore = sum(await metrics(), "backstop_front_queries_total", 'result="hit"');
    const started = Date.now();
    for (let n = 2; n <= ROUNDS + 1; n++) {
      // Six queries from six sockets: the old version is cached in whichever processes they reached.
      for (let i = 0; i < 6; i++) expect(await txt()).toBe(`"version ${n - 1}"`);
      await knotd!.updateZone(ZONE, zoneText(n)); // knotd NOTIFYs the port (over TCP)
      await waitFor(`serial ${n} committed`, async () => (await serial()) === n, 30_000);
      // Committed, and the commit has reached every process's cache: no process may serve version n-1.
      for (let i = 0; i < 6; i++) expect(await txt(), `right after commit ${n}`).toBe(`"version ${n}"`);
    }
    // The old answers really were cached: without the fan-out they would have been served.
    expect(sum(await metrics(), "backstop_front_queries_total", 'result="hit"') - hitsBefore).toBeGreaterThanOrEqual(ROUNDS);
    console.log(`${ROUNDS} commits across 2 query processes in ${Date.now() - started} ms`);
  }, 120_000);

  it("each query process takes the versions the owner's transfers built from the owner (IXFR changesets, AXFR snapshot file), none from the Worker", async () => {
    const loads = async (kind: string) => sum(await metrics(), "backstop_replica_load_seconds_count", `kind="${kind}"`);
    const serial = async () => (await metrics()).get(`backstop_zone_serial{zone="${ZONE}"}`)!;
    const [full, journal, relayed] = [await loads("full"), await loads("ixfr"), await loads("snapshot")];
    const nodesFromReplica = async () => sum(await metrics(), "backstop_ixfr_nodes_total", 'path="replica"');
    const nodes = await nodesFromReplica();
    // An IXFR: the owner relays the changesets, each process applies them to the version it holds.
    const n = (await serial()) + 1;
    await knotd!.updateZone(ZONE, zoneText(n));
    await waitFor(`serial ${n} committed`, async () => (await serial()) === n, 30_000);
    // The owner sent the Worker the changed nodes, from its own replica of the version the IXFR starts from.
    expect(await nodesFromReplica()).toBeGreaterThan(nodes);
    await waitFor("both processes load it from the owner", async () => (await loads("snapshot")) >= relayed + 2, 10_000);
    // A forced AXFR: the owner packs the stream, writes one snapshot file, both processes read it.
    const forced = await fetch(`${worker!.base}/api/v1/zones/${ZONE}/refresh`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
      body: JSON.stringify({ force: "axfr" }),
    });
    expect(forced.status).toBe(202);
    await waitFor("both processes load the AXFR's version from the owner", async () => (await loads("snapshot")) >= relayed + 4, 30_000).catch(async (err: unknown) => {
      throw new Error(`${(err as Error).message} full=${await loads("full")} snap=${await loads("snapshot")}\n${output.slice(-4000)}`);
    });
    expect(await loads("full"), "versions read whole from the Worker").toBe(full);
    expect(await loads("ixfr"), "journals read from the Worker").toBe(journal);
    // And it is what they answer from (the response cache dropped the zone at the commit).
    const answered = sum(await metrics(), "backstop_front_queries_total", 'result="replica"');
    for (let i = 0; i < 6; i++) expect(await txt()).toBe(`"version ${n}"`);
    expect(sum(await metrics(), "backstop_front_queries_total", 'result="replica"')).toBeGreaterThan(answered);
  }, 90_000);

  it("a query process killed with SIGKILL is replaced, and answering goes on", async () => {
    const before = queryProcesses();
    expect(before.size).toBe(2);
    const [slot, pid] = [...before.entries()][0]!;
    const restarts = async () => (await metrics()).get("backstop_front_process_restarts_total") ?? 0;
    expect(await restarts()).toBe(0);
    process.kill(pid, "SIGKILL");
    // Answers throughout: a datagram the dead process had taken is lost, so each question may be asked
    // again (as a resolver does), at most three times.
    const expected = (await txt()).trim();
    for (let i = 0; i < 30; i++) {
      let answer: string | undefined;
      for (let attempt = 0; attempt < 3 && answer === undefined; attempt++) answer = await txt(1_000).catch(() => undefined);
      expect(answer, `question ${i}`).toBe(expected);
    }
    await waitFor("the slot to be started again", () => queryProcesses().get(slot) !== pid, 30_000);
    expect(await restarts()).toBe(1);
    await waitFor("both processes up", async () => (await metrics()).get("backstop_front_processes") === 2, 30_000);
    // The replacement answers: its slot's count (from 0 again) grows.
    await waitFor("the replacement to answer", async () => {
      for (let i = 0; i < 10; i++) expect(await txt()).toBe(expected);
      return (await perProcess())[slot - 1]! > 0;
    }, 30_000);
  }, 90_000);
});
