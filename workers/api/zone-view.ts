/**
 * @module How a zone is shown by `/api/v1`: names without the trailing dot, times as ISO 8601, the last
 * transfer from the log, and never a secret (no webhook secret hash, no lease owner). The status is the
 * stored one as the data qualifies it (`db/zone-status.ts`: `refreshing` only under a live lease, `expired`
 * past `expiresAt`).
 */
import type { SourcePoll, transferLog, zones, zoneVerifications, ZoneSource } from "../db/schema.ts";
import { shownStatus } from "../db/zone-status.ts";

type ZoneRow = typeof zones.$inferSelect;
type TransferRow = typeof transferLog.$inferSelect;

const iso = (ms: number | null | undefined) => (ms == null ? null : new Date(ms).toISOString());

export function transferView(t: TransferRow) {
  return {
    at: iso(t.at),
    kind: t.kind,
    result: t.result,
    direction: t.direction,
    primary: t.primary,
    fromSerial: t.fromSerial,
    toSerial: t.toSerial,
    records: t.records,
    bytes: t.bytes,
    durationMs: t.durationMs,
    error: t.error,
    // Who caused it (issue 24): an API token's name, `admin`, `webhook` or `service`; null for transfers out.
    actor: t.actor,
  };
}

/**
 * The zone's settings alone (issue 24): exactly what `PUT /api/v1/zones/:name` takes, so a tool compares its
 * desired state with this object and nothing computed. Every other field of the view is computed (status,
 * serial, last transfer, timers as seen) or the same settings flat, as clients before `settings` read them.
 */
export function zoneSettings(z: ZoneRow) {
  return {
    model: z.model,
    primaries: z.primaries,
    tsigKey: z.tsigKey,
    notifyAllow: z.notifyAllow,
    transferAllow: z.transferAllow,
    alsoNotify: z.alsoNotify,
    answerAllow: z.answerAllow,
    minRefresh: z.minRefresh,
    maxRefresh: z.maxRefresh,
    minRetry: z.minRetry,
    maxRetry: z.maxRetry,
    minExpire: z.minExpire,
    maxExpire: z.maxExpire,
    maxRecords: z.maxRecords,
    maxBytes: z.maxBytes,
  };
}

export function zoneView(z: ZoneRow, lastTransfer: TransferRow | undefined, now = Date.now()) {
  const { status, statusDetail } = shownStatus(z, now);
  return {
    // Stable for the zone's life (a recreated zone gets a new one); the API looks zones up by name.
    id: z.id,
    name: z.name,
    settings: zoneSettings(z),
    model: z.model,
    status,
    statusDetail,
    serial: z.serial,
    recordCount: z.recordCount,
    primarySerial: z.primarySerial,
    lastCheck: iso(z.lastCheckAt),
    lastTransfer: lastTransfer
      ? { kind: lastTransfer.kind, result: lastTransfer.result, error: lastTransfer.error, at: iso(lastTransfer.at) }
      : null,
    expiresAt: iso(z.expiresAt),
    // The earliest RRSIG expiration in the served version (RFC 4034 §3.1.5), null for an unsigned zone.
    rrsigExpiresEarliest: iso(z.rrsigExpiresAt),
    nextRefresh: iso(z.nextRefreshAt),
    primaries: z.primaries,
    tsigKey: z.tsigKey,
    notifyAllow: z.notifyAllow,
    transferAllow: z.transferAllow,
    alsoNotify: z.alsoNotify,
    answerAllow: z.answerAllow,
    timers: {
      refresh: z.soaRefresh,
      retry: z.soaRetry,
      expire: z.soaExpire,
      minimum: z.soaMinimum,
      minRefresh: z.minRefresh,
      maxRefresh: z.maxRefresh,
      minRetry: z.minRetry,
      maxRetry: z.maxRetry,
      minExpire: z.minExpire,
      maxExpire: z.maxExpire,
    },
    // Per-zone transfer limits; null: the service's defaults.
    limits: { maxRecords: z.maxRecords, maxBytes: z.maxBytes },
    refreshPending: z.refreshRequestedAt != null,
    // Catalog zones (RFC 9432, issue 19): a catalog's group templates and its last reconciliation; a member's catalog.
    catalog: z.catalog,
    ...(z.catalog ? { catalogGroups: z.catalogGroups, catalogReport: z.catalogReport ?? null } : {}),
    memberOf: z.memberOf,
    // Primary zones (issue 22): how each edit moves the serial, who may send RFC 2136 UPDATE.
    serialPolicy: z.serialPolicy,
    updateAllow: z.updateAllow,
    // Issue 22 item 5: the Cloudflare zone it follows and its last poll; the API token is never shown.
    source: sourceView(z.source),
    createdAt: iso(z.createdAt),
    updatedAt: iso(z.updatedAt),
  };
}

/**
 * Issue 24: the zone's last verification in brief (`POST /api/v1/zones/:name/verify` returns it whole): when,
 * whether the served version matched the primary, both serials, how many records differ, and whether the
 * published nameservers had converged. Null when the zone was never verified.
 */
export function verificationView(v: typeof zoneVerifications.$inferSelect | undefined) {
  if (!v) return null;
  const r = JSON.parse(v.result) as { missingTotal?: number; extraTotal?: number; converged?: boolean; error?: string };
  return {
    at: iso(v.at),
    match: v.match,
    servedSerial: v.servedSerial,
    primarySerial: v.primarySerial,
    missingTotal: r.missingTotal ?? 0,
    extraTotal: r.extraTotal ?? 0,
    converged: r.converged ?? false,
    error: r.error ?? null,
  };
}

/** A source's last poll, times as ISO 8601 (issue 22 item 5). */
export function sourcePollView(p: SourcePoll) {
  return {
    at: iso(p.at),
    result: p.result,
    error: p.error ?? null,
    added: p.added,
    removed: p.removed,
    droppedProxied: p.droppedProxied,
    serial: p.serial ?? null,
  };
}

/** A zone's Cloudflare source without its token: what it follows, how often, and how the last poll went. */
function sourceView(s: ZoneSource | null) {
  if (!s) return null;
  return {
    kind: s.kind,
    zoneId: s.zoneId,
    pollSeconds: s.pollSeconds,
    nextPoll: iso(Math.max(s.nextPollAt ?? 0, s.holdUntil ?? 0) || null),
    lastPoll: s.lastPoll ? sourcePollView(s.lastPoll) : null,
  };
}
