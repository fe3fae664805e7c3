/**
 * Issue 28, session 10: an IXFR from a real knotd, into two local stacks at once (each its own Worker under
 * `wrangler dev` with its own D1, and the service in this process). Stack A runs the port-53 replica, which
 * holds the version the IXFR starts from: the service sends the changed nodes it computed from it, and the
 * Worker stores them without reading a block (`backstop_ixfr_nodes_total{path="replica"}`). Stack B runs with
 * the replica off (`BACKSTOP_REPLICA_MAX_BYTES=0`): the changesets go alone, as before (`path="worker"`). After
 * the IXFR both Workers serve the same version, record for record the zone knotd serves, and answer the same.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Name } from "../../dns/name.ts";
import { parseRecordStream } from "../../contract/record-stream.ts";
import { zoneRecords } from "../../answer/testing/load-zone.ts";
import { startKnotd, type PeerHandle } from "../peers/index.ts";
import { generateZone } from "../zones/generate.ts";
import { startLocalStack, type LocalStack } from "./local-stack.ts";
import { waitFor } from "./service-under-test.ts";

const ZONE = "ixfr-nodes.test";
const APEX = Name.parseAbsolute(`${ZONE}.`);
const RECORDS = 2000;
const text = (serial: number, records: number) =>
  generateZone({ origin: ZONE, records, seed: 28, serial }) + `MiXeD.${ZONE}. 300 IN TXT "s${serial}"\ngone-${serial}.${ZONE}. 300 IN A 192.0.2.${serial}\n`;

let withReplica: LocalStack | undefined;
let without: LocalStack | undefined;
let knotd: PeerHandle;

beforeAll(async () => {
  [withReplica, without] = await Promise.all([
    startLocalStack({ env: { BACKSTOP_FRONT_CACHE_ENTRIES: "0", BACKSTOP_INSTANCE_ID: "nodes-a" } }),
    // Another instance id: the replica's hook into transfers is registered per instance (`owner-load.ts`).
    startLocalStack({ env: { BACKSTOP_FRONT_CACHE_ENTRIES: "0", BACKSTOP_REPLICA_MAX_BYTES: "0", BACKSTOP_INSTANCE_ID: "nodes-b" } }),
  ]);
  knotd = await startKnotd({ zones: [{ name: ZONE, text: text(1, RECORDS), notify: [`127.0.0.1:${withReplica.dnsPort}`, `127.0.0.1:${without.dnsPort}`] }] });
}, 240_000);

afterAll(async () => {
  await knotd?.stop();
  await Promise.all([withReplica?.stop(), without?.stop()]);
});

const serialOf = async (stack: LocalStack) => (await stack.api("GET", `/api/v1/zones/${ZONE}`)).json.serial;

/** IXFRs committed by path, as the service's /metrics counts them. */
async function nodesPaths(stack: LocalStack): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await stack.service.metrics.ixfrNodes.get()).values) out[String(v.labels.path)] = v.value;
  return out;
}

/** The Worker's served version as sorted record lines (owners lower-case). */
async function served(stack: LocalStack): Promise<string[]> {
  const res = await fetch(`${stack.base}/internal/v1/zones/${ZONE}/versions/current/records`, { headers: { authorization: `Bearer ${stack.internalToken}` } });
  expect(res.status).toBe(200);
  return lines(parseRecordStream(new Uint8Array(await res.arrayBuffer()), APEX));
}

const lines = (records: readonly { name: Name; type: number; ttl: number; rdata: Uint8Array }[]) =>
  [...new Set(records.map((r) => `${r.name.toString().toLowerCase()} ${r.type} ${r.ttl} ${Buffer.from(r.rdata).toString("hex")}`))].sort();

describe("an IXFR's changed nodes from the replica (issue 28)", () => {
  it("with the replica holding the base, the Worker stores the service's nodes; without it, reads its blocks; both serve knotd's zone", async () => {
    for (const stack of [withReplica!, without!]) {
      const created = await stack.api("POST", "/api/v1/zones", { name: ZONE, model: "secondary", primaries: [{ address: "127.0.0.1", port: knotd.port }], notifyAllow: ["127.0.0.1/32"] });
      expect(created.status, JSON.stringify(created.json)).toBe(201);
    }
    for (const stack of [withReplica!, without!]) await waitFor("serial 1 in D1", async () => (await serialOf(stack)) === 1, 60_000);
    // The replica holds serial 1, and the zone change feed has described the zone (its id known): `resolve`
    // answers for it only then.
    expect(without!.service.replica).toBeUndefined();
    const replica = withReplica!.service.replica!;
    await waitFor("the replica holds serial 1 and vouches for it", () => {
      try {
        return replica.resolve(APEX)?.zone?.serial(APEX) === 1;
      } catch {
        return false;
      }
    }, 20_000);

    await knotd.updateZone(ZONE, text(2, RECORDS + 25));
    for (const stack of [withReplica!, without!]) {
      await waitFor("serial 2 in D1", async () => (await serialOf(stack)) === 2, 60_000);
      expect((await stack.api("GET", `/api/v1/zones/${ZONE}`)).json.lastTransfer).toMatchObject({ kind: "ixfr", result: "ok" });
    }
    expect(await nodesPaths(withReplica!)).toEqual({ replica: 1 });
    expect(await nodesPaths(without!)).toEqual({ worker: 1 });

    // Both Workers serve knotd's zone, record for record; and answer alike over DoH (a changed owner, one gone, one new).
    const want = lines(zoneRecords(text(2, RECORDS + 25), APEX));
    const [a, b] = [await served(withReplica!), await served(without!)];
    expect(a).toEqual(want);
    expect(b).toEqual(want);
    for (const [name, type] of [[`mixed.${ZONE}`, "TXT"], [`gone-1.${ZONE}`, "A"], [`gone-2.${ZONE}`, "A"], [ZONE, "SOA"]] as const) {
      const [x, y] = [await withReplica!.doh(name, type), await without!.doh(name, type)];
      expect(x, `${name} ${type}`).toEqual(y);
    }
    expect((await withReplica!.doh(`gone-2.${ZONE}`, "A")).answers).toEqual([`gone-2.${ZONE}. 300 192.0.2.2`]);
    // The replica's own new version came from the same nodes: equal to what the Worker now serves.
    await waitFor("the replica holds serial 2", () => replica.heldZone(ZONE)?.serial(APEX) === 2, 10_000);
  }, 180_000);
});
