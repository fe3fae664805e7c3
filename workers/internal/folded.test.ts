/**
 * @module Issue 19's folded routes in workerd with real D1: a small zone stored and committed by one request
 * (`PUT …/ingest/whole`), and an attempt's end by one more (`POST …/finish`), each with the checks of the
 * routes it stands for: the lease fences both, a zone deleted and created again under its name is another
 * zone, a failed store leaves the served version as it was, and the D1 cap is kept.
 */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ADMIN, ok, request } from "./test-client.ts";
import { CommitResult, FinishResult, Lease } from "../../contract/internal-v1.ts";
import { encodeRecordStream } from "../store/record-stream.ts";
import { syntheticZone } from "../store/synthetic-zone.ts";


async function refused(response: Response | Promise<Response>, status: number): Promise<string> {
  const res = await response;
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect(res.status, JSON.stringify(body)).toBe(status);
  return body.error.message;
}

/** A new secondary zone; its id from the API. */
async function createZone(name: string): Promise<number> {
  const res = await request("POST", "/api/v1/zones", { name, primaries: [{ address: "127.0.0.1", port: 5300 }] }, ADMIN);
  expect(res.status, await res.clone().text()).toBe(201);
  return Number(((await res.json()) as { id: number | string }).id);
}

const view = async (name: string) => (await request("GET", `/api/v1/zones/${name}`, undefined, ADMIN)).json<{ serial: number | null; status: string; statusDetail: string }>();
const stream = (apex: string, serial: number, count = 20) => encodeRecordStream(syntheticZone({ apex, serial, count }));
/** Records the zone holds after storing `stream(apex, serial, count)`. */
const held = (count: number) => syntheticZone({ apex: "x.test", serial: 1, count }).length - 1;

describe("a small zone in one request (PUT …/ingest/whole)", () => {
  it("opens, stores and commits the zone for the lease holder; refuses anyone else and keeps the served version", async () => {
    await createZone("whole.test");
    await ok(request("POST", "/internal/v1/zones/whole.test/lease", { owner: "svc-a", ttlMs: 60_000 }), Lease);
    const committed = await ok(request("PUT", "/internal/v1/zones/whole.test/ingest/whole?owner=svc-a&serial=3", stream("whole.test", 3)), CommitResult);
    expect([committed.serial, committed.recordCount]).toEqual([3, held(20)]);
    expect((await view("whole.test")).serial).toBe(3);
    // Answered from the new version at once.
    const doh = await exports.default.fetch("http://backstop.test/dns-query?name=whole.test&type=SOA", { headers: { accept: "application/dns-json" } });
    expect(JSON.stringify(await doh.json())).toContain(" 3 ");

    // Another instance, without the lease: refused, nothing changes.
    expect(await refused(request("PUT", "/internal/v1/zones/whole.test/ingest/whole?owner=svc-b&serial=4", stream("whole.test", 4)), 409)).toMatch(/lease/);
    // The lease holder with a zone that does not carry the serial it announced: refused, the version abandoned.
    expect(await refused(request("PUT", "/internal/v1/zones/whole.test/ingest/whole?owner=svc-a&serial=9", stream("whole.test", 4)), 409)).toMatch(/serial/);
    // Records that are not a record stream: refused.
    await refused(request("PUT", "/internal/v1/zones/whole.test/ingest/whole?owner=svc-a&serial=4", Uint8Array.of(1, 2, 3)), 400);
    expect((await view("whole.test")).serial).toBe(3);
    // Nothing left open: the next attempt commits as the first did.
    const next = await ok(request("PUT", "/internal/v1/zones/whole.test/ingest/whole?owner=svc-a&serial=4", stream("whole.test", 4, 30)), CommitResult);
    expect([next.serial, next.recordCount]).toEqual([4, held(30)]);
    expect(next.version).toBeGreaterThan(committed.version);
  });

  it("refuses a zone that would take the database past the service's cap (413), naming the figures", async () => {
    await createZone("capped.test");
    await ok(request("POST", "/internal/v1/zones/capped.test/lease", { owner: "svc-a", ttlMs: 60_000 }), Lease);
    const body = stream("capped.test", 1);
    const message = await refused(request("PUT", "/internal/v1/zones/capped.test/ingest/whole?owner=svc-a&serial=1&maxDbBytes=1000", body), 413);
    expect(message).toMatch(/^the D1 database is at its cap: the D1 database holds [\d,]+ octets and may hold 1,000 \(BACKSTOP_D1_MAX_BYTES\); the transfer of capped\.test was refused and the served version kept$/);
    expect((await view("capped.test")).serial).toBeNull();
    // With room: stored.
    await ok(request("PUT", "/internal/v1/zones/capped.test/ingest/whole?owner=svc-a&serial=1&maxDbBytes=9000000000", body), CommitResult);
  });

  it("answers a bad query with 400 naming the field", async () => {
    await createZone("badquery.test");
    const res = await request("PUT", "/internal/v1/zones/badquery.test/ingest/whole?owner=svc-a&serial=x", stream("badquery.test", 1));
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { field?: string } }).error.field).toBe("serial");
  });
});

describe("an attempt's end in one request (POST …/finish)", () => {
  const report = (now: number) => ({
    status: "active" as const,
    statusDetail: "transferred serial 1",
    soa: { serial: 1, refresh: 3600, retry: 600, expire: 604800, minimum: 300 },
    lastCheckAt: now,
    nextRefreshAt: now + 3_600_000,
    expiresAt: now + 604_800_000,
  });
  const entries = [
    { kind: "soa" as const, result: "ok" as const, primary: "127.0.0.1:5300", toSerial: 1 },
    { kind: "axfr" as const, result: "ok" as const, primary: "127.0.0.1:5300", toSerial: 1, records: 20 },
  ];

  it("writes the log rows, the report, acknowledges the request served and gives the lease back", async () => {
    const id = await createZone("finish.test");
    const pending = ((await (await request("GET", "/internal/v1/zones")).json()) as { zones: Array<{ name: string; refresh: { requestedAt: number } | null }> }).zones.find((z) => z.name === "finish.test")!;
    expect(pending.refresh).not.toBeNull();
    await ok(request("POST", "/internal/v1/zones/finish.test/lease", { owner: "svc-a", ttlMs: 60_000 }), Lease);
    const now = Date.now();
    const done = await ok(
      request("POST", "/internal/v1/zones/finish.test/finish", { owner: "svc-a", zoneId: id, transfers: entries, report: report(now), servedRequestAt: pending.refresh!.requestedAt, release: true }),
      FinishResult,
    );
    expect(done).toEqual({ cleared: true, released: true });
    const after = await view("finish.test");
    expect([after.status, after.statusDetail]).toEqual(["active", "transferred serial 1"]);
    const log = (await (await request("GET", "/api/v1/zones/finish.test/transfers", undefined, ADMIN)).json()) as { transfers: Array<{ kind: string }> };
    expect(log.transfers.map((t) => t.kind).sort()).toEqual(["axfr", "soa"]);
    // The lease is free: another instance takes it.
    await ok(request("POST", "/internal/v1/zones/finish.test/lease", { owner: "svc-b", ttlMs: 60_000 }), Lease);
  });

  it("without the lease: the log rows are written, the report is refused (409) and nothing else changes", async () => {
    await createZone("finish-lost.test");
    await ok(request("POST", "/internal/v1/zones/finish-lost.test/lease", { owner: "svc-b", ttlMs: 60_000 }), Lease);
    const before = await view("finish-lost.test");
    expect(await refused(request("POST", "/internal/v1/zones/finish-lost.test/finish", { owner: "svc-a", transfers: entries, report: report(Date.now()), release: true }), 409)).toMatch(/lease/);
    expect((await view("finish-lost.test")).status).toBe(before.status);
    const log = (await (await request("GET", "/api/v1/zones/finish-lost.test/transfers", undefined, ADMIN)).json()) as { transfers: unknown[] };
    expect(log.transfers).toHaveLength(2);
    // svc-b's lease stands.
    expect((await request("POST", "/internal/v1/zones/finish-lost.test/lease", { owner: "svc-a", ttlMs: 60_000 })).status).toBe(409);
  });

  it("a zone deleted and created again under its name is another zone: 404, nothing written", async () => {
    const old = await createZone("recreated.test");
    expect((await request("DELETE", "/api/v1/zones/recreated.test", undefined, ADMIN)).status).toBe(204);
    const id = await createZone("recreated.test");
    expect(id).not.toBe(old);
    await ok(request("POST", "/internal/v1/zones/recreated.test/lease", { owner: "svc-a", ttlMs: 60_000 }), Lease);
    expect(await refused(request("POST", "/internal/v1/zones/recreated.test/finish", { owner: "svc-a", zoneId: old, transfers: entries, report: report(Date.now()), release: true }), 404)).toMatch(/created again/);
    const log = (await (await request("GET", "/api/v1/zones/recreated.test/transfers", undefined, ADMIN)).json()) as { transfers: unknown[] };
    expect(log.transfers).toHaveLength(0);
    expect((await view("recreated.test")).status).toBe("pending");
  });

  it("the lease asked with the zone's row id: taken by it; another instance's is 409; a zone created again is 404", async () => {
    const old = await createZone("lease-id.test");
    await ok(request("POST", "/internal/v1/zones/lease-id.test/lease", { owner: "svc-a", ttlMs: 60_000, zoneId: old }), Lease);
    expect(await refused(request("POST", "/internal/v1/zones/lease-id.test/lease", { owner: "svc-b", ttlMs: 60_000, zoneId: old }), 409)).toMatch(/another instance/);
    expect((await request("DELETE", "/api/v1/zones/lease-id.test", undefined, ADMIN)).status).toBe(204);
    const id = await createZone("lease-id.test");
    expect(await refused(request("POST", "/internal/v1/zones/lease-id.test/lease", { owner: "svc-a", ttlMs: 60_000, zoneId: old }), 404)).toMatch(/created again/);
    await ok(request("POST", "/internal/v1/zones/lease-id.test/lease", { owner: "svc-a", ttlMs: 60_000, zoneId: id }), Lease);
  });
});
