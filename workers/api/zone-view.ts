/**
 * @module How a zone is shown by `/api/v1`: names without the trailing dot, times as ISO 8601, the last
 * transfer from the log, and never a secret (no webhook secret hash, no lease owner). The status is the
 * stored one as the data qualifies it (`db/zone-status.ts`: `refreshing` only under a live lease, `expired`
 * past `expiresAt`).
 */
import type { transferLog, zones } from "../db/schema.ts";
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
  };
}

export function zoneView(z: ZoneRow, lastTransfer: TransferRow | undefined, now = Date.now()) {
  const { status, statusDetail } = shownStatus(z, now);
  return {
    name: z.name,
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
    createdAt: iso(z.createdAt),
    updatedAt: iso(z.updatedAt),
  };
}
