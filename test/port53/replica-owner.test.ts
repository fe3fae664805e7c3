/**
 * Issue 27, "Loading": the service instance that ran a transfer loads the version it has just committed into
 * its replica from the record stream it stored, without reading it back from the Worker. The whole local
 * stack (`test/transfer/local-stack.ts`: the Worker under `wrangler dev`, the service in this process with
 * one front process) and knotd as primary:
 * 1. the AXFR of a new zone (its stream cut in small pieces, so the replica merges many packed runs): the
 *    replica holds the committed version, octet for octet what packing the Worker's record stream of that
 *    version gives, and has read nothing of the zone from the Worker (`Replica.workerReads`);
 * 2. an IXFR after an edit: the changesets applied to the held version, again equal to a reload, no read;
 * 3. a transfer whose commit fails: the replica keeps the version it held (the same object), and the next
 *    transfer that commits is loaded as before.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Name } from "../../dns/name.ts";
import { CompactZone } from "../../answer/store/compact-zone.ts";
import { TREE_MAIN, TREE_NSEC3 } from "../../answer/store/stored-node.ts";
import { httpReplicaSource } from "../../transfer-service/server/replica/replica-source.ts";
import type { Replica } from "../../transfer-service/server/replica/replica.ts";
import type { IngestSession, WorkerApi } from "../../transfer-service/worker/worker-api.ts";
import { startKnotd, type PeerHandle } from "../peers/index.ts";
import { generateZone } from "../zones/generate.ts";
import { startLocalStack, type LocalStack } from "../transfer/local-stack.ts";
import { waitFor } from "../transfer/service-under-test.ts";

const ZONE = "owner-load.test";
const RECORDS = 3000;
/** Mixed-case owners (the spelling the primary sent is kept) and an RRset of several records. */
const extra = (serial: number) => `MiXeD-Case.${ZONE}. 300 IN A 192.0.2.1\nmixed-case.${ZONE}. 300 IN TXT "t${serial}"\nmulti.${ZONE}. 300 IN A 192.0.2.2\nmulti.${ZONE}. 300 IN A 192.0.2.3\n`;
const text = (serial: number, records: number) => generateZone({ origin: ZONE, records, seed: 27, serial }) + extra(serial);

let stack: LocalStack | undefined;
let knotd: PeerHandle;
/** The next commit is refused (the Worker keeps its version; refresh.ts aborts the session). */
let refuseCommit = false;

/** The Worker client with small stream pieces (many packed runs to merge) and a commit that can be refused. */
function wrap(client: WorkerApi): WorkerApi {
  return new Proxy(client, {
    get(target, prop) {
      if (prop !== "beginIngest") {
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      }
      const beginIngest: WorkerApi["beginIngest"] = async (...args) => {
        const session = await target.beginIngest(...args);
        const commit = session.commit.bind(session);
        session.commit = () => (refuseCommit ? Promise.reject(new Error("test: commit refused")) : commit());
        return new Proxy(session, {
          get: (s, p) => (p === "rawChunkBytes" ? 16 * 1024 : Reflect.get(s, p, s) as unknown),
        }) as IngestSession;
      };
      return beginIngest;
    },
  });
}

const replica = (): Replica => stack!.service.replica!;
const zoneJson = async () => (await stack!.api("GET", `/api/v1/zones/${ZONE}`)).json;

/** The version the replica holds, against packing the Worker's record stream of the same version. */
async function expectEqualToReload(): Promise<void> {
  const version = replica().heldVersion(ZONE)!;
  const source = httpReplicaSource({ workerUrl: stack!.base, internalToken: stack!.internalToken, timeoutMs: 30_000 });
  try {
    const stream = await source.versionRecords(ZONE, version);
    expect(stream, `version ${version} is the served one`).not.toBeNull();
    const reloaded = CompactZone.fromStream(stream!, Name.parseAbsolute(`${ZONE}.`));
    const held = replica().heldZone(ZONE)!;
    expect(held.records).toBe(reloaded.records);
    for (const tree of [TREE_MAIN, TREE_NSEC3] as const) {
      expect(Buffer.from(held.trees[tree].data).equals(Buffer.from(reloaded.trees[tree].data)), `tree ${tree}`).toBe(true);
      expect([...held.trees[tree].offsets]).toEqual([...reloaded.trees[tree].offsets]);
    }
  } finally {
    await source.close();
  }
}

beforeAll(async () => {
  stack = await startLocalStack({ wrapWorker: wrap, env: { BACKSTOP_FRONT_CACHE_ENTRIES: "0" } });
  knotd = await startKnotd({ zones: [{ name: ZONE, text: text(1, RECORDS), notify: [`127.0.0.1:${stack.dnsPort}`] }] });
}, 240_000);

afterAll(async () => {
  await knotd?.stop();
  await stack?.stop();
});

describe("the owner loads the version it committed, without reading it back", () => {
  it("after a full transfer: the packed stream equals a reload of the version, and nothing was read from the Worker", async () => {
    const created = await stack!.api("POST", "/api/v1/zones", {
      name: ZONE,
      model: "secondary",
      primaries: [{ address: "127.0.0.1", port: knotd.port }],
      notifyAllow: ["127.0.0.1/32"],
    });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    await waitFor("serial 1 in D1", async () => (await zoneJson()).serial === 1, 60_000);
    await waitFor("the replica holds it", () => replica().heldVersion(ZONE) !== undefined, 10_000);
    expect(replica().heldZone(ZONE)!.serial(Name.parseAbsolute(`${ZONE}.`))).toBe(1);
    expect(replica().workerReads(ZONE)).toBe(0);
    await expectEqualToReload();
  }, 120_000);

  it("after an IXFR: the changesets applied to the held version equal a reload, and nothing was read", async () => {
    const before = replica().heldVersion(ZONE)!;
    await knotd.updateZone(ZONE, text(2, RECORDS + 20));
    await waitFor("serial 2 in D1", async () => (await zoneJson()).serial === 2, 60_000);
    expect((await zoneJson()).lastTransfer).toMatchObject({ kind: "ixfr", result: "ok" });
    await waitFor("the replica holds serial 2", () => replica().heldZone(ZONE)?.serial(Name.parseAbsolute(`${ZONE}.`)) === 2, 10_000);
    expect(replica().heldVersion(ZONE)).toBeGreaterThan(before);
    expect(replica().workerReads(ZONE)).toBe(0);
    await expectEqualToReload();
  }, 120_000);

  it("a transfer whose commit fails leaves the replica as it was; the next one is loaded", async () => {
    const version = replica().heldVersion(ZONE);
    const zone = replica().heldZone(ZONE);
    refuseCommit = true;
    await knotd.updateZone(ZONE, text(3, RECORDS + 40));
    await waitFor("the refused commit in the transfer log", async () => {
      const log = (await stack!.api("GET", `/api/v1/zones/${ZONE}/transfers`)).json;
      return JSON.stringify(log).includes("commit refused");
    }, 60_000);
    expect((await zoneJson()).serial).toBe(2);
    expect(replica().heldVersion(ZONE)).toBe(version);
    expect(replica().heldZone(ZONE)).toBe(zone);
    refuseCommit = false;
    expect((await stack!.api("POST", `/api/v1/zones/${ZONE}/refresh`)).status).toBe(202);
    await waitFor("serial 3 in D1", async () => (await zoneJson()).serial === 3, 60_000);
    await waitFor("the replica holds serial 3", () => replica().heldZone(ZONE)?.serial(Name.parseAbsolute(`${ZONE}.`)) === 3, 10_000);
    expect(replica().workerReads(ZONE)).toBe(0);
    await expectEqualToReload();
  }, 120_000);
});
