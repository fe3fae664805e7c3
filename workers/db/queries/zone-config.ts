/**
 * @module The transfer-service's view of its zones (`GET /internal/v1/zones[/:zone]`): rows of `zones` as
 * the contract's `ZoneConfig` (the keys they name come from `tsig-keys.ts`), either all of them or, for the
 * service's poll, the change feed (`zoneConfigChanges`): the zones written since a cursor, and the zones
 * deleted since another, so a poll at 100,000 zones reads what changed, not every row.
 */
import type { ZoneConfig } from "../../../contract/internal-v1.ts";
import type { D1Queryable } from "../d1-queryable.ts";
import { effectiveAnswerAllow } from "../../store/catalog-access.ts";

interface ZoneConfigRow {
  id: number;
  name: string;
  model: ZoneConfig["model"];
  primaries: string;
  tsig_key: string | null;
  notify_allow: string;
  transfer_allow: string;
  also_notify: string;
  update_allow: string;
  answer_allow: string;
  catalog: number;
  status: ZoneConfig["status"];
  status_detail: string;
  current_version: number | null;
  serial: number | null;
  primary_serial: number | null;
  rrsig_expires_at: number | null;
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
    id: r.id,
    name: r.name,
    model: r.model,
    primaries: JSON.parse(r.primaries) as ZoneConfig["primaries"],
    tsigKey: r.tsig_key,
    notifyAllow: JSON.parse(r.notify_allow) as string[],
    transferAllow: JSON.parse(r.transfer_allow) as ZoneConfig["transferAllow"],
    alsoNotify: JSON.parse(r.also_notify) as ZoneConfig["alsoNotify"],
    updateAllow: JSON.parse(r.update_allow) as ZoneConfig["updateAllow"],
    // A catalog zone is answered to nobody (catalog-access.ts): the front's replica reads this list.
    answerAllow: effectiveAnswerAllow(r),
    status: r.status,
    statusDetail: r.status_detail,
    currentVersion: r.current_version,
    serial: r.serial,
    primarySerial: r.primary_serial,
    recordCount: r.record_count,
    expiresAt: r.expires_at,
    rrsigExpiresAt: r.rrsig_expires_at,
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

/** One page of the change feed (`contract/internal-v1.ts`'s `ZoneConfigChanges`, keys aside). */
export interface ZoneConfigFeedPage {
  zones: ZoneConfig[];
  deleted: string[];
  cursor: { since: number; deletes: number };
  more: boolean;
  resync: boolean;
}

/**
 * The zones written after `since` (their `change_seq`, set by triggers on every insert and update) and the
 * names deleted after `deletes` (the zone change log's `delete` rows, `zone_changes.seq`), read in one D1
 * batch, so both cursors come from the same snapshot. `deletes` undefined is a first read: no deletions are
 * reported and the delete cursor starts at the log's end.
 *
 * Deletions come before zones: a page that is full of deletions carries no zones, so a service applying
 * the deletions and then the zones of each page in turn never drops a zone re-created after its deletion.
 * `resync` says that the log no longer reaches back to `deletes` (it keeps the newest 65,536 rows): the
 * caller must read the feed again from 0 and drop every zone it did not see.
 */
export async function zoneConfigChanges(db: D1Queryable, since: number, deletes: number | undefined, limit: number): Promise<ZoneConfigFeedPage> {
  const [zoneRows, deleteRows, bounds] = await db.batch([
    db.prepare("SELECT * FROM zones WHERE change_seq > ?1 ORDER BY change_seq LIMIT ?2").bind(since, limit),
    db.prepare("SELECT seq, name FROM zone_changes WHERE seq > ?1 AND op = 'delete' ORDER BY seq LIMIT ?2").bind(deletes ?? Number.MAX_SAFE_INTEGER, limit),
    // Two scalar subqueries, not `SELECT min(seq), max(seq)`: SQLite answers a lone min() or max() from the
    // primary key's ends, but both in one SELECT scan the whole log (up to 65,536 rows, every poll of every
    // service and replica: issue 19's idle cost, found by the bench's D1 rows per second).
    db.prepare("SELECT (SELECT min(seq) FROM zone_changes) AS lo, (SELECT max(seq) FROM zone_changes) AS hi"),
  ]);
  const { lo, hi } = (bounds!.results[0] ?? { lo: null, hi: null }) as { lo: number | null; hi: number | null };
  const end = hi ?? 0;
  if (deletes === undefined) return pageOf(zoneRows!.results as unknown as ZoneConfigRow[], [], since, end, limit);
  if (lo !== null && lo > deletes + 1) return { zones: [], deleted: [], cursor: { since: 0, deletes: end }, more: true, resync: true };
  const gone = deleteRows!.results as unknown as Array<{ seq: number; name: string }>;
  if (gone.length === limit) {
    // Deletions first, alone: the zones wait for the next page (see above).
    return { zones: [], deleted: gone.map((r) => r.name), cursor: { since, deletes: gone[gone.length - 1]!.seq }, more: true, resync: false };
  }
  return pageOf(zoneRows!.results as unknown as ZoneConfigRow[], gone.map((r) => r.name), since, end, limit);
}

function pageOf(rows: ZoneConfigRow[], deleted: string[], since: number, deletesEnd: number, limit: number): ZoneConfigFeedPage {
  const last = rows.length > 0 ? (rows[rows.length - 1] as ZoneConfigRow & { change_seq: number }).change_seq : since;
  return { zones: rows.map(configOf), deleted, cursor: { since: last, deletes: deletesEnd }, more: rows.length === limit, resync: false };
}
