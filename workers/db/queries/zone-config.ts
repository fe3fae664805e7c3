/**
 * @module The transfer-service's view of its zones (`GET /internal/v1/zones[/:zone]`): every row of
 * `zones` as the contract's `ZoneConfig` (the keys they name come from `tsig-keys.ts`).
 */
import type { ZoneConfig } from "../../../contract/internal-v1.ts";
import type { D1Queryable } from "../d1-queryable.ts";

interface ZoneConfigRow {
  id: number;
  name: string;
  model: ZoneConfig["model"];
  primaries: string;
  tsig_key: string | null;
  notify_allow: string;
  transfer_allow: string;
  also_notify: string;
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
  max_records: number | null;
  max_bytes: number | null;
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
    alsoNotify: JSON.parse(r.also_notify) as ZoneConfig["alsoNotify"],
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
    limits: { maxRecords: r.max_records, maxBytes: r.max_bytes },
    lease: r.lease_owner !== null && r.lease_until !== null ? { owner: r.lease_owner, until: r.lease_until } : null,
    refresh:
      r.refresh_requested_at !== null
        ? { requestedAt: r.refresh_requested_at, force: r.refresh_force, acceptLowerSerial: r.refresh_accept_lower_serial === 1 }
        : null,
  };
}

/** Every zone's configuration, by name. */
export async function zoneConfigs(db: D1Queryable): Promise<ZoneConfig[]> {
  const rows = await db.prepare("SELECT * FROM zones ORDER BY name").all<ZoneConfigRow>();
  return rows.results.map(configOf);
}

/** One zone's configuration, or null when the row is gone. */
export async function zoneConfig(db: D1Queryable, zoneId: number): Promise<ZoneConfig | null> {
  const row = await db.prepare("SELECT * FROM zones WHERE id = ?1").bind(zoneId).first<ZoneConfigRow>();
  return row ? configOf(row) : null;
}
