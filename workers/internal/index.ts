/**
 * @module `/internal/v1`, the transfer-service's side door (see `contract/internal-v1.ts` for every route and body):
 * zone configuration with decrypted TSIG secrets, timers, leases, the transfer log, refresh signals,
 * ingest of full transfers and changesets, and reading versions and the journal back. Bearer
 * INTERNAL_TOKEN only; nothing here is reachable with the admin token. The handlers validate and answer;
 * their SQL is in `db/queries/` and `store/`.
 */
import { Hono } from "hono";
import type { Context } from "hono";
import { SecretBox } from "../db/secret-box.ts";
import { sealedKeys } from "../db/queries/tsig-keys.ts";
import { acknowledgeSignal, pendingSignals } from "../db/queries/refresh-signals.ts";
import { appendTransfer } from "../db/queries/transfer-log.ts";
import { zoneConfig, zoneConfigChanges, zoneConfigs } from "../db/queries/zone-config.ts";
import { writeTimers } from "../db/queries/zone-timers.ts";
import { bearerAuth, internalOnly } from "../http/auth/index.ts";
import { d1Session } from "../http/d1-session/index.ts";
import { ApiError, errorBody, errorResponse, jsonBody, validate } from "../http/errors/index.ts";
import type { RouteEnv } from "../http/route-env.ts";
import { applyChangesets } from "../store/changeset-apply.ts";
import { abortIngest, appendBlocks, appendChunk, beginIngest, commitIngest } from "../store/full-ingest.ts";
import { readJournal } from "../store/journal.ts";
import { acquireLease, releaseLease, renewLease } from "../store/lease.ts";
import { servedCommitted, servedPointersChanged } from "../store/served-store.ts";
import { Budget } from "../store/statement-budget.ts";
import { streamVersion } from "../store/version-stream.ts";
import { mountUpdate } from "./update.ts";
import { mountFolded } from "./folded.ts";
import { afterCommit, databaseSize, MAX_CHUNK_BYTES, versionParam, zoneRef } from "./ingest-steps.ts";
import {
  CHANGESET_NODES_TYPE,
  ChangesetNodesRequest,
  ChangesetRequest,
  splitChangesetNodesBody,
  CommitRequest,
  LeaseRequest,
  OwnerRequest,
  SERIAL_HEADER,
  SignalAck,
  TimersUpdate,
  TransferLogEntry,
  RECORDS_VERSION_HEADER,
  ZoneFeedQuery,
} from "../../contract/internal-v1.ts";
import type { NodesInput } from "../store/changeset-nodes.ts";
import type { Signal, TsigKeyMaterial, ZoneConfig, ZoneConfigChanges } from "../../contract/internal-v1.ts";

type AppContext = Context<RouteEnv>;


/** The keys the given zones refer to, decrypted. */
async function keysFor(c: AppContext, configs: ZoneConfig[]): Promise<TsigKeyMaterial[]> {
  const names = new Set<string>();
  for (const z of configs) {
    if (z.tsigKey) names.add(z.tsigKey);
    for (const p of z.primaries) if (p.tsigKey) names.add(p.tsigKey);
    for (const t of z.transferAllow) if (t.tsigKey) names.add(t.tsigKey);
    for (const t of z.alsoNotify) if (t.tsigKey) names.add(t.tsigKey);
    for (const t of z.updateAllow) names.add(t.tsigKey);
  }
  if (names.size === 0) return [];
  const box = await SecretBox.fromBase64(c.env.TSIG_ENCRYPTION_KEY).catch(() => {
    throw new ApiError(503, "not-configured", "TSIG_ENCRYPTION_KEY is not set (or not 32 bytes of base64) on this Worker");
  });
  const out: TsigKeyMaterial[] = [];
  for (const key of await sealedKeys(c.var.db, names)) {
    const secret = await box.open(key.sealed, key.name);
    out.push({ name: key.name, algorithm: key.algorithm, secret: btoa(String.fromCharCode(...secret)) });
  }
  return out;
}

export function createInternal(): Hono<RouteEnv> {
  const api = new Hono<RouteEnv>();

  api.use("*", bearerAuth({ needs: "INTERNAL_TOKEN", allow: internalOnly, asks: "internal token" }));
  // One D1 session per request, from the service's bookmark; the response carries the new one.
  api.use("*", d1Session("internal"));

  api.get("/zones", async (c) => {
    if (c.req.query("since") !== undefined) {
      // The change feed (issue 19): what changed since the service's cursors, not every zone.
      const query = validate(ZoneFeedQuery, c.req.query());
      const page = await zoneConfigChanges(c.var.db, query.since, query.deletes, query.limit);
      return c.json({ ...page, keys: await keysFor(c, page.zones) } satisfies ZoneConfigChanges);
    }
    const zones = await zoneConfigs(c.var.db);
    return c.json({ zones, keys: await keysFor(c, zones) });
  });

  api.get("/zones/:zone", async (c) => {
    const ref = await zoneRef(c);
    const zones = [(await zoneConfig(c.var.db, ref.id))!];
    return c.json({ zones, keys: await keysFor(c, zones) });
  });

  api.post("/zones/:zone/lease", async (c) => {
    const body = await jsonBody(c, LeaseRequest);
    // Issue 19: the service names the zone's row, and row ids are never reused (AUTOINCREMENT), so the lease
    // is taken by it in one statement; only a refusal reads the row by name, to say why (404: gone or created
    // again; 409: held).
    if (body.zoneId !== undefined) {
      const lease = await acquireLease(new Budget(c.var.db), body.zoneId, body.owner, body.ttlMs);
      if (lease) return c.json(lease);
    }
    const ref = await zoneRef(c);
    if (body.zoneId !== undefined && body.zoneId !== ref.id) {
      throw new ApiError(404, "not-found", `${ref.name} was deleted and created again (zone ${ref.id}, not ${body.zoneId}); the attempt for the old zone stops`);
    }
    const lease = await acquireLease(new Budget(c.var.db), ref.id, body.owner, body.ttlMs);
    if (!lease) throw new ApiError(409, "lease-held", `another instance holds the refresh lease of ${ref.row ? ref.name : ""}`);
    return c.json(lease);
  });

  api.post("/zones/:zone/lease/renew", async (c) => {
    const ref = await zoneRef(c);
    const body = await jsonBody(c, LeaseRequest);
    const lease = await renewLease(new Budget(c.var.db), ref.id, body.owner, body.ttlMs);
    if (!lease) throw new ApiError(409, "lease-lost", `the refresh lease of ${ref.name} is no longer held by ${body.owner}`);
    return c.json(lease);
  });

  api.post("/zones/:zone/lease/release", async (c) => {
    const ref = await zoneRef(c);
    const body = await jsonBody(c, OwnerRequest);
    return c.json({ released: await releaseLease(new Budget(c.var.db), ref.id, body.owner) });
  });

  api.put("/zones/:zone/timers", async (c) => {
    const ref = await zoneRef(c);
    const body = await jsonBody(c, TimersUpdate);
    if (!(await writeTimers(c.var.db, ref.id, body))) {
      throw new ApiError(409, "lease", `${body.owner} does not hold the refresh lease of ${ref.name}`);
    }
    return c.json({ ok: true as const });
  });

  api.post("/zones/:zone/transfers", async (c) => {
    const ref = await zoneRef(c);
    const e = await jsonBody(c, TransferLogEntry);
    return c.json({ id: await appendTransfer(c.var.db, ref.id, e) }, 201);
  });

  api.get("/signals", async (c) => {
    const signals: Signal[] = await pendingSignals(c.var.db);
    return c.json({ signals });
  });

  api.post("/zones/:zone/signal/ack", async (c) => {
    const ref = await zoneRef(c);
    const body = await jsonBody(c, SignalAck);
    return c.json({ cleared: await acknowledgeSignal(c.var.db, ref.id, body.requestedAt) });
  });

  api.post("/zones/:zone/ingest", async (c) => {
    const ref = await zoneRef(c);
    const body = await jsonBody(c, OwnerRequest);
    // The database's size is read beside the begin, not after it: the AXFR's first chunk waits on this answer.
    const [version, dbBytes] = await Promise.all([beginIngest(new Budget(c.var.db), ref, body.owner), databaseSize(c.var.db)]);
    return c.json({ version, dbBytes });
  });

  /** A chunk's route: the zone, version, `seq` and owner from the request, and its body, bounded. */
  const chunkRequest = async (c: AppContext) => {
    const ref = await zoneRef(c);
    const version = versionParam(c);
    const seqText = c.req.param("seq") ?? "";
    if (!/^\d{1,9}$/.test(seqText)) throw new ApiError(400, "invalid", "seq: must be a non-negative integer", "seq");
    const owner = validate(OwnerRequest.shape.owner, c.req.query("owner"), "owner");
    const length = Number(c.req.header("content-length") ?? "0");
    if (length > MAX_CHUNK_BYTES) throw new ApiError(413, "too-large", `a chunk is at most ${MAX_CHUNK_BYTES} bytes`);
    const body = new Uint8Array(await c.req.arrayBuffer());
    if (body.length > MAX_CHUNK_BYTES) throw new ApiError(413, "too-large", `a chunk is at most ${MAX_CHUNK_BYTES} bytes`);
    return { ref, version, seq: Number(seqText), owner, body };
  };

  api.put("/zones/:zone/ingest/:version/chunks/:seq", async (c) => {
    const { ref, version, seq, owner, body } = await chunkRequest(c);
    return c.json({ records: await appendChunk(new Budget(c.var.db), ref, version, seq, body, owner) });
  });

  // Issue 28: the chunk's blocks, cut by the service (`answer/store/block-chunk.ts`); checked, then bound.
  api.put("/zones/:zone/ingest/:version/blocks/:seq", async (c) => {
    const { ref, version, seq, owner, body } = await chunkRequest(c);
    return c.json({ records: await appendBlocks(new Budget(c.var.db), ref, version, seq, body, owner) });
  });

  api.post("/zones/:zone/ingest/:version/commit", async (c) => {
    const ref = await zoneRef(c);
    const version = versionParam(c);
    const body = await jsonBody(c, CommitRequest);
    const result = await commitIngest(new Budget(c.var.db), ref, version, body.owner, { serial: body.serial, expiresAt: body.expiresAt });
    // The new version is served by this isolate's next query, not a pointer TTL later.
    servedPointersChanged();
    await afterCommit(c, ref);
    return c.json(result);
  });

  api.post("/zones/:zone/ingest/:version/abort", async (c) => {
    const ref = await zoneRef(c);
    const version = versionParam(c);
    const body = await jsonBody(c, OwnerRequest);
    await abortIngest(new Budget(c.var.db), ref, version, body.owner);
    return c.json({ ok: true as const });
  });

  api.post("/zones/:zone/changesets", async (c) => {
    const ref = await zoneRef(c);
    // Issue 28, session 10: with the changed nodes the service computed, a binary body (`CHANGESET_NODES_TYPE`).
    const withNodes = (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase() === CHANGESET_NODES_TYPE;
    let body: ChangesetRequest;
    let nodes: NodesInput | undefined;
    if (withNodes) {
      const split = splitChangesetNodesBody(new Uint8Array(await c.req.arrayBuffer()));
      if (split === null) throw new ApiError(400, "invalid", "the body is not a changesets request with nodes (a u32 header length, a JSON header, the nodes)");
      const header = validate(ChangesetNodesRequest, split.header);
      body = header;
      nodes = { ...header.base, nodes: split.nodes };
    } else body = await jsonBody(c, ChangesetRequest);
    const decode = (b64: string) => Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
    const result = await applyChangesets(
      new Budget(c.var.db),
      ref,
      body.owner,
      body.changesets.map((cs) => ({ fromSerial: cs.fromSerial, toSerial: cs.toSerial, deletions: decode(cs.deletions), additions: decode(cs.additions) })),
      // The version the zone row above was read at: the lookups go with the lease check (one D1 round trip less).
      { expiresAt: body.expiresAt, expectedBase: ref.row.current_version, nodes },
    );
    // Issue 28, session 11: this isolate's next query serves the new version without reading it back.
    if (result.served) servedCommitted(ref.name, ref.id, result.served, body.expiresAt);
    else servedPointersChanged();
    await afterCommit(c, ref);
    return c.json({
      version: result.version,
      serial: result.serial,
      recordCount: result.recordCount,
      rowsWritten: result.rowsWritten,
      rowsRead: result.rowsRead,
      ...(result.nodes ? { nodes: result.nodes } : {}),
    });
  });

  api.get("/zones/:zone/versions/:version/records", async (c) => {
    const ref = await zoneRef(c);
    const version = c.req.param("version") === "current" ? ref.row.current_version : versionParam(c);
    if (version === null) throw new ApiError(404, "no-data", `${ref.name} has no version yet`);
    const stream = await streamVersion(c.var.db, ref.id, version);
    if (!stream) throw new ApiError(404, "not-found", `${ref.name} has no committed version ${version}`);
    return new Response(stream.body, {
      headers: { "content-type": "application/octet-stream", [SERIAL_HEADER]: String(stream.serial), [RECORDS_VERSION_HEADER]: String(version) },
    });
  });

  api.get("/zones/:zone/journal", async (c) => {
    const ref = await zoneRef(c);
    const since = c.req.query("since") ?? "";
    if (!/^\d{1,10}$/.test(since) || Number(since) > 0xffffffff) {
      throw new ApiError(400, "invalid", "since: must be a serial (0 to 4294967295)", "since");
    }
    const journal = await readJournal(c.var.db, ref.id, Number(since));
    if (!journal) throw new ApiError(404, "journal-gap", `the journal of ${ref.name} does not reach back to serial ${since}`);
    return c.json(journal);
  });

  // Issue 19: a small zone's transfer stored and committed by one request, an attempt's end by one more.
  mountFolded(api);

  // Issue 22: RFC 2136 UPDATE of a primary zone, allowed by the service, applied here atomically.
  mountUpdate(api);

  // A mounted app's notFound is not consulted by the parent, so unknown paths are caught here.
  api.all("*", (c) => c.json(errorBody("not-found", `no route ${c.req.method} ${c.req.path}`), 404));
  api.onError((err, c) => errorResponse(c, err));
  return api;
}
