/**
 * @module `/internal/v1` over HTTP in workerd with real D1, as the transfer-service drives it: configs
 * with the decrypted key, leases (one holder at a time), a chunked full transfer, an IXFR changeset, the
 * version stream and the journal back, timers, the transfer log and refresh signals. Every body is checked
 * against the shared zod contract.
 */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ADMIN, ok, request } from "./test-client.ts";
import { Name } from "../../dns/name.ts";
import { RRClass, RRType } from "../../dns/constants.ts";
import { toBase64 } from "../../dns/rdata/base64.ts";
import { encodeRecordStream, parseRecordStream } from "../store/record-stream.ts";
import type { OwnedRecord } from "../store/record-stream.ts";
import { soaRdata, syntheticZone } from "../store/synthetic-zone.ts";
import {
  ChangesetResult,
  ChunkAccepted,
  CommitResult,
  IngestBegun,
  Journal,
  Lease,
  SERIAL_HEADER,
  SignalList,
  ZoneConfigList,
} from "../../contract/internal-v1.ts";

const SECRET = "c2VjcmV0LXRzaWcta2V5LW1hdGVyaWFsLTEyMzQ1Ng==";

describe("per-zone transfer limits and the D1 size (issue 20)", () => {
  it("limits set through the API reach the service's configuration; bad ones are refused naming the field", async () => {
    const created = await request("POST", "/api/v1/zones", { name: "limits.test", primaries: [{ address: "127.0.0.1", port: 5300 }], maxRecords: 2_000_000 }, ADMIN);
    expect(created.status, await created.clone().text()).toBe(201);
    expect(await created.json()).toMatchObject({ limits: { maxRecords: 2_000_000, maxBytes: null } });
    const config = () => ok(request("GET", "/internal/v1/zones"), ZoneConfigList).then((l) => l.zones.find((z) => z.name === "limits.test")!);
    expect((await config()).limits).toEqual({ maxRecords: 2_000_000, maxBytes: null });

    const patched = await request("PATCH", "/api/v1/zones/limits.test", { maxBytes: 50_000_000, maxRecords: null }, ADMIN);
    expect(patched.status).toBe(200);
    expect((await config()).limits).toEqual({ maxRecords: null, maxBytes: 50_000_000 });

    for (const [body, field] of [[{ maxRecords: 0 }, "maxRecords"], [{ maxBytes: -1 }, "maxBytes"], [{ maxRecords: 1.5 }, "maxRecords"], [{ maxBytes: "100MB" }, "maxBytes"]] as const) {
      const res = await request("PATCH", "/api/v1/zones/limits.test", body, ADMIN);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { field?: string } }).error.field).toBe(field);
    }
  });

  it("an ingest's begin reports the D1 size, which grows with the data", async () => {
    expect((await request("POST", "/api/v1/zones", { name: "size.test", primaries: [{ address: "127.0.0.1", port: 5300 }] }, ADMIN)).status).toBe(201);
    await ok(request("POST", "/internal/v1/zones/size.test/lease", { owner: "svc-a", ttlMs: 60_000 }), Lease);
    const first = await ok(request("POST", "/internal/v1/zones/size.test/ingest", { owner: "svc-a" }), IngestBegun);
    expect(first.dbBytes).toBeGreaterThan(0);
    const records = syntheticZone({ apex: "size.test", serial: 1, count: 3_000 });
    await ok(request("PUT", `/internal/v1/zones/size.test/ingest/${first.version}/chunks/0?owner=svc-a`, encodeRecordStream(records)), ChunkAccepted);
    await ok(request("POST", `/internal/v1/zones/size.test/ingest/${first.version}/commit`, { owner: "svc-a", serial: 1 }), CommitResult);
    const second = await ok(request("POST", "/internal/v1/zones/size.test/ingest", { owner: "svc-a" }), IngestBegun);
    expect(second.dbBytes).toBeGreaterThan(first.dbBytes!);
  });
});

describe("/internal/v1", () => {
  it("refuses the admin token and a missing token", async () => {
    expect((await request("GET", "/internal/v1/zones", undefined, ADMIN)).status).toBe(403);
    const res = await exports.default.fetch("http://backstop.test/internal/v1/zones");
    expect(res.status).toBe(401);
  });

  it("drives a zone from config to AXFR to IXFR and back out", async () => {
    // Set up through the management API, as an operator would.
    expect((await request("POST", "/api/v1/tsig-keys", { name: "xfr-key", algorithm: "hmac-sha256", secret: SECRET }, ADMIN)).status).toBe(201);
    const zoneRes = await request(
      "POST",
      "/api/v1/zones",
      { name: "flow.test", primaries: [{ address: "127.0.0.1", port: 5300, tsigKey: "xfr-key" }], tsigKey: "xfr-key" },
      ADMIN,
    );
    expect(zoneRes.status).toBe(201);

    // Configuration, with the secret decrypted for the service only.
    const configs = await ok(await request("GET", "/internal/v1/zones"), ZoneConfigList);
    const config = configs.zones.find((z) => z.name === "flow.test")!;
    expect(config.primaries).toEqual([{ address: "127.0.0.1", port: 5300, tsigKey: "xfr-key" }]);
    expect(config.refresh).not.toBeNull(); // creating a zone asks for a first refresh
    expect(configs.keys).toEqual([{ name: "xfr-key", algorithm: "hmac-sha256", secret: SECRET }]);

    // Signals: polled, then acknowledged with compare-and-set.
    const signals = await ok(await request("GET", "/internal/v1/signals"), SignalList);
    const signal = signals.signals.find((s) => s.zone === "flow.test")!;
    expect((await (await request("POST", "/internal/v1/zones/flow.test/signal/ack", { requestedAt: signal.requestedAt - 1 })).json())).toEqual({ cleared: false });
    expect((await (await request("POST", "/internal/v1/zones/flow.test/signal/ack", { requestedAt: signal.requestedAt })).json())).toEqual({ cleared: true });

    // Leases: one holder at a time.
    const lease = await ok(await request("POST", "/internal/v1/zones/flow.test/lease", { owner: "svc-a", ttlMs: 60_000 }), Lease);
    expect(lease.owner).toBe("svc-a");
    expect((await request("POST", "/internal/v1/zones/flow.test/lease", { owner: "svc-b", ttlMs: 60_000 })).status).toBe(409);
    await ok(await request("POST", "/internal/v1/zones/flow.test/lease/renew", { owner: "svc-a", ttlMs: 60_000 }), Lease);
    expect((await request("POST", "/internal/v1/zones/flow.test/lease/renew", { owner: "svc-b", ttlMs: 60_000 })).status).toBe(409);

    // A full transfer in three chunks.
    const records = syntheticZone({ apex: "flow.test", serial: 5, count: 300 });
    const { version } = await ok(await request("POST", "/internal/v1/zones/flow.test/ingest", { owner: "svc-a" }), IngestBegun);
    const third = Math.ceil(records.length / 3);
    let sent = 0;
    for (let seq = 0; seq < 3; seq++) {
      const chunk = encodeRecordStream(records.slice(seq * third, (seq + 1) * third));
      const accepted = await ok(await request("PUT", `/internal/v1/zones/flow.test/ingest/${version}/chunks/${seq}?owner=svc-a`, chunk), ChunkAccepted);
      sent += accepted.records;
    }
    expect(sent).toBe(records.length);
    expect((await request("PUT", `/internal/v1/zones/flow.test/ingest/${version}/chunks/9?owner=svc-b`, new Uint8Array(0))).status).toBe(409);
    const committed = await ok(await request("POST", `/internal/v1/zones/flow.test/ingest/${version}/commit`, { owner: "svc-a", serial: 5 }), CommitResult);
    expect([committed.serial, committed.recordCount]).toEqual([5, records.length - 1]);

    // Timers and the log, as after a successful refresh.
    const now = Date.now();
    expect(
      (await request("PUT", "/internal/v1/zones/flow.test/timers", {
        owner: "svc-a",
        soa: { serial: 5, refresh: 3600, retry: 600, expire: 604800, minimum: 300 },
        lastCheckAt: now,
        nextRefreshAt: now + 3600_000,
        expiresAt: now + 604800_000,
      })).status,
    ).toBe(200);
    expect((await request("PUT", "/internal/v1/zones/flow.test/timers", { owner: "svc-b", lastCheckAt: now })).status).toBe(409);
    expect(
      (await request("POST", "/internal/v1/zones/flow.test/transfers", { kind: "axfr", result: "ok", primary: "127.0.0.1:5300", toSerial: 5, records: 300, durationMs: 12 })).status,
    ).toBe(201);
    const view = await (await request("GET", "/api/v1/zones/flow.test", undefined, ADMIN)).json<Record<string, unknown>>();
    expect(view).toMatchObject({ status: "active", serial: 5, primarySerial: 5, recordCount: records.length - 1, lastTransfer: { kind: "axfr", result: "ok" } });

    // An IXFR: one changeset.
    const apex = Name.parse("flow.test.");
    const soa = (serial: number): OwnedRecord => ({ name: apex, type: RRType.SOA, class: RRClass.IN, ttl: 3600, rdata: soaRdata(apex, serial) });
    const added: OwnedRecord = { name: apex.child("www"), type: RRType.A, class: RRClass.IN, ttl: 60, rdata: Uint8Array.of(192, 0, 2, 80) };
    const changeset = { fromSerial: 5, toSerial: 6, deletions: toBase64(encodeRecordStream([soa(5)])), additions: toBase64(encodeRecordStream([soa(6), added])) };
    const ixfr = await ok(await request("POST", "/internal/v1/zones/flow.test/changesets", { owner: "svc-a", changesets: [changeset] }), ChangesetResult);
    expect(ixfr.serial).toBe(6);
    // The same changeset again no longer fits: the service would fall back to AXFR.
    const again = await request("POST", "/internal/v1/zones/flow.test/changesets", { owner: "svc-a", changesets: [changeset] });
    expect([again.status, ((await again.json()) as { error: { code: string } }).error.code]).toEqual([409, "inconsistent"]);

    // Reading back: the journal from 5, and the whole version as a record stream (SOA first).
    const journal = await ok(await request("GET", "/internal/v1/zones/flow.test/journal?since=5"), Journal);
    expect(journal).toEqual({ fromSerial: 5, toSerial: 6, changesets: [changeset] });
    expect((await request("GET", "/internal/v1/zones/flow.test/journal?since=4")).status).toBe(404);
    const stream = await request("GET", "/internal/v1/zones/flow.test/versions/current/records");
    expect(stream.headers.get(SERIAL_HEADER)).toBe("6");
    const back = parseRecordStream(new Uint8Array(await stream.arrayBuffer()), apex);
    expect(back[0]!.type).toBe(RRType.SOA);
    expect(back.length).toBe(records.length - 1 + 1);
    expect(back.some((r) => r.name.equals(apex.child("www")))).toBe(true);

    // The records API sees the IXFR.
    const www = await (await request("GET", "/api/v1/zones/flow.test/records?name=www.flow.test&type=A", undefined, ADMIN)).json<{ records: unknown[] }>();
    expect(www.records).toEqual([{ name: "www.flow.test", type: "A", class: "IN", ttl: 60, data: "192.0.2.80" }]);
    const exported = await request("GET", "/api/v1/zones/flow.test/export", undefined, ADMIN);
    expect(exported.headers.get("content-type")).toContain("text/dns");
    const text = await exported.text();
    expect(text.split("\n").filter((l) => l.trim() !== "").length).toBe(records.length);
    expect(text).toContain("www.flow.test. 60 IN A 192.0.2.80");

    expect(await (await request("POST", "/internal/v1/zones/flow.test/lease/release", { owner: "svc-a" })).json()).toEqual({ released: true });
  });

  it.each([
    ["a lease without owner", "POST", "/internal/v1/zones/x.test/lease", { ttlMs: 60_000 }, 400],
    ["a lease for an unknown zone", "POST", "/internal/v1/zones/none.test/lease", { owner: "a", ttlMs: 60_000 }, 404],
    ["a journal without serial", "GET", "/internal/v1/zones/x.test/journal?since=abc", undefined, 400],
    ["a commit of a non-number version", "POST", "/internal/v1/zones/x.test/ingest/v1/commit", { owner: "a" }, 400],
    ["a changeset that is not base64", "POST", "/internal/v1/zones/x.test/changesets", { owner: "a", changesets: [{ fromSerial: 1, toSerial: 2, deletions: "!!", additions: "" }] }, 400],
    ["an unknown route", "GET", "/internal/v1/nothing", undefined, 404],
  ])("answers %s with the right status and the error body", async (_label, method, path, body, status) => {
    await request("POST", "/api/v1/zones", { name: "x.test", primaries: [{ address: "192.0.2.1" }] }, ADMIN);
    const res = await request(method, path, body);
    expect(res.status).toBe(status);
    const json = (await res.json()) as { error: { code: string; message: string } };
    expect(json.error.code).toBeTypeOf("string");
  });
});
