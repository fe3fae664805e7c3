/**
 * @module Primary zones end to end (issue 22), with the real Worker (wrangler dev), the real service, real
 * `nsupdate`, `knsupdate` and `dig`, and knotd and named as downstream secondaries of Backstop:
 * - an API edit is answered over DoH and on port 53 within a bounded wait of the API's answer (0.1–0.7 s
 *   here; the front's cache primed first, so its drop on a commit the service did not make is tested);
 * - RFC 2136 UPDATE with nsupdate (UDP and TCP) and knsupdate, with the key; without a key, with a key
 *   `updateAllow` does not name, and with an unknown key; each prerequisite failure with its rcode
 *   (YXDOMAIN, NXDOMAIN, YXRRSET, NXRRSET, NOTZONE), none of which moves the serial;
 * - knotd and named follow every kind of change (PUT, DELETE, PATCH, import, UPDATE) by NOTIFY and IXFR,
 *   and hold Backstop's zone record for record;
 * - an API PUT and an nsupdate racing on one RRset leave one of the two whole and two serial steps.
 * One stack for the file (beforeAll).
 */
import { randomBytes } from "node:crypto";
import dgram from "node:dgram";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { typeFromString } from "../../dns/constants.ts";
import { decodeMessage } from "../../dns/message.ts";
import { rdataToText } from "../../dns/rdata/index.ts";
import { queryWire } from "../../dns/testing/query-wire.ts";
import { kdig, recordLine, startKnotd, startNamed } from "../peers/index.ts";
import type { KdigResult } from "../peers/kdig.ts";
import type { PeerHandle, TsigKey } from "../peers/types.ts";
import { runTool } from "../peers/run-tool.ts";
import { startLocalStack, type LocalStack } from "../transfer/local-stack.ts";
import { waitFor } from "../transfer/service-under-test.ts";

const ZONE = "prim.test";
/**
 * The issue asks for answers within 1 s of a change; measured here 0.1–0.7 s from the API's answer (the
 * figures are printed). The wait is bounded at 3 s so a machine a few times slower, or the full suite on
 * two busy cores, still tells the truth about whether the answer follows, not about its speed.
 */
const ANSWER_BOUND_MS = 3_000;
const secret = () => randomBytes(32).toString("base64");
const updKey: TsigKey = { name: "upd-key", algorithm: "hmac-sha256", secret: secret() };
const otherKey: TsigKey = { name: "other-key", algorithm: "hmac-sha256", secret: secret() };
const downKey: TsigKey = { name: "down-key", algorithm: "hmac-sha256", secret: secret() };

let stack: LocalStack | undefined;
let knotd: PeerHandle | undefined;
let named: PeerHandle | undefined;

const api = (method: string, p: string, body?: unknown) => stack!.api(method, p, body);
const serial = async () => (await api("GET", `/api/v1/zones/${ZONE}`)).json.serial as number;

/** One UDP query to the service's DNS port (the port-53 front), the answer's records of `type` as text. */
function udp53(name: string, type: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket("udp4");
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`no answer from port ${stack!.dnsPort} for ${name} ${type}`));
    }, 5_000);
    socket.on("message", (msg) => {
      clearTimeout(timer);
      socket.close();
      const reply = decodeMessage(new Uint8Array(msg));
      const qtype = typeFromString(type);
      resolve(reply.answers.filter((rr) => rr.type === qtype).map((rr) => rdataToText(rr.type, rr.rdata)).sort());
    });
    socket.send(queryWire(name, type, { id: 4242 }), stack!.dnsPort, "127.0.0.1");
  });
}

const dohData = async (name: string, type: string) => (await stack!.doh(name, type)).answers.map((a) => a.split(" ").slice(2).join(" ")).sort();

/** Waits until both DoH and port 53 answer `expected`; returns how long after `since` that was. */
async function bothAnswer(name: string, type: string, expected: string[], since: number, boundMs: number): Promise<number> {
  const want = expected.slice().sort();
  let doh = -1, port53 = -1;
  await waitFor(
    `${name} ${type} = ${want.join(",")} over DoH and port 53`,
    async () => {
      if (doh < 0 && JSON.stringify(await dohData(name, type)) === JSON.stringify(want)) doh = performance.now() - since;
      if (port53 < 0 && JSON.stringify(await udp53(name, type)) === JSON.stringify(want)) port53 = performance.now() - since;
      return doh >= 0 && port53 >= 0;
    },
    boundMs,
  );
  return Math.max(doh, port53);
}

/** nsupdate's script run; `key` as `-y`, TCP with `tcp`. */
const nsupdate = (script: string, opts: { key?: TsigKey; tcp?: boolean; tool?: "nsupdate" | "knsupdate" } = {}) =>
  runTool(
    opts.tool ?? "nsupdate",
    [...(opts.key ? ["-y", `${opts.key.algorithm}:${opts.key.name}:${opts.key.secret}`] : []), ...(opts.tcp ? ["-v"] : [])],
    { input: `server 127.0.0.1 ${stack!.dnsPort}\nzone ${ZONE}.\n${script}\nsend\n`, timeoutMs: 20_000 },
  );

const sorted = (r: KdigResult) => r.records.map(recordLine).sort();
const axfrOf = async (port: number, key?: TsigKey) => sorted(await kdig({ port, zone: ZONE, type: "AXFR", timeoutMs: 20_000, ...(key ? { key } : {}) }));

/** Both downstreams at the zone's serial now, by NOTIFY (they are never told to refresh). */
async function downstreamsFollow(): Promise<void> {
  const want = await serial();
  for (const peer of [knotd!, named!]) {
    await waitFor(`serial ${want} at ${peer.kind}`, async () => (await peer.serial(ZONE)) === want, 20_000).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}; ${peer.kind} said:\n${peer.output().slice(-3000)}`, { cause: err });
    });
  }
}

beforeAll(async () => {
  stack = await startLocalStack();
  for (const key of [updKey, otherKey, downKey]) expect((await api("POST", "/api/v1/tsig-keys", key)).status).toBe(201);
  const created = await api("POST", "/api/v1/zones", {
    name: ZONE,
    model: "primary",
    soa: { mname: "ns1", rname: "hostmaster", refresh: 3600, retry: 600, expire: 604800, minimum: 60 },
    nameservers: ["ns1"],
    updateAllow: [{ address: "127.0.0.1", tsigKey: updKey.name }],
    transferAllow: [{ address: "127.0.0.1", tsigKey: downKey.name }],
  });
  expect(created.status, JSON.stringify(created.json)).toBe(201);
  expect((await api("PUT", `/api/v1/zones/${ZONE}/rrsets/ns1/A`, { ttl: 60, records: ["192.0.2.53"] })).status).toBe(200);
  const secondary = { name: ZONE, secondaryOf: { address: "127.0.0.1", port: stack.dnsPort, key: downKey.name } };
  [knotd, named] = await Promise.all([startKnotd({ keys: [downKey], zones: [secondary] }), startNamed({ keys: [downKey], zones: [secondary] })]);
  const alsoNotify = [knotd, named].map((p) => ({ address: "127.0.0.1", port: p.port, tsigKey: downKey.name }));
  expect((await api("PATCH", `/api/v1/zones/${ZONE}`, { alsoNotify })).status).toBe(200);
  await downstreamsFollow();
}, 240_000);

afterAll(async () => {
  await knotd?.stop();
  await named?.stop();
  await stack?.stop();
});

describe("API edits", () => {
  it("are answered over DoH and on port 53 at once (bounded wait), and followed by knotd and named by NOTIFY and IXFR", async () => {
    // Prime the front's cache with the old answer (NXDOMAIN), so the commit's cache drop is what is tested.
    expect(await udp53(`www.${ZONE}`, "A")).toEqual([]);
    // The front's cache hears of the Worker's commit (the control push), not only of the service's own.
    const cache = stack!.service.cache!;
    const told: Array<[string, number]> = [];
    const committed = cache.committed.bind(cache);
    cache.committed = (zone, version) => {
      told.push([zone, version]);
      committed(zone, version);
    };
    const times: number[] = [];
    let started = performance.now();
    const put = await api("PUT", `/api/v1/zones/${ZONE}/rrsets/www/A`, { ttl: 60, records: ["192.0.2.1", "192.0.2.2"] });
    expect(put.status).toBe(200);
    await waitFor("the front's cache told of the API's commit", () => told.some(([z, v]) => z === ZONE && v === put.json.version), ANSWER_BOUND_MS);
    times.push(await bothAnswer(`www.${ZONE}`, "A", ["192.0.2.1", "192.0.2.2"], started, ANSWER_BOUND_MS));
    await downstreamsFollow();

    started = performance.now();
    const patch = await api("PATCH", `/api/v1/zones/${ZONE}/rrsets`, {
      rrsets: [
        { owner: "www", type: "A", ttl: 60, records: ["192.0.2.3"] },
        { owner: "mail", type: "MX", ttl: 60, records: ["10 ns1"] },
      ],
    });
    expect(patch.status, JSON.stringify(patch.json)).toBe(200);
    times.push(await bothAnswer(`www.${ZONE}`, "A", ["192.0.2.3"], started, ANSWER_BOUND_MS));
    await downstreamsFollow();

    started = performance.now();
    expect((await api("DELETE", `/api/v1/zones/${ZONE}/rrsets/www/A`)).status).toBe(200);
    times.push(await bothAnswer(`www.${ZONE}`, "A", [], started, ANSWER_BOUND_MS));
    await downstreamsFollow();

    const file = `$TTL 60\n@ SOA ns1 hostmaster 1 3600 600 604800 60\n@ 3600 NS ns1\nns1 A 192.0.2.53\nmail MX 10 ns1\n$GENERATE 1-5 h$ A 198.51.100.$\n`;
    const res = await fetch(`${stack!.base}/api/v1/zones/${ZONE}/import`, {
      method: "POST",
      headers: { authorization: `Bearer ${stack!.adminToken}`, "content-type": "text/dns" },
      body: file,
    });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(((await res.json()) as { added: number }).added).toBe(5);
    started = performance.now();
    times.push(await bothAnswer(`h4.${ZONE}`, "A", ["198.51.100.4"], started, ANSWER_BOUND_MS));
    await downstreamsFollow();
    console.log(`API edit → DoH and port 53 answer: ${times.map((t) => t.toFixed(0)).join(", ")} ms`);

    expect(knotd!.output()).toMatch(/IXFR, incoming.*finished/);
    const ours = await axfrOf(stack!.dnsPort, downKey);
    expect(await axfrOf(knotd!.port)).toEqual(ours);
    expect(await axfrOf(named!.port)).toEqual(ours);
  }, 120_000);
});

describe("RFC 2136 UPDATE", () => {
  it("applies nsupdate over UDP and TCP and knsupdate with the key, one serial step each, followed downstream", async () => {
    let before = await serial();
    const udp = await nsupdate(`update add n1.${ZONE}. 300 A 192.0.2.77\nupdate add n1.${ZONE}. 300 TXT "one"`, { key: updKey });
    expect(udp.code, udp.stderr + udp.stdout).toBe(0);
    expect(await serial()).toBe(before + 1);
    expect(await dohData(`n1.${ZONE}`, "A")).toEqual(["192.0.2.77"]);

    before = await serial();
    const tcp = await nsupdate(`update delete n1.${ZONE}. TXT\nupdate add n2.${ZONE}. 300 CNAME n1.${ZONE}.`, { key: updKey, tcp: true });
    expect(tcp.code, tcp.stderr + tcp.stdout).toBe(0);
    expect(await serial()).toBe(before + 1);
    expect(await dohData(`n1.${ZONE}`, "TXT")).toEqual([]);

    before = await serial();
    const knot = await nsupdate(`update add k1.${ZONE}. 300 TXT "knot"`, { key: updKey, tool: "knsupdate" });
    expect(knot.code, knot.stderr + knot.stdout).toBe(0);
    expect(await serial()).toBe(before + 1);
    expect(await udp53(`k1.${ZONE}`, "TXT")).toEqual(['"knot"']);
    await downstreamsFollow();
    const ours = await axfrOf(stack!.dnsPort, downKey);
    expect(await axfrOf(knotd!.port)).toEqual(ours);
    expect(await axfrOf(named!.port)).toEqual(ours);
  }, 60_000);

  it.each<[string, string, { key?: TsigKey }, RegExp]>([
    ["without a key", `update add x.${ZONE}. 60 A 192.0.2.9`, {}, /REFUSED/],
    // Backstop holds it, but the service is handed only the keys the zone names: unknown here, BADKEY.
    ["with a key updateAllow does not name", `update add x.${ZONE}. 60 A 192.0.2.9`, { key: otherKey }, /NOTAUTH\(BADKEY\)/],
    ["with a key Backstop does not hold", `update add x.${ZONE}. 60 A 192.0.2.9`, { key: { name: "nobody-key", algorithm: "hmac-sha256", secret: secret() } }, /BADKEY|NOTAUTH|tsig/i],
    ["with the right name and a wrong secret", `update add x.${ZONE}. 60 A 192.0.2.9`, { key: { ...updKey, secret: secret() } }, /BADSIG|NOTAUTH|tsig/i],
    ["prereq nxdomain on a name in use: YXDOMAIN", `prereq nxdomain n1.${ZONE}.\nupdate add x.${ZONE}. 60 A 192.0.2.9`, { key: updKey }, /YXDOMAIN/],
    ["prereq yxdomain on a name not in use: NXDOMAIN", `prereq yxdomain nope.${ZONE}.\nupdate add x.${ZONE}. 60 A 192.0.2.9`, { key: updKey }, /NXDOMAIN/],
    ["prereq nxrrset on an RRset that exists: YXRRSET", `prereq nxrrset n1.${ZONE}. A\nupdate add x.${ZONE}. 60 A 192.0.2.9`, { key: updKey }, /YXRRSET/],
    ["prereq yxrrset on an RRset that does not exist: NXRRSET", `prereq yxrrset n1.${ZONE}. MX\nupdate add x.${ZONE}. 60 A 192.0.2.9`, { key: updKey }, /NXRRSET/],
    ["prereq yxrrset with other values: NXRRSET", `prereq yxrrset n1.${ZONE}. A 192.0.2.1\nupdate add x.${ZONE}. 60 A 192.0.2.9`, { key: updKey }, /NXRRSET/],
    ["an update outside the zone: NOTZONE", `update add x.elsewhere.test. 60 A 192.0.2.9`, { key: updKey }, /NOTZONE/],
  ])("refuses %s, and the serial stays", async (_why, script, opts, answer) => {
    const before = await serial();
    const res = await nsupdate(script, opts);
    expect(res.code).not.toBe(0);
    expect(`${res.stdout} ${res.stderr}`).toMatch(answer);
    expect(await serial()).toBe(before);
    expect(await dohData(`x.${ZONE}`, "A")).toEqual([]);
  }, 30_000);

  it("a matching value-dependent prerequisite lets the update through", async () => {
    const before = await serial();
    const res = await nsupdate(`prereq yxrrset n1.${ZONE}. A 192.0.2.77\nprereq nxdomain fresh.${ZONE}.\nupdate add fresh.${ZONE}. 60 A 192.0.2.10`, { key: updKey });
    expect(res.code, res.stderr + res.stdout).toBe(0);
    expect(await serial()).toBe(before + 1);
  }, 30_000);
});

describe("an API PUT and an nsupdate racing on one RRset", () => {
  it("leave one of the two whole and two serial steps", async () => {
    const before = await serial();
    const [put, upd] = await Promise.all([
      api("PUT", `/api/v1/zones/${ZONE}/rrsets/race/A`, { ttl: 60, records: ["198.51.100.1", "198.51.100.2"] }),
      nsupdate(`update delete race.${ZONE}. A\nupdate add race.${ZONE}. 60 A 203.0.113.9`, { key: updKey }),
    ]);
    expect(put.status, JSON.stringify(put.json)).toBe(200);
    expect(upd.code, upd.stderr + upd.stdout).toBe(0);
    expect(await serial()).toBe(before + 2);
    const now = await dohData(`race.${ZONE}`, "A");
    expect([["198.51.100.1", "198.51.100.2"], ["203.0.113.9"]]).toContainEqual(now);
    await downstreamsFollow();
    expect(await dohData(`race.${ZONE}`, "A")).toEqual(now);
    expect(await axfrOf(knotd!.port)).toEqual(await axfrOf(stack!.dnsPort, downKey));
  }, 60_000);
});
