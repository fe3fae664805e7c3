/**
 * @module The HTTP WorkerClient against a scripted `/internal/v1` (a loopback node:http server answering
 * what each case needs), for what the real Worker does not do on demand: transient failures (503 while
 * `wrangler dev` reloads), retries only where repeating is safe, 409 on leases, and the bodies sent.
 * The real Worker is exercised end to end in test/transfer/local-stack.test.ts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { RRType } from "../../dns/constants.ts";
import { Name } from "../../dns/name.ts";
import type { ResourceRecord } from "../../dns/message.ts";
import { encodeRecordStream } from "../../contract/record-stream.ts";
import { cutBlocks, encodeBlockChunk } from "../../answer/store/block-chunk.ts";
import { WorkerClient, WorkerError } from "./worker-client.ts";

type Handler = (req: IncomingMessage, body: Buffer, res: ServerResponse) => void;
let server: Server | undefined;
const seen: Array<{ method: string; url: string; body: Buffer; auth: string | undefined; bookmark: string | undefined }> = [];

afterEach(async () => {
  seen.length = 0;
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = undefined;
});

async function scriptedWorker(handler: Handler, options: { chunkBytes?: number; chunksInFlight?: number; cutBlocks?: boolean } = {}): Promise<WorkerClient> {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method!, url: req.url!, body, auth: req.headers.authorization, bookmark: req.headers["x-d1-bookmark"] as string | undefined });
      handler(req, body, res);
    });
  });
  await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
  const port = (server!.address() as { port: number }).port;
  return new WorkerClient({ baseUrl: `http://127.0.0.1:${port}`, token: "tok-0123456789abcdef", timeoutMs: 2000, ...options });
}

const json = (res: ServerResponse, status: number, value: unknown) => {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(value));
};

const zoneRow = {
  name: "example.test",
  model: "secondary",
  primaries: [{ address: "192.0.2.1", port: 53, tsigKey: "xfr" }],
  tsigKey: null,
  notifyAllow: ["198.51.100.0/24"],
  transferAllow: [],
  status: "active",
  statusDetail: "",
  currentVersion: 3,
  serial: 7,
  primarySerial: 7,
  recordCount: 10,
  expiresAt: null,
  lastCheckAt: null,
  nextRefreshAt: null,
  timers: { refresh: 3600, retry: 600, expire: 86400, minimum: 300, minRefresh: 60, maxRefresh: 86400, minRetry: 10, maxRetry: 3600, minExpire: 3600, maxExpire: 2419200 },
  lease: { owner: "svc-old", until: 1_700_000_060_000 },
  limits: { maxRecords: 2_000_000, maxBytes: null },
  refresh: { requestedAt: 1234, force: "axfr", acceptLowerSerial: true },
};
const keys = [
  { name: "xfr", algorithm: "hmac-sha256", secret: "c2VjcmV0" },
  { name: "unrelated", algorithm: "hmac-sha1", secret: "b3RoZXI=" },
];

describe("WorkerClient", () => {
  it("retries a GET through two 503s, and maps the contract's zone to the service's", async () => {
    let calls = 0;
    const client = await scriptedWorker((_req, _body, res) => {
      if (++calls <= 2) return json(res, 503, { error: { code: "restarted", message: "Your worker restarted mid-request." } });
      json(res, 200, { zones: [zoneRow], keys });
    });
    const zones = await client.zones();
    await client.close();
    expect(calls).toBe(3);
    expect(seen[0]).toMatchObject({ method: "GET", url: "/internal/v1/zones", auth: "Bearer tok-0123456789abcdef" });
    expect(zones).toEqual([
      expect.objectContaining({
        name: "example.test",
        keys: [keys[0]], // only the keys the zone or its primaries name
        clamps: { minRefresh: 60, maxRefresh: 86400, minRetry: 10, maxRetry: 3600, minExpire: 3600, maxExpire: 2419200 },
        refreshRequestedAt: 1234,
        refreshForce: "axfr",
        refreshAcceptLowerSerial: true,
        // What zone.ts needs to resume a cut-off attempt, and the zone's own transfer limits.
        lease: { owner: "svc-old", until: 1_700_000_060_000 },
        limits: { maxRecords: 2_000_000, maxBytes: null },
      }),
    ]);
  });

  it.each([
    { name: "401 (wrong token)", status: 401, calls: 1 },
    { name: "404", status: 404, calls: 1 },
    { name: "503 three times", status: 503, calls: 3 },
  ])("gives up on $name after $calls call(s), with a typed error", async ({ status, calls }) => {
    const client = await scriptedWorker((_req, _body, res) => json(res, status, { error: { code: "x", message: "nope" } }));
    const err = await client.zones().catch((e: unknown) => e);
    await client.close();
    expect(err).toBeInstanceOf(WorkerError);
    expect((err as WorkerError).status).toBe(status);
    expect((err as WorkerError).message).not.toContain("tok-0123456789abcdef");
    expect(seen).toHaveLength(calls);
  });

  it("a lease held elsewhere (409) is false, not an error", async () => {
    const client = await scriptedWorker((_req, _body, res) => json(res, 409, { error: { code: "lease-held", message: "held" } }));
    expect(await client.acquireLease("example.test", "me", 60_000)).toBe(false);
    expect(await client.renewLease("example.test", "me", 60_000)).toBe(false);
    await client.close();
    expect(seen.map((s) => s.url)).toEqual(["/internal/v1/zones/example.test/lease", "/internal/v1/zones/example.test/lease/renew"]);
  });

  it("sends the newest D1 bookmark it was given (x-d1-bookmark), never an older one, even after an error", async () => {
    const bookmark = (n: number) => `00000000-${n.toString(16).padStart(8, "0")}-00000000-${"0".repeat(32)}`;
    const given = [bookmark(5), bookmark(9), bookmark(7)];
    let call = 0;
    const client = await scriptedWorker((_req, _body, res) => {
      const b = given[call++];
      if (b) res.setHeader("x-d1-bookmark", b);
      if (call === 2) return json(res, 409, { error: { code: "lease-held", message: "held" } });
      json(res, 200, { ok: true });
    });
    await client.reportRefreshing("example.test", "me", "transferring");
    expect(await client.acquireLease("example.test", "me", 60_000)).toBe(false);
    await client.reportRefreshing("example.test", "me", "transferring");
    await client.reportRefreshing("example.test", "me", "transferring");
    await client.close();
    expect(seen.map((s) => s.bookmark)).toEqual([undefined, bookmark(5), bookmark(9), bookmark(9)]);
    expect(JSON.parse(seen[0]!.body.toString())).toEqual({ owner: "me", status: "refreshing", statusDetail: "transferring" });
  });

  const soaRdata = new Uint8Array(22);
  new DataView(soaRdata.buffer).setUint32(2, 9);
  const soa = { name: Name.parse("example.test"), type: RRType.SOA, class: 1, ttl: 60, rdata: soaRdata };
  const a = { name: Name.parse("www.example.test"), type: RRType.A, class: 1, ttl: 60, rdata: new Uint8Array([192, 0, 2, 1]) };

  it("sends a zone that fills no chunk whole, in one request that opens, stores and commits it, never retried", async () => {
    const client = await scriptedWorker((_req, _body, res) => json(res, 503, { error: { code: "restarted", message: "restarted" } }));
    const session = await client.beginIngest("example.test", "me", "axfr", 9, { maxDbBytes: 5_000_000 });
    await session.beginFull(soa);
    await session.records([a]);
    await session.end();
    expect(seen).toEqual([]);
    const err = await session.commit().catch((e: unknown) => e);
    // Nothing was opened, so an abort after the failure has nothing to drop.
    await session.abort("the commit failed");
    await client.close();
    expect((err as WorkerError).status).toBe(503);
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual(["PUT /internal/v1/zones/example.test/ingest/whole?owner=me&serial=9&maxDbBytes=5000000"]);
    expect(new Uint8Array(seen[0]!.body)).toEqual(encodeRecordStream([soa, a]));
  });

  it("with cutBlocks (BACKSTOP_INGEST_CUT=service), streams a bigger zone as chunks of blocks cut here (issue 28), the version opened with the first, and never retries the commit", async () => {
    const client = await scriptedWorker(
      (req, _body, res) => {
        if (req.url!.endsWith("/ingest")) return json(res, 200, { version: 4, dbBytes: 100 });
        if (req.url!.includes("/blocks/")) return json(res, 200, { records: 1 });
        if (req.url!.endsWith("/commit")) return json(res, 503, { error: { code: "restarted", message: "restarted" } });
        json(res, 200, { ok: true });
      },
      { chunkBytes: 1, chunksInFlight: 1, cutBlocks: true },
    );
    const session = await client.beginIngest("example.test", "me", "axfr", 9);
    await session.beginFull(soa);
    expect(seen).toEqual([]);
    await session.records([a]);
    await session.end();
    expect(session.dbBytes).toBe(100);
    const err = await session.commit().catch((e: unknown) => e);
    await client.close();
    expect((err as WorkerError).status).toBe(503);
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      "POST /internal/v1/zones/example.test/ingest",
      "PUT /internal/v1/zones/example.test/ingest/4/blocks/0?owner=me",
      "PUT /internal/v1/zones/example.test/ingest/4/blocks/1?owner=me",
      "POST /internal/v1/zones/example.test/ingest/4/commit",
    ]);
    // Each chunk's record stream, cut into the D1 block format by the shared cutter and framed with its tree.
    const apex = Name.parse("example.test");
    const asBlocks = (records: ResourceRecord[]) => encodeBlockChunk(cutBlocks(encodeRecordStream(records), apex.toWire(), apex.sortKey()).blocks);
    expect(new Uint8Array(seen[1]!.body)).toEqual(asBlocks([soa]));
    expect(new Uint8Array(seen[2]!.body)).toEqual(asBlocks([a]));
    expect(seen[1]!.body[0]).toBe(1);
    expect(JSON.parse(seen[3]!.body.toString())).toEqual({ owner: "me", serial: 9 });
  });

  it("with BACKSTOP_INGEST_CUT=worker (cutBlocks: false), sends the record streams for the Worker to cut", async () => {
    const client = await scriptedWorker(
      (req, _body, res) => {
        if (req.url!.endsWith("/ingest")) return json(res, 200, { version: 4, dbBytes: 100 });
        if (req.url!.includes("/chunks/")) return json(res, 200, { records: 1 });
        json(res, 200, { version: 4, serial: 9, recordCount: 2, blocks: 1 });
      },
      { chunkBytes: 1, chunksInFlight: 1, cutBlocks: false },
    );
    const session = await client.beginIngest("example.test", "me", "axfr", 9);
    await session.beginFull(soa);
    await session.records([a]);
    await session.end();
    await session.commit();
    await client.close();
    expect(seen.map((s) => `${s.method} ${s.url}`).slice(1, 3)).toEqual([
      "PUT /internal/v1/zones/example.test/ingest/4/chunks/0?owner=me",
      "PUT /internal/v1/zones/example.test/ingest/4/chunks/1?owner=me",
    ]);
    expect(new Uint8Array(seen[1]!.body)).toEqual(encodeRecordStream([soa]));
    expect(new Uint8Array(seen[2]!.body)).toEqual(encodeRecordStream([a]));
  });

  it("ends an attempt in one call: log entries, report, acknowledgement and release; tried again after a 503", async () => {
    let calls = 0;
    const client = await scriptedWorker((_req, _body, res) =>
      ++calls === 1 ? json(res, 503, { error: { code: "restarted", message: "restarted" } }) : json(res, 200, { cleared: true, released: true }),
    );
    const entry = { zone: "example.test", primary: "192.0.2.1:53", kind: "axfr" as const, serialBefore: null, serialAfter: 9, records: 3, bytes: 120, durationMs: 4.4, result: "ok" as const, instance: "me", startedAt: 1000.2 };
    const report = { status: "active" as const, statusDetail: "transferred", primarySerial: 9, soa: { refresh: 3600, retry: 600, expire: 86400, minimum: 300 }, expiresAt: 90_000, lastCheckAt: 2000, nextRefreshAt: 3_602_000, servedRequestAt: 1500 };
    await client.finish("example.test", "me", { zoneId: 7, transfers: [entry], report, release: true });
    await client.close();
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual(["POST /internal/v1/zones/example.test/finish", "POST /internal/v1/zones/example.test/finish"]);
    expect(seen[1]!.body).toEqual(seen[0]!.body);
    expect(JSON.parse(seen[0]!.body.toString())).toEqual({
      owner: "me",
      zoneId: 7,
      transfers: [{ kind: "axfr", result: "ok", primary: "192.0.2.1:53", records: 3, bytes: 120, durationMs: 4, instance: "me", at: 1000, toSerial: 9 }],
      report: { status: "active", statusDetail: "transferred", nextRefreshAt: 3_602_000, soa: { serial: 9, refresh: 3600, retry: 600, expire: 86400, minimum: 300 }, primarySerial: 9, lastCheckAt: 2000, expiresAt: 90_000 },
      servedRequestAt: 1500,
      release: true,
    });
  });
});

describe("encodeRecordStream", () => {
  it("writes uncompressed RRs back to back (RFC 1035 §4.1.3)", () => {
    const rr = { name: Name.parse("a.b"), type: RRType.A, class: 1, ttl: 300, rdata: new Uint8Array([10, 0, 0, 1]) };
    expect([...encodeRecordStream([rr, rr])]).toEqual(
      [...[1, 97, 1, 98, 0, 0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 10, 0, 0, 1]].concat([1, 97, 1, 98, 0, 0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 10, 0, 0, 1]),
    );
  });
});
