/**
 * @module Proof that the harness starts each real peer the way later tests rely on, checked with a real,
 * independent client (kdig):
 * - an authoritative SOA, and a TSIG-guarded AXFR that yields exactly the generated zone;
 * - refusal without the key, with a wrong secret, key name or algorithm (the exact RCODE per peer,
 *   AXFR_REFUSAL) and with another zone's key;
 * - one zone per TSIG algorithm in SUPPORTED_TSIG_ALGORITHMS; an unkeyed zone transferred unsigned
 *   from loopback;
 * - updateZone serving the new serial, announced by a NOTIFY we catch, and answered as IXFR the way
 *   IXFR_ANSWER says, deletions included;
 * - reload() of a file changed behind the peer's back; serial regression, refused by knotd and named
 *   unless forced by a restart;
 * - kill, restart and stop leaving no process behind.
 * The four peers run concurrently, so the file takes seconds.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { formatRecord, generateZone, zoneRecords } from "../zones/generate.ts";
import { groupMembers } from "./daemon.ts";
import { kdig, recordLine } from "./kdig.ts";
import { AXFR_REFUSAL, IXFR_ANSWER, NOTIFY_TRANSPORT, PEERS, SUPPORTED_TSIG_ALGORITHMS } from "./index.ts";
import { type NotifyCatcher, OPCODE_NOTIFY, startNotifyCatcher } from "./notify-catcher.ts";
import { waitForSoa } from "./soa-probe.ts";
import { TSIG_ALGORITHMS, type PeerHandle, type PeerKind, type TsigAlgorithm, type TsigKey } from "./types.ts";

const ZONE = "peer.test.";
const OPEN_ZONE = "open.test.";
const SEED = 20260;
const RECORDS = 60;
const secret = () => randomBytes(32).toString("base64");
const mainKey: TsigKey = { name: "transfer.key.", algorithm: "hmac-sha256", secret: secret() };
const algZone = (alg: TsigAlgorithm) => `${alg}.alg.test.`;
const algKey = (alg: TsigAlgorithm): TsigKey => ({ name: `${alg}.key.`, algorithm: alg, secret: algSecrets[alg] });
const algSecrets = Object.fromEntries(TSIG_ALGORITHMS.map((a) => [a, secret()])) as Record<TsigAlgorithm, string>;
const zoneText = (origin: string, serial: number, records = RECORDS) => generateZone({ origin, records, seed: SEED, serial });

/** What kdig prints for an AXFR of the generated zone: every record, then the SOA again (RFC 5936 §2.2). */
const expectedAxfr = (origin: string, serial: number, records = RECORDS) => {
  const lines = [...zoneRecords({ origin, records, seed: SEED, serial })].map((r) =>
    formatRecord(r).replace(" IN ", " "),
  );
  return [...lines, lines[0] as string].sort();
};

const kinds = Object.keys(PEERS) as PeerKind[];
const peers = new Map<PeerKind, PeerHandle>();
const catchers = new Map<PeerKind, NotifyCatcher>();

beforeAll(async () => {
  await Promise.all(
    kinds.map(async (kind) => {
      const catcher = await startNotifyCatcher();
      catchers.set(kind, catcher);
      const peer = await PEERS[kind]({
        keys: [mainKey, ...TSIG_ALGORITHMS.map(algKey)],
        zones: [
          {
            name: ZONE,
            text: zoneText(ZONE, 1),
            transferKey: mainKey.name,
            notify: [`127.0.0.1:${catcher.port}`],
            signNotify: true,
          },
          { name: OPEN_ZONE, text: zoneText(OPEN_ZONE, 1, 10) },
          ...TSIG_ALGORITHMS.map((alg) => ({ name: algZone(alg), text: zoneText(algZone(alg), 1, 5), transferKey: algKey(alg).name })),
        ],
      });
      peers.set(kind, peer);
    }),
  );
});

afterAll(async () => {
  await Promise.all([...peers.values()].map((p) => p.stop()));
  await Promise.all([...catchers.values()].map((c) => c.close()));
});

const peer = (kind: PeerKind) => peers.get(kind) as PeerHandle;
const soaSerial = (data: string | undefined) => data?.split(" ")[2];
/** Live (non-zombie) processes left in a daemon's process group. */
const leftInGroup = (pgid: number) => groupMembers(pgid).filter((m) => m.state !== "Z");

// Sibling concurrent suites run together, so each phase is its own sequential parent: edits start only
// after every read-only check has finished, and kills only after the edits.
describe("read-only checks", () => {
  describe.concurrent.each(kinds)("%s", (kind) => {
    test("answers SOA authoritatively", async () => {
      const res = await kdig({ port: peer(kind).port, zone: ZONE, type: "SOA" });
      expect(res.status).toBe("NOERROR");
      expect(res.flags).toContain("aa");
      expect(res.records.map(recordLine)).toEqual([expectedAxfr(ZONE, 1).find((l) => l.includes(" SOA "))]);
    });

    test("AXFR signed with the zone's key yields exactly the zone", async () => {
      const res = await kdig({ port: peer(kind).port, zone: ZONE, type: "AXFR", key: mainKey });
      expect(res.errors).toEqual([]);
      expect(res.records.map(recordLine).sort()).toEqual(expectedAxfr(ZONE, 1));
    });

    test.each([
      ["unsigned", undefined],
      ["wrongSecret", { ...mainKey, secret: secret() }],
      ["wrongKeyName", { ...mainKey, name: "other.key." }],
      ["wrongAlgorithm", { ...mainKey, algorithm: "hmac-sha512" }],
    ] as const)("AXFR %s is refused as AXFR_REFUSAL says", async (label, key) => {
      const res = await kdig({ port: peer(kind).port, zone: ZONE, type: "AXFR", key });
      expect(res.code).not.toBe(0);
      expect(res.records).toEqual([]);
      expect(res.errors[0]).toBe(`server replied with error '${AXFR_REFUSAL[kind][label]}'`);
    });

    test("AXFR signed with another zone's key is refused", async () => {
      const res = await kdig({ port: peer(kind).port, zone: ZONE, type: "AXFR", key: algKey("hmac-sha256") });
      expect(res.code).not.toBe(0);
      expect(res.records).toEqual([]);
      expect(res.errors.join(" ")).toMatch(/'(REFUSED|NOTAUTH|BADKEY)'/);
    });

    test("an unkeyed zone transfers unsigned from loopback", async () => {
      const res = await kdig({ port: peer(kind).port, zone: OPEN_ZONE, type: "AXFR" });
      expect(res.records.map(recordLine).sort()).toEqual(expectedAxfr(OPEN_ZONE, 1, 10));
    });

    test("transfers with exactly the TSIG algorithms in SUPPORTED_TSIG_ALGORITHMS", async () => {
      const works: TsigAlgorithm[] = [];
      for (const alg of TSIG_ALGORITHMS) {
        const res = await kdig({ port: peer(kind).port, zone: algZone(alg), type: "AXFR", key: algKey(alg) });
        if (res.code === 0 && res.records.length === 6) works.push(alg);
      }
      expect(works).toEqual(SUPPORTED_TSIG_ALGORITHMS[kind]);
    });
  });
});

describe("updates", () => {
  describe.concurrent.each(kinds)("%s after updateZone", (kind) => {
    test("serves the new serial and records, sends NOTIFY, and answers IXFR as IXFR_ANSWER says", async () => {
      const p = peer(kind);
      const catcher = catchers.get(kind) as NotifyCatcher;
      const before = catcher.caught.length;
      await p.updateZone(ZONE, zoneText(ZONE, 2, RECORDS + 4));

      const soa = await kdig({ port: p.port, zone: ZONE, type: "SOA" });
      expect(soaSerial(soa.records[0]?.data)).toBe("2");
      const axfr = await kdig({ port: p.port, zone: ZONE, type: "AXFR", key: mainKey });
      expect(axfr.records.map(recordLine).sort()).toEqual(expectedAxfr(ZONE, 2, RECORDS + 4));

      // A NOTIFY sent after the update; the SOA it may carry (RFC 1996 §3.7) must be the new one.
      const notify = await catcher.wait((n) => catcher.caught.indexOf(n) >= before && n.zone === ZONE && (n.serial ?? 2) === 2);
      expect(notify.opcode).toBe(OPCODE_NOTIFY);
      expect(notify.signed).toBe(true);
      expect(notify.transport).toBe(NOTIFY_TRANSPORT[kind]);

      const ixfr = await kdig({ port: p.port, zone: ZONE, type: "IXFR=1", key: mainKey });
      expect(ixfr.errors).toEqual([]);
      const soaSerials = ixfr.records.filter((r) => r.type === "SOA").map((r) => soaSerial(r.data));
      if (IXFR_ANSWER[kind] === "incremental") {
        // RFC 1995 §4: new SOA, old SOA, deletions (none), new SOA, the 4 additions, new SOA.
        expect(soaSerials).toEqual(["2", "1", "2", "2"]);
        expect(ixfr.records.length).toBe(4 + 4);
      } else if (IXFR_ANSWER[kind] === "axfr-style") {
        expect(ixfr.records.map(recordLine).sort()).toEqual(expectedAxfr(ZONE, 2, RECORDS + 4));
      } else {
        expect(soaSerials).toEqual(["2"]);
        expect(ixfr.records.length).toBe(1);
      }

      // A second edit that deletes: the journal now holds two differences, and IXFR from 2 is the second.
      await p.updateZone(ZONE, zoneText(ZONE, 3, RECORDS - 2));
      const shrink = await kdig({ port: p.port, zone: ZONE, type: "IXFR=2", key: mainKey });
      const shrinkSerials = shrink.records.filter((r) => r.type === "SOA").map((r) => soaSerial(r.data));
      if (IXFR_ANSWER[kind] === "incremental") {
        // New SOA, old SOA, the 6 deleted records (4 added last time + 2), new SOA, no additions, new SOA.
        expect(shrinkSerials).toEqual(["3", "2", "3", "3"]);
        const deleted = shrink.records.slice(2, -2).map(recordLine).sort();
        const all = expectedAxfr(ZONE, 3, RECORDS + 4);
        const kept = new Set(expectedAxfr(ZONE, 3, RECORDS - 2));
        expect(deleted).toEqual(all.filter((l) => !kept.has(l)));
      } else if (IXFR_ANSWER[kind] === "axfr-style") {
        expect(shrink.records.map(recordLine).sort()).toEqual(expectedAxfr(ZONE, 3, RECORDS - 2));
      } else {
        expect(shrinkSerials).toEqual(["3"]);
      }
    });
  });
});

describe("reload", () => {
  describe.concurrent.each(kinds)("%s", (kind) => {
    test("reload() picks up a zone file rewritten behind the peer's back", async () => {
      const p = peer(kind);
      await writeFile(p.zoneFile(OPEN_ZONE), zoneText(OPEN_ZONE, 7, 10));
      await p.reload();
      await waitForSoa({ address: p.address, port: p.port, zone: OPEN_ZONE, serial: 7, timeoutMs: 10_000 });
      const res = await kdig({ port: p.port, zone: OPEN_ZONE, type: "AXFR" });
      expect(res.records.map(recordLine).sort()).toEqual(expectedAxfr(OPEN_ZONE, 7, 10));
    });
  });
});

describe("serial regression", () => {
  describe.concurrent.each(kinds)("%s", (kind) => {
    test("a lower serial is loaded, refused with advice, or forced with { restart: true }", async () => {
      const p = peer(kind);
      const lower = zoneText(ZONE, 1, RECORDS);
      if (kind === "knotd" || kind === "named") {
        await expect(p.updateZone(ZONE, lower)).rejects.toThrow(/refuses to reload an older or equal serial.*restart: true/);
        expect(await p.serial(ZONE)).toBe(3);
        const port = p.port;
        await p.updateZone(ZONE, lower, { restart: true });
        expect(p.port).toBe(port);
      } else {
        await p.updateZone(ZONE, lower);
      }
      expect(await p.serial(ZONE)).toBe(1);
      // History starts again from serial 1: the next edit is served (and, on knotd/named, as IXFR).
      await p.updateZone(ZONE, zoneText(ZONE, 3, RECORDS));
      const ixfr = await kdig({ port: p.port, zone: ZONE, type: "IXFR=1", key: mainKey });
      expect(ixfr.errors).toEqual([]);
      if (IXFR_ANSWER[kind] === "incremental") {
        expect(ixfr.records.filter((r) => r.type === "SOA").map((r) => soaSerial(r.data))).toEqual(["3", "1", "3", "3"]);
      }
    });
  });
});

describe("life cycle", () => {
  describe.concurrent.each(kinds)("%s", (kind) => {
    test("kill takes the whole process group, restart serves again, stop removes everything", async () => {
      const p = peer(kind);
      const pid = p.pid;
      p.kill("SIGKILL");
      await p.exited;
      // The group id is the leader's pid: no member (nsd's xfrd and server, pdns helpers) may be left.
      expect(leftInGroup(pid)).toEqual([]);
      await p.restart();
      expect(p.pid).not.toBe(pid);
      expect(await p.serial(ZONE)).toBe(3);
      const newPid = p.pid;
      await p.stop();
      expect(leftInGroup(newPid)).toEqual([]);
      expect(existsSync(p.dir)).toBe(false);
    });
  });
});
