/**
 * @module Commit events over the in-memory Worker (`memory-worker.ts`): a successful commit is announced
 * once with the zone and the committed version, an aborted or refused one never, a listener that throws does
 * not fail the commit, and every other `WorkerApi` call passes through to the real object.
 */
import { describe, expect, it } from "vitest";
import { RRClass, RRType } from "../../../dns/constants.ts";
import { Name } from "../../../dns/name.ts";
import { rdataFromText } from "../../../dns/rdata/index.ts";
import type { ResourceRecord } from "../../../dns/message.ts";
import { CommitEvents, watchCommits } from "./commit-watch.ts";
import { MemoryWorker } from "../../testing/memory-worker.ts";

function soa(serial: number): ResourceRecord {
  const rdata = rdataFromText(RRType.SOA, `ns.watch.test. host.watch.test. ${serial} 7200 3600 1209600 300`, Name.root);
  return { name: Name.parse("watch.test."), type: RRType.SOA, class: RRClass.IN, ttl: 300, rdata };
}

function setup() {
  const worker = new MemoryWorker();
  worker.addZone({ name: "watch.test", model: "secondary", primaries: [{ address: "192.0.2.1", port: 53 }], keys: [], notifyAllow: [] });
  const events = new CommitEvents();
  const heard: Array<[string, number]> = [];
  events.on((zone, version) => {
    heard.push([zone, version]);
  });
  return { worker, api: watchCommits(worker, events), events, heard };
}

async function commitSerial(api: ReturnType<typeof setup>["api"], serial: number, finish: "commit" | "abort") {
  const session = await api.beginIngest("watch.test", "me", "axfr", serial);
  await session.beginFull(soa(serial));
  await session.end();
  return finish === "commit" ? session.commit() : session.abort("test");
}

describe("watchCommits", () => {
  it("announces each successful commit with its version", async () => {
    const { api, heard } = setup();
    expect(await api.acquireLease("watch.test", "me", 60_000)).toBe(true);
    const first = await commitSerial(api, 1, "commit");
    const second = await commitSerial(api, 2, "commit");
    expect(heard).toEqual([
      ["watch.test", first!.version],
      ["watch.test", second!.version],
    ]);
    expect(second!.version).toBeGreaterThan(first!.version);
  });

  it("says nothing of an abort, nor of an ingest the Worker refuses", async () => {
    const { api, heard } = setup();
    await expect(api.beginIngest("watch.test", "me", "axfr", 1)).rejects.toThrow(/lease/);
    await api.acquireLease("watch.test", "me", 60_000);
    await commitSerial(api, 1, "abort");
    expect(heard).toEqual([]);
  });

  it("a listener that throws does not fail the commit; passes other calls through", async () => {
    const { api, events, worker, heard } = setup();
    events.on(() => {
      throw new Error("listener fault");
    });
    await api.acquireLease("watch.test", "me", 60_000);
    await expect(commitSerial(api, 5, "commit")).resolves.toMatchObject({ serial: 5 });
    expect(heard).toHaveLength(1);
    expect((await api.zones()).map((z) => z.name)).toEqual(["watch.test"]);
    expect(worker.config("watch.test").serial).toBe(5);
  });

  it("passes beginIngest's options (the D1 cap a whole-zone ingest carries) to the Worker", async () => {
    const { api, worker } = setup();
    const seen: unknown[] = [];
    const begin = worker.beginIngest.bind(worker);
    worker.beginIngest = (zone, owner, kind, serial, options) => {
      seen.push(options);
      return begin(zone, owner, kind, serial);
    };
    await api.acquireLease("watch.test", "me", 60_000);
    await api.beginIngest("watch.test", "me", "axfr", 1, { maxDbBytes: 1234 });
    expect(seen).toEqual([{ maxDbBytes: 1234 }]);
  });

  it("the commit resolves only once a listener's promise settles (the multi-process fan-out), and a rejection does not fail it", async () => {
    const { api, events } = setup();
    let release: () => void = () => undefined;
    const acked = new Promise<void>((resolve) => (release = resolve));
    let done = false;
    events.on(() => acked);
    events.on(() => Promise.reject(new Error("a process that never answers")));
    await api.acquireLease("watch.test", "me", 60_000);
    const committing = commitSerial(api, 7, "commit").then((r) => {
      done = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(done).toBe(false);
    release();
    await expect(committing).resolves.toMatchObject({ serial: 7 });
  });
});
