/**
 * @module `/internal/v1`, the transfer-service's side door (see `contract.ts` for every route and body):
 * zone configuration with decrypted TSIG secrets, timers, leases, the transfer log, refresh signals,
 * ingest of full transfers and changesets, and reading versions and the journal back. Bearer
 * INTERNAL_TOKEN only; nothing here is reachable with the admin token.
 */
import { Hono } from "hono";
import type { Context } from "hono";
import { Name } from "../../dns/name.ts";
import { SecretBox } from "../db/secret-box.ts";
import { bearerToken, tokenMatches } from "../api/bearer-token.ts";
import { d1Session, type SessionEnv } from "../api/d1-session.ts";
import { ApiError, errorBody, errorResponse, jsonBody, validate } from "../api/errors.ts";
import { dnsName } from "../api/dns-name-input.ts";
import { applyChangesets } from "../store/changeset-apply.ts";
import { abortIngest, appendChunk, beginIngest, commitIngest } from "../store/full-ingest.ts";
import type { ZoneRef } from "../store/full-ingest.ts";
import { readJournal } from "../store/journal.ts";
import { acquireLease, releaseLease, renewLease } from "../store/lease.ts";
import { Budget } from "../store/statement-budget.ts";
import { streamVersion } from "../store/version-stream.ts";
import {
  ChangesetRequest,
  CommitRequest,
  LeaseRequest,
  OwnerRequest,
  SERIAL_HEADER,
  SignalAck,
  TimersUpdate,
  TransferLogEntry,
  VERSION_HEADER,
} from "./contract.ts";
import type { Signal, TsigKeyMaterial, ZoneConfig } from "./contract.ts";

type AppContext = Context<SessionEnv>;

/** Largest chunk body accepted: a few MB keeps a chunk's sort well inside the isolate's memory. */
const MAX_CHUNK_BYTES = 8 * 1024 * 1024;

interface ZoneConfigRow {
  id: number;
  name: string;
  model: ZoneConfig["model"];
  primaries: string;
  tsig_key: string | null;
  notify_allow: string;
  transfer_allow: string;
  status: ZoneConfig["status"];
  status_detail: string;
  current_version: number | null;
  serial: number | null;
  primary_serial: number | null;
  record_count: number;
  expires_at: number | null;
  last_check_at: number | null;
  next_refresh_at: number | null;
  soa_refresh: number | null;
  soa_retry: number | null;
  soa_expire: number | null;
  soa_minimum: number | null;
  min_refresh: number;
  max_refresh: number;
  min_retry: number;
  max_retry: number;
  min_expire: number;
  max_expire: number;
  lease_owner: string | null;
  lease_until: number | null;
  refresh_requested_at: number | null;
  refresh_force: "axfr" | null;
  refresh_accept_lower_serial: number;
}

function configOf(r: ZoneConfigRow): ZoneConfig {
  return {
    name: r.name,
    model: r.model,
    primaries: JSON.parse(r.primaries) as ZoneConfig["primaries"],
    tsigKey: r.tsig_key,
    notifyAllow: JSON.parse(r.notify_allow) as string[],
    transferAllow: JSON.parse(r.transfer_allow) as ZoneConfig["transferAllow"],
    status: r.status,
    statusDetail: r.status_detail,
    currentVersion: r.current_version,
    serial: r.serial,
    primarySerial: r.primary_serial,
    recordCount: r.record_count,
    expiresAt: r.expires_at,
    lastCheckAt: r.last_check_at,
    nextRefreshAt: r.next_refresh_at,
    timers: {
      refresh: r.soa_refresh,
      retry: r.soa_retry,
      expire: r.soa_expire,
      minimum: r.soa_minimum,
      minRefresh: r.min_refresh,
      maxRefresh: r.max_refresh,
      minRetry: r.min_retry,
      maxRetry: r.max_retry,
      minExpire: r.min_expire,
      maxExpire: r.max_expire,
    },
    lease: r.lease_owner !== null && r.lease_until !== null ? { owner: r.lease_owner, until: r.lease_until } : null,
    refresh:
      r.refresh_requested_at !== null
        ? { requestedAt: r.refresh_requested_at, force: r.refresh_force, acceptLowerSerial: r.refresh_accept_lower_serial === 1 }
        : null,
  };
}

/** The keys the given zones refer to, decrypted. */
async function keysFor(c: AppContext, configs: ZoneConfig[]): Promise<TsigKeyMaterial[]> {
  const names = new Set<string>();
  for (const z of configs) {
    if (z.tsigKey) names.add(z.tsigKey);
    for (const p of z.primaries) if (p.tsigKey) names.add(p.tsigKey);
    for (const t of z.transferAllow) if (t.tsigKey) names.add(t.tsigKey);
  }
  if (names.size === 0) return [];
  const box = await SecretBox.fromBase64(c.env.TSIG_ENCRYPTION_KEY).catch(() => {
    throw new ApiError(503, "not-configured", "TSIG_ENCRYPTION_KEY is not set (or not 32 bytes of base64) on this Worker");
  });
  const rows = await c.var.db.prepare("SELECT name, algorithm, secret_encrypted FROM tsig_keys").all<{
    name: string;
    algorithm: TsigKeyMaterial["algorithm"];
    secret_encrypted: ArrayBuffer;
  }>();
  const out: TsigKeyMaterial[] = [];
  for (const row of rows.results) {
    if (!names.has(row.name)) continue;
    const secret = await box.open(new Uint8Array(row.secret_encrypted), row.name);
    out.push({ name: row.name, algorithm: row.algorithm, secret: btoa(String.fromCharCode(...secret)) });
  }
  return out;
}

async function zoneRef(c: AppContext): Promise<ZoneRef & { row: { current_version: number | null; serial: number | null } }> {
  const name = validate(dnsName, decodeURIComponent(c.req.param("zone") ?? ""), "zone");
  const row = await c.var.db.prepare("SELECT id, name, current_version, serial FROM zones WHERE name = ?1")
    .bind(name)
    .first<{ id: number; name: string; current_version: number | null; serial: number | null }>();
  if (!row) throw new ApiError(404, "not-found", `no zone named ${name}`);
  return { id: row.id, name: Name.parseAbsolute(row.name), row };
}

function versionParam(c: AppContext): number {
  const text = c.req.param("version") ?? "";
  if (!/^\d{1,15}$/.test(text)) throw new ApiError(400, "invalid", "version: must be a positive integer", "version");
  return Number(text);
}

export function createInternal(): Hono<SessionEnv> {
  const api = new Hono<SessionEnv>();

  api.use("*", async (c, next) => {
    if (!c.env.INTERNAL_TOKEN) throw new ApiError(503, "not-configured", "INTERNAL_TOKEN is not set on this Worker");
    const token = bearerToken(c);
    if (!token) throw new ApiError(401, "unauthorized", "send Authorization: Bearer <internal token>");
    if (!(await tokenMatches(token, c.env.INTERNAL_TOKEN))) throw new ApiError(403, "forbidden", "the token is not valid here");
    await next();
  });
  // One D1 session per request, from the service's bookmark; the response carries the new one.
  api.use("*", d1Session());

  api.get("/zones", async (c) => {
    const rows = await c.var.db.prepare("SELECT * FROM zones ORDER BY name").all<ZoneConfigRow>();
    const zones = rows.results.map(configOf);
    return c.json({ zones, keys: await keysFor(c, zones) });
  });

  api.get("/zones/:zone", async (c) => {
    const ref = await zoneRef(c);
    const row = await c.var.db.prepare("SELECT * FROM zones WHERE id = ?1").bind(ref.id).first<ZoneConfigRow>();
    const zones = [configOf(row!)];
    return c.json({ zones, keys: await keysFor(c, zones) });
  });

  api.post("/zones/:zone/lease", async (c) => {
    const ref = await zoneRef(c);
    const body = await jsonBody(c, LeaseRequest);
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
    const sets: string[] = [];
    const params: (string | number | null)[] = [ref.id, body.owner, Date.now()];
    const set = (column: string, value: string | number | null | undefined) => {
      if (value === undefined) return;
      params.push(value);
      sets.push(`${column} = ?${params.length}`);
    };
    set("soa_refresh", body.soa?.refresh);
    set("soa_retry", body.soa?.retry);
    set("soa_expire", body.soa?.expire);
    set("soa_minimum", body.soa?.minimum);
    set("primary_serial", body.primarySerial ?? body.soa?.serial);
    set("last_check_at", body.lastCheckAt);
    set("next_refresh_at", body.nextRefreshAt);
    set("expires_at", body.expiresAt);
    set("status", body.status);
    set("status_detail", body.statusDetail);
    if (sets.length === 0) return c.json({ ok: true as const });
    const result = await c.var.db.prepare(
      `UPDATE zones SET ${sets.join(", ")}, updated_at = ?3 WHERE id = ?1 AND lease_owner = ?2 AND lease_until > ?3`,
    )
      .bind(...params)
      .run();
    if ((result.meta.changes ?? 0) !== 1) throw new ApiError(409, "lease", `${body.owner} does not hold the refresh lease of ${ref.name}`);
    return c.json({ ok: true as const });
  });

  api.post("/zones/:zone/transfers", async (c) => {
    const ref = await zoneRef(c);
    const e = await jsonBody(c, TransferLogEntry);
    const row = await c.var.db.prepare(
      `INSERT INTO transfer_log (zone_id, at, kind, result, "primary", from_serial, to_serial, records, bytes, duration_ms, error, instance)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) RETURNING id`,
    )
      .bind(
        ref.id,
        e.at ?? Date.now(),
        e.kind,
        e.result,
        e.primary ?? null,
        e.fromSerial ?? null,
        e.toSerial ?? null,
        e.records ?? null,
        e.bytes ?? null,
        e.durationMs ?? null,
        e.error ?? null,
        e.instance ?? null,
      )
      .first<{ id: number }>();
    return c.json({ id: row!.id }, 201);
  });

  api.get("/signals", async (c) => {
    const rows = await c.var.db.prepare(
      "SELECT name, refresh_requested_at, refresh_force, refresh_accept_lower_serial FROM zones WHERE refresh_requested_at IS NOT NULL ORDER BY refresh_requested_at",
    ).all<{ name: string; refresh_requested_at: number; refresh_force: "axfr" | null; refresh_accept_lower_serial: number }>();
    const signals: Signal[] = rows.results.map((r) => ({
      zone: r.name,
      requestedAt: r.refresh_requested_at,
      force: r.refresh_force,
      acceptLowerSerial: r.refresh_accept_lower_serial === 1,
    }));
    return c.json({ signals });
  });

  api.post("/zones/:zone/signal/ack", async (c) => {
    const ref = await zoneRef(c);
    const body = await jsonBody(c, SignalAck);
    const result = await c.var.db.prepare(
      `UPDATE zones SET refresh_requested_at = NULL, refresh_force = NULL, refresh_accept_lower_serial = 0
       WHERE id = ?1 AND refresh_requested_at = ?2`,
    )
      .bind(ref.id, body.requestedAt)
      .run();
    return c.json({ cleared: (result.meta.changes ?? 0) === 1 });
  });

  api.post("/zones/:zone/ingest", async (c) => {
    const ref = await zoneRef(c);
    const body = await jsonBody(c, OwnerRequest);
    return c.json({ version: await beginIngest(new Budget(c.var.db), ref, body.owner) });
  });

  api.put("/zones/:zone/ingest/:version/chunks/:seq", async (c) => {
    const ref = await zoneRef(c);
    const version = versionParam(c);
    const seqText = c.req.param("seq") ?? "";
    if (!/^\d{1,9}$/.test(seqText)) throw new ApiError(400, "invalid", "seq: must be a non-negative integer", "seq");
    const owner = validate(OwnerRequest.shape.owner, c.req.query("owner"), "owner");
    const length = Number(c.req.header("content-length") ?? "0");
    if (length > MAX_CHUNK_BYTES) throw new ApiError(413, "too-large", `a chunk is at most ${MAX_CHUNK_BYTES} bytes`);
    const body = new Uint8Array(await c.req.arrayBuffer());
    if (body.length > MAX_CHUNK_BYTES) throw new ApiError(413, "too-large", `a chunk is at most ${MAX_CHUNK_BYTES} bytes`);
    const records = await appendChunk(new Budget(c.var.db), ref, version, Number(seqText), body, owner);
    return c.json({ records });
  });

  api.post("/zones/:zone/ingest/:version/commit", async (c) => {
    const ref = await zoneRef(c);
    const version = versionParam(c);
    const body = await jsonBody(c, CommitRequest);
    const result = await commitIngest(new Budget(c.var.db), ref, version, body.owner, { serial: body.serial, expiresAt: body.expiresAt });
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
    const body = await jsonBody(c, ChangesetRequest);
    const decode = (b64: string) => Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
    const result = await applyChangesets(
      new Budget(c.var.db),
      ref,
      body.owner,
      body.changesets.map((cs) => ({ fromSerial: cs.fromSerial, toSerial: cs.toSerial, deletions: decode(cs.deletions), additions: decode(cs.additions) })),
      { expiresAt: body.expiresAt },
    );
    return c.json({ version: result.version, serial: result.serial, recordCount: result.recordCount, rowsWritten: result.rowsWritten });
  });

  api.get("/zones/:zone/versions/:version/records", async (c) => {
    const ref = await zoneRef(c);
    const version = c.req.param("version") === "current" ? ref.row.current_version : versionParam(c);
    if (version === null) throw new ApiError(404, "no-data", `${ref.name} has no version yet`);
    const stream = await streamVersion(c.var.db, ref.id, version);
    if (!stream) throw new ApiError(404, "not-found", `${ref.name} has no committed version ${version}`);
    return new Response(stream.body, {
      headers: { "content-type": "application/octet-stream", [SERIAL_HEADER]: String(stream.serial), [VERSION_HEADER]: String(version) },
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

  // A mounted app's notFound is not consulted by the parent, so unknown paths are caught here.
  api.all("*", (c) => c.json(errorBody("not-found", `no route ${c.req.method} ${c.req.path}`), 404));
  api.onError((err, c) => errorResponse(c, err));
  return api;
}
