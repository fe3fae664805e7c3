/**
 * @module Where alerts are worked out: once per cron run of the Worker (`workers/index.ts`'s scheduled
 * handler), over every zone in D1. The cron is the one place: the time-based kinds need a clock even when
 * no transfer happens, and however many transfer-service instances run, there is one Worker cron.
 *
 * Each run reads the zones, their newest transfer-log lines, the thresholds and the unresolved alerts,
 * asks `rules.ts` which conditions hold, and moves each alert row along its lifecycle:
 *
 *   condition seen ─► pending ──(held for the damping interval)──► open ──(condition gone)──► resolved
 *                        └──(condition gone first)──► deleted: it never opened
 *
 * Every write is idempotent, so two runs at once (a slow run overlapping the next, `/__scheduled` called
 * twice) cannot double-open or double-queue: the partial unique index allows one unresolved row per zone
 * and kind, a state change is a compare-and-set on the old state, and a delivery is unique per alert and
 * event (`alert_deliveries_once`).
 */
import { LRUCache } from "lru-cache";
import { Name } from "../../dns/name.ts";
import { RRType, typeToString } from "../../dns/constants.ts";
import { rdataToText } from "../../dns/rdata/index.ts";
import type { ZoneModel, ZoneStatus } from "../../contract/vocabulary.ts";
import type { D1Queryable } from "../db/d1-queryable.ts";
import { decodeBlock } from "../store/block-codec.ts";
import { textToBytes } from "../store/blob-text.ts";
import { D1ZoneStore } from "../store/d1-zone-store.ts";
import { resolveSignatureTime } from "../../answer/store/rrsig-expiry.ts";
import { TREE_MAIN } from "../../answer/store/stored-node.ts";
import type { StoredNode, Tree } from "../../answer/store/stored-node.ts";
import { readOverlay } from "../store/overlay-table.ts";
import { earliestBlocksStatement } from "../store/block-table.ts";
import { Budget } from "../store/statement-budget.ts";
import type { AlertEvent, AlertKind, AlertState } from "./kinds.ts";
import { clampedTimers, conditionsOf, type Condition, type ZoneFacts } from "./rules.ts";
import { DEPLOYMENT_ROW, mergeThresholds } from "./thresholds.ts";

export interface EvaluateOptions {
  now?: number;
  /** This deployment's nameservers (BACKSTOP_NAMESERVERS), lowercase, no trailing dot; empty: no `ns-mismatch`. */
  nameservers?: readonly string[];
}

export interface EvaluateResult {
  zones: number;
  pending: number;
  opened: number;
  resolved: number;
}

interface AlertRow {
  id: number;
  zone: string;
  kind: AlertKind;
  state: AlertState;
  since: number;
  seen_at: number;
  opened_at: number | null;
  message: string;
}

interface ZoneRowLite {
  id: number;
  name: string;
  model: ZoneModel;
  status: ZoneStatus;
  status_detail: string;
  serial: number | null;
  primary_serial: number | null;
  current_version: number | null;
  expires_at: number | null;
  rrsig_expires_at: number | null;
  next_refresh_at: number | null;
  soa_refresh: number | null;
  soa_retry: number | null;
  soa_expire: number | null;
  min_refresh: number;
  max_refresh: number;
  min_retry: number;
  max_retry: number;
  min_expire: number;
  max_expire: number;
}

/** `BACKSTOP_NAMESERVERS` as a list: comma-separated names, lowercased, without trailing dots. */
export function parseNameservers(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((s) => s.trim().toLowerCase().replace(/\.$/, ""))
    .filter((s) => s !== "");
}

/** The body of a delivery, as queued (rendered in the webhook's format when sent, `deliver.ts`). */
export interface AlertPayload {
  event: AlertEvent;
  zone: string;
  kind: AlertKind | "test";
  since: string;
  openedAt: string | null;
  resolvedAt: string | null;
  message: string;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** One evaluation over every zone; see the module comment. */
export async function evaluateAlerts(db: D1Queryable, options: EvaluateOptions = {}): Promise<EvaluateResult> {
  const now = options.now ?? Date.now();
  const nameservers = options.nameservers ?? [];
  const [zoneRows, thresholdRows, activeRows, webhook] = await Promise.all([
    db
      .prepare(
        `SELECT id, name, model, status, status_detail, serial, primary_serial, current_version, expires_at, rrsig_expires_at,
                next_refresh_at, soa_refresh, soa_retry, soa_expire, min_refresh, max_refresh, min_retry, max_retry, min_expire, max_expire
           FROM zones`,
      )
      .all<ZoneRowLite>(),
    db.prepare("SELECT zone, settings FROM alert_thresholds").all<{ zone: string; settings: string }>(),
    db.prepare("SELECT id, zone, kind, state, since, seen_at, opened_at, message FROM alerts WHERE resolved_at IS NULL").all<AlertRow>(),
    db.prepare("SELECT 1 AS one FROM alert_webhook WHERE id = 1").first<{ one: number }>(),
  ]);
  const layers = new Map(thresholdRows.results.map((r) => [r.zone, JSON.parse(r.settings) as Record<string, unknown>]));
  const deployment = layers.get(DEPLOYMENT_ROW);
  const thresholdsOf = (zone: string) => mergeThresholds(deployment, layers.get(zone));
  const maxChecks = zoneRows.results.reduce((m, z) => Math.max(m, thresholdsOf(z.name).failingChecks), 1);
  // Only a zone whose last attempt did not succeed can be in a run of failures (a success sets `active`).
  const unsettled = zoneRows.results.filter((z) => z.status !== "active" && z.status !== "serial-regressed").map((z) => z.id);
  const streaks = await failureStreaks(db, unsettled, maxChecks);
  const active = new Map(activeRows.results.map((a) => [`${a.zone}\u0000${a.kind}`, a]));
  const store = nameservers.length > 0 ? new D1ZoneStore(db) : undefined;

  const result: EvaluateResult = { zones: zoneRows.results.length, pending: 0, opened: 0, resolved: 0 };
  const queue: Queue = { enabled: webhook !== null, db, now, messageUpdates: [] };
  const seen = new Set<string>();
  let nsReads = NS_READS_PER_RUN;
  for (const row of zoneRows.results) {
    const thresholds = thresholdsOf(row.name);
    let apexNs: string[] | null = null;
    if (store && row.current_version !== null) {
      apexNs = apexNsCache.get(`${row.id}:${row.current_version}`) ?? null;
      if (apexNs === null && nsReads > 0) {
        nsReads--;
        apexNs = await apexNameservers(store, row);
      }
      // Not read this run (over the budget): whatever ns-mismatch state the zone has stays as it is.
      if (apexNs === null) seen.add(`${row.name}\u0000ns-mismatch`);
    }
    const facts = factsOf(row, streaks.get(row.id), apexNs, now);
    const held = new Map(conditionsOf(facts, thresholds, nameservers, now).map((c) => [c.kind, c]));
    // The RRSIG record is looked up only for a zone that has the alert (it decodes a block).
    const rrsig = held.get("rrsig-expiring");
    if (rrsig && row.current_version !== null && row.rrsig_expires_at !== null) {
      const key = `${row.id}:${row.current_version}:${row.rrsig_expires_at}`;
      if (!rrsigRecordCache.has(key)) rrsigRecordCache.set(key, (await earliestSignature(db, row.id, row.current_version, now)) ?? "");
      facts.rrsigRecord = rrsigRecordCache.get(key) || undefined;
      held.set("rrsig-expiring", conditionsOf(facts, thresholds, nameservers, now).find((c) => c.kind === "rrsig-expiring") ?? rrsig);
    }
    for (const condition of held.values()) {
      const key = `${row.name}\u0000${condition.kind}`;
      seen.add(key);
      await advance(queue, row.name, condition, active.get(key), result);
    }
  }
  // Unresolved alerts whose condition is gone (or whose zone is).
  for (const [key, alert] of active) {
    if (seen.has(key)) continue;
    await clear(queue, alert, result);
  }
  // New words for alerts already pending or open (counts, time left), in batches rather than a statement each.
  for (let i = 0; i < queue.messageUpdates.length; i += 50) await db.batch(queue.messageUpdates.slice(i, i + 50));
  return result;
}

interface Queue {
  enabled: boolean;
  db: D1Queryable;
  now: number;
  /** `UPDATE alerts SET message` statements, run together at the end. */
  messageUpdates: D1PreparedStatement[];
}

/**
 * Apex NS sets read from the store per run at most (each is a block read; they are cached per zone version,
 * so later runs read only zones that changed). D1 allows an invocation 1,000 queries: a first run over many
 * zones checks the rest in the runs that follow.
 */
const NS_READS_PER_RUN = 200;

/** A condition that holds: insert it as pending, open it once it has held long enough, or refresh its words. */
async function advance(q: Queue, zone: string, c: Condition, alert: AlertRow | undefined, result: EvaluateResult): Promise<void> {
  const { db, now } = q;
  if (!alert) {
    const inserted = await db
      .prepare(
        `INSERT INTO alerts (zone, kind, state, since, seen_at, message, updated_at) VALUES (?1, ?2, 'pending', ?3, ?4, ?5, ?4)
         ON CONFLICT DO NOTHING RETURNING id, zone, kind, state, since, seen_at, opened_at, message`,
      )
      .bind(zone, c.kind, Math.min(c.since, now), now, c.message)
      .first<AlertRow>();
    if (!inserted) return;
    result.pending++;
    if (c.holdMs > 0) return;
    alert = inserted;
  }
  if (alert.state === "pending") {
    if (now - alert.seen_at < c.holdMs) {
      if (alert.message !== c.message) q.messageUpdates.push(db.prepare("UPDATE alerts SET message = ?2, updated_at = ?3 WHERE id = ?1").bind(alert.id, c.message, now));
      result.pending++;
      return;
    }
    const opened = await db
      .prepare("UPDATE alerts SET state = 'open', opened_at = ?2, message = ?3, updated_at = ?2 WHERE id = ?1 AND state = 'pending'")
      .bind(alert.id, now, c.message)
      .run();
    if (opened.meta.changes !== 1) return;
    result.opened++;
    await enqueue(q, alert.id, "opened", { zone, kind: c.kind, since: alert.since, openedAt: now, resolvedAt: null, message: c.message });
    return;
  }
  if (alert.message !== c.message) q.messageUpdates.push(db.prepare("UPDATE alerts SET message = ?2, updated_at = ?3 WHERE id = ?1").bind(alert.id, c.message, now));
}

/** A condition that no longer holds: a pending alert is dropped (it never opened), an open one resolves. */
async function clear(q: Queue, alert: AlertRow, result: EvaluateResult): Promise<void> {
  const { db, now } = q;
  if (alert.state === "pending") {
    await db.prepare("DELETE FROM alerts WHERE id = ?1 AND state = 'pending'").bind(alert.id).run();
    return;
  }
  const resolved = await db
    .prepare("UPDATE alerts SET state = 'resolved', resolved_at = ?2, updated_at = ?2 WHERE id = ?1 AND state = 'open'")
    .bind(alert.id, now)
    .run();
  if (resolved.meta.changes !== 1) return;
  result.resolved++;
  await enqueue(q, alert.id, "resolved", { zone: alert.zone, kind: alert.kind, since: alert.since, openedAt: alert.opened_at, resolvedAt: now, message: alert.message });
}

async function enqueue(
  q: Queue,
  alertId: number,
  event: AlertEvent,
  a: { zone: string; kind: AlertKind; since: number; openedAt: number | null; resolvedAt: number | null; message: string },
): Promise<void> {
  if (!q.enabled) return;
  const payload: AlertPayload = { event, zone: a.zone, kind: a.kind, since: iso(a.since)!, openedAt: iso(a.openedAt), resolvedAt: iso(a.resolvedAt), message: a.message };
  await q.db
    .prepare(
      `INSERT INTO alert_deliveries (alert_id, event, payload, next_attempt_at, created_at) VALUES (?1, ?2, ?3, ?4, ?4)
       ON CONFLICT DO NOTHING`,
    )
    .bind(alertId, event, JSON.stringify(payload), q.now)
    .run();
}

interface Streak {
  count: number;
  oldestAt: number;
  lastError: string | null;
}

/**
 * The newest run of failed incoming checks and transfers (`failed` or `refused`) of each of these zones
 * (those whose last attempt did not succeed), read per zone through the transfer log's (zone, at) index. An SOA check that found a newer serial (`soa` `ok`) is
 * neither: the attempt's transfer, logged after it, says how the attempt ended. Anything else that is
 * not a failure (`up-to-date`, a transfer `ok`, `serial-regressed`) ends the run. A run of `limit`
 * failures is interleaved with at most as many such SOA lines, hence twice `limit` lines read.
 */
async function failureStreaks(db: D1Queryable, zoneIds: readonly number[], limit: number): Promise<Map<number, Streak>> {
  const rows: { zone_id: number; kind: string; result: string; error: string | null; at: number }[] = [];
  // Per zone, its newest lines through the (zone, at) index; zone ids go in as JSON, 500 a statement.
  for (let i = 0; i < zoneIds.length; i += 500) {
    const part = await db
      .prepare(
        `SELECT t.zone_id, t.kind, t.result, t.error, t.at FROM json_each(?1) z
           JOIN transfer_log t ON t.id IN (
             SELECT id FROM transfer_log WHERE zone_id = z.value AND direction = 'in' ORDER BY at DESC, id DESC LIMIT ?2)
          ORDER BY t.zone_id, t.at DESC, t.id DESC`,
      )
      .bind(JSON.stringify(zoneIds.slice(i, i + 500)), 2 * limit)
      .all<{ zone_id: number; kind: string; result: string; error: string | null; at: number }>();
    rows.push(...part.results);
  }
  const out = new Map<number, Streak>();
  const broken = new Set<number>();
  for (const r of rows) {
    if (broken.has(r.zone_id)) continue;
    if (r.kind === "soa" && r.result === "ok") continue;
    if (r.result !== "failed" && r.result !== "refused") {
      broken.add(r.zone_id);
      continue;
    }
    const s = out.get(r.zone_id);
    if (s) {
      s.count++;
      s.oldestAt = r.at;
    } else {
      out.set(r.zone_id, { count: 1, oldestAt: r.at, lastError: r.error });
    }
  }
  return out;
}

function factsOf(row: ZoneRowLite, streak: Streak | undefined, apexNs: string[] | null, now: number): ZoneFacts {
  return {
    name: row.name,
    model: row.model,
    status: row.status,
    statusDetail: row.status_detail,
    serial: row.serial,
    primarySerial: row.primary_serial,
    expiresAt: row.expires_at,
    rrsigExpiresAt: row.rrsig_expires_at,
    nextRefreshAt: row.next_refresh_at,
    timers: clampedTimers({
      soaRefresh: row.soa_refresh,
      soaRetry: row.soa_retry,
      soaExpire: row.soa_expire,
      minRefresh: row.min_refresh,
      maxRefresh: row.max_refresh,
      minRetry: row.min_retry,
      maxRetry: row.max_retry,
      minExpire: row.min_expire,
      maxExpire: row.max_expire,
    }),
    failures: streak ?? { count: 0, oldestAt: now, lastError: null },
    apexNs,
  };
}

/**
 * Apex NS sets by `zone id:version`: a version never changes, so each is read once per isolate, not once per
 * cron run (with 10k zones that is 10k block reads a minute saved).
 */
const apexNsCache = new LRUCache<string, string[]>({ max: 50_000 });

/** The record of a version's earliest RRSIG (`zone id:version:expiry`; "" when not found), read once per isolate. */
const rrsigRecordCache = new LRUCache<string, string>({ max: 10_000 });

/** The served version's apex NS targets, read like an answer (one block lookup). */
async function apexNameservers(store: D1ZoneStore, row: ZoneRowLite): Promise<string[]> {
  const key = `${row.id}:${row.current_version}`;
  const ns = await readApexNameservers(store, row);
  apexNsCache.set(key, ns);
  return ns;
}

async function readApexNameservers(store: D1ZoneStore, row: ZoneRowLite): Promise<string[]> {
  const apex = Name.parseAbsolute(row.name);
  const info = { id: row.id, name: apex, model: row.model, version: row.current_version, serial: row.serial, expiresAt: null, answerAllow: [] };
  const node = (await store.locate(info, TREE_MAIN, apex)).match;
  return (node?.records ?? [])
    .filter((r) => r.type === RRType.NS)
    .map((r) => rdataToText(RRType.NS, r.rdata).toLowerCase().replace(/\.$/, ""))
    .sort();
}

/** `owner RRSIG TYPE` of the signature that expires first in the served version, or undefined. */
export async function earliestSignature(db: D1Queryable, zoneId: number, version: number, now: number): Promise<string | undefined> {
  // The IXFR overlay (issue 28) too: the signature may be in an owner an IXFR changed (the overlay's live
  // nodes, at most a few thousand), and a block's figure may count an owner the overlay hides (replaced
  // since), so the earliest-expiring blocks are read, as the apply reads them (`exactEarliest`), not only the
  // block whose figure is the zone's.
  const budget = new Budget(db);
  const [overlay, [blocks]] = await Promise.all([readOverlay(budget, zoneId, version), budget.batch([earliestBlocksStatement(budget, zoneId, version, 16)])]);
  let best: { text: string; at: number } | undefined;
  const consider = (node: StoredNode) => {
    for (const r of node.records) {
      if (r.type !== RRType.RRSIG || r.rdata.length < 16) continue;
      const view = new DataView(r.rdata.buffer, r.rdata.byteOffset, r.rdata.byteLength);
      const at = resolveSignatureTime(view.getUint32(8), Math.floor(now / 1000)) * 1000;
      if (!best || at < best.at) best = { text: `${node.name.toString()} RRSIG ${typeToString(view.getUint16(0))}`, at };
    }
  };
  for (const row of blocks!.results as { tree: number; data: string }[]) {
    const tree: Tree = row.tree === 1 ? 1 : 0;
    for (const node of decodeBlock(textToBytes(row.data))) if (overlay.names(tree, node.key) === undefined) consider(node);
  }
  for (const tree of [0, 1] as Tree[]) {
    for (const entry of overlay.entries(tree)) {
      const node = overlay.get(tree, entry.key);
      if (node) consider(node);
    }
  }
  return best?.text;
}
