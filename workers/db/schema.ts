/**
 * @module The D1 schema, the single source of truth: `npm run db:generate` turns it into `migrations/`
 * (never hand-edited), which `wrangler d1 migrations apply` and the workerd tests both apply.
 *
 * Storage layout (see `workers/store/`): a zone's records live in **blocks** of owner names in canonical order
 * (RFC 4034 §6.1). A block row carries the version that added it and the version that removed it, so a
 * version V sees exactly the rows with `added_version <= V AND (removed_version IS NULL OR removed_version > V)`.
 * A full transfer writes a fresh set of blocks beside the served ones and flips `zones.current_version`; an
 * IXFR rewrites only the blocks it touches. One row per record would be ~5x too slow for a 1M-record zone.
 *
 * Times are integers in milliseconds since the epoch. JSON columns hold arrays validated by the API's zod
 * schemas before they are written.
 */
import { sql } from "drizzle-orm";
import { blob, index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import {
  REFRESH_FORCES,
  SERIAL_POLICIES,
  TOKEN_SCOPES,
  TRANSFER_DIRECTIONS,
  TRANSFER_KINDS,
  TRANSFER_RESULTS,
  TSIG_ALGORITHMS,
  VERSION_KINDS,
  ZONE_MODELS,
  ZONE_STATUSES,
  type TokenScope,
} from "../../contract/vocabulary.ts";
import { ALERT_EVENTS, ALERT_KINDS, ALERT_STATES, DELIVERY_STATES, WEBHOOK_FORMATS } from "../alerts/kinds.ts";

// The vocabularies are defined once, in the contract that the transfer-service shares
// (`contract/vocabulary.ts`); the column enums below take them as they are. The store names a zone's
// model and status by these types.
export type { ZoneModel, ZoneStatus } from "../../contract/vocabulary.ts";

/** A primary to transfer from. `tsigKey` names a row of `tsig_keys`. */
export interface PrimaryConfig {
  address: string;
  port: number;
  tsigKey?: string | undefined;
}

/** A downstream allowed to transfer from us: an address or prefix, optionally bound to a TSIG key. */
export interface TransferAllowEntry {
  address: string;
  tsigKey?: string | undefined;
}

/** A downstream told of every new version by NOTIFY (RFC 1996): an address Backstop may send to, a port, a key to sign with. */
export interface AlsoNotifyEntry {
  address: string;
  port: number;
  tsigKey?: string | undefined;
}

/**
 * What a catalog's group property selects for its members (RFC 9432 §4.4.2): settings that replace the
 * catalog's own for the members of that group. Absent fields: the catalog's.
 */
export interface CatalogTemplate {
  model?: "secondary" | "hidden" | undefined;
  primaries?: PrimaryConfig[] | undefined;
  tsigKey?: string | null | undefined;
  notifyAllow?: string[] | undefined;
  transferAllow?: TransferAllowEntry[] | undefined;
}

/** A catalog's last reconciliation: its serial, what changed, and what was refused, in words. */
export interface CatalogReport {
  at: number;
  serial: number | null;
  members: number;
  created: number;
  updated: number;
  removed: number;
  /** Why the catalog was not applied at all (a broken version property), or null. */
  error: string | null;
  /** Members that were skipped, each with its reason. At most 100. */
  problems: string[];
}

/** Who may send RFC 2136 UPDATE to a primary zone (issue 22): an address or prefix, and the TSIG key it must sign with. */
export interface UpdateAllowEntry {
  address: string;
  tsigKey: string;
}

/** The last poll of a zone's source (issue 22 item 5), as the zone view shows it. */
export interface SourcePoll {
  /** Milliseconds since the epoch. */
  at: number;
  /** `changed` (one commit), `unchanged` (nothing to commit), `failed` (nothing changed; `error` says why). */
  result: "changed" | "unchanged" | "failed";
  error?: string | undefined;
  added: number;
  removed: number;
  /** Records proxied by Cloudflare (`cf-proxied:true`), which only Cloudflare can answer, left out. */
  droppedProxied: number;
  /** The serial the commit gave, when it changed the zone. */
  serial?: number | undefined;
}

/** Where a primary zone's records come from besides edits here (issue 22 item 5): a Cloudflare zone, polled. */
export interface ZoneSource {
  kind: "cloudflare";
  /** Cloudflare's zone identifier (32 hex digits). */
  zoneId: string;
  pollSeconds: number;
  /** Not before this instant (ms): the next poll, or Cloudflare's Retry-After after a 429. */
  nextPollAt?: number | undefined;
  /** After an HTTP 429: Cloudflare's Retry-After, before which no poll (cron or on demand) is sent. */
  holdUntil?: number | null | undefined;
  lastPoll?: SourcePoll | undefined;
}

const now = sql`(unixepoch('subsec') * 1000)`;

export const tsigKeys = sqliteTable("tsig_keys", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  /** Key name as a DNS name: lowercase, no trailing dot. */
  name: text("name").notNull().unique(),
  algorithm: text("algorithm", { enum: TSIG_ALGORITHMS }).notNull(),
  /** AES-256-GCM: 12-byte IV followed by ciphertext and tag, under TSIG_ENCRYPTION_KEY. */
  secretEncrypted: blob("secret_encrypted", { mode: "buffer" }).$type<Uint8Array>().notNull(),
  createdAt: integer("created_at").notNull().default(now),
  updatedAt: integer("updated_at").notNull().default(now),
});

export const zones = sqliteTable("zones", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  /** Lowercase A-labels, no trailing dot (`example.com`). */
  name: text("name").notNull().unique(),
  model: text("model", { enum: ZONE_MODELS }).notNull().default("secondary"),
  primaries: text("primaries", { mode: "json" }).$type<PrimaryConfig[]>().notNull().default(sql`'[]'`),
  /** Zone-level key: verifies NOTIFY and is the default for primaries that name none. */
  tsigKey: text("tsig_key"),
  /** CIDR prefixes allowed to send NOTIFY (besides the primaries themselves). */
  notifyAllow: text("notify_allow", { mode: "json" }).$type<string[]>().notNull().default(sql`'[]'`),
  transferAllow: text("transfer_allow", { mode: "json" }).$type<TransferAllowEntry[]>().notNull().default(sql`'[]'`),
  /** Downstreams sent a NOTIFY after every commit (issue 21), at most 64. */
  alsoNotify: text("also_notify", { mode: "json" }).$type<AlsoNotifyEntry[]>().notNull().default(sql`'[]'`),
  /** CIDR prefixes allowed to get answers; empty means everyone. */
  answerAllow: text("answer_allow", { mode: "json" }).$type<string[]>().notNull().default(sql`'[]'`),

  // SOA timers as last seen (RFC 1035 §3.3.13), seconds; null before the first successful check.
  soaRefresh: integer("soa_refresh"),
  soaRetry: integer("soa_retry"),
  soaExpire: integer("soa_expire"),
  soaMinimum: integer("soa_minimum"),
  // Clamps, like BIND's min-/max-refresh-time, min-/max-retry-time, min-/max-expire-time (seconds).
  minRefresh: integer("min_refresh").notNull().default(60),
  maxRefresh: integer("max_refresh").notNull().default(86_400),
  minRetry: integer("min_retry").notNull().default(10),
  maxRetry: integer("max_retry").notNull().default(3_600),
  minExpire: integer("min_expire").notNull().default(3_600),
  maxExpire: integer("max_expire").notNull().default(2_419_200),
  // Per-zone transfer limits: records and octets of one transfer; null: the service's defaults
  // (BACKSTOP_XFR_MAX_RECORDS / BACKSTOP_XFR_MAX_BYTES).
  maxRecords: integer("max_records"),
  maxBytes: integer("max_bytes"),

  status: text("status", { enum: ZONE_STATUSES }).notNull().default("pending"),
  statusDetail: text("status_detail").notNull().default("waiting for the first transfer"),

  /** The served version (`zone_versions.version`); null until the first commit. */
  currentVersion: integer("current_version"),
  /** SOA serial of the served version. */
  serial: integer("serial"),
  recordCount: integer("record_count").notNull().default(0),
  /** The serial the primary last reported. */
  primarySerial: integer("primary_serial"),
  /** Past this instant the zone is not served (SERVFAIL), even when the transfer-service is down. */
  expiresAt: integer("expires_at"),
  /** The earliest RRSIG expiration in the served version (set with each flip), null for unsigned data. */
  rrsigExpiresAt: integer("rrsig_expires_at"),
  lastCheckAt: integer("last_check_at"),
  nextRefreshAt: integer("next_refresh_at"),

  // Refresh lease: one transfer-service instance at a time (compare-and-set).
  leaseOwner: text("lease_owner"),
  leaseUntil: integer("lease_until"),

  // A pending refresh signal (API refresh or webhook NOTIFY), picked up by the service's push or poll.
  refreshRequestedAt: integer("refresh_requested_at"),
  refreshForce: text("refresh_force", { enum: REFRESH_FORCES }),
  refreshAcceptLowerSerial: integer("refresh_accept_lower_serial", { mode: "boolean" }).notNull().default(false),

  /** SHA-256 (hex) of the zone's webhook secret; the secret itself is shown once and never stored. */
  webhookSecretHash: text("webhook_secret_hash").notNull(),

  createdAt: integer("created_at").notNull().default(now),
  updatedAt: integer("updated_at").notNull().default(now),

  /**
   * Issue 19: the zone's place in the service's change feed. Triggers (migration `zone_config_feed`) set
   * it from `zone_config_seq` on every insert and update of the row, whatever the writer, so a
   * transfer-service asks for the zones changed since the last one it saw (`db/queries/zone-config.ts`)
   * instead of reading every zone every poll.
   */
  changeSeq: integer("change_seq").notNull().default(0),

  /**
   * Issue 19, catalog zones (RFC 9432), as a consumer (`store/catalog.ts`): `catalog` marks a catalog zone,
   * whose members are created, updated and removed from its content at every commit; `catalog_groups` maps
   * its group properties to settings templates. On a member: `member_of` (the catalog's name),
   * `catalog_member_id` (its unique-id label), `catalog_group`, and `catalog_coo` (a change of ownership
   * offered by its catalog: the catalog that may claim it). `catalog_report` is the last reconciliation in
   * words (JSON), shown in the catalog's view.
   */
  catalog: integer("catalog", { mode: "boolean" }).notNull().default(false),
  catalogGroups: text("catalog_groups", { mode: "json" }).$type<Record<string, CatalogTemplate>>().notNull().default(sql`'{}'`),
  catalogReport: text("catalog_report", { mode: "json" }).$type<CatalogReport>(),
  memberOf: text("member_of"),
  catalogMemberId: text("catalog_member_id"),
  catalogGroup: text("catalog_group"),
  catalogCoo: text("catalog_coo"),
  // Issue 24: who asked for the pending refresh (an API token's name, `admin` or `webhook`); copied into the
  // transfer log's `actor` of the rows written while the request is pending.
  refreshRequestedBy: text("refresh_requested_by"),
  // Primary zones (issue 22): how each edit moves the serial, and who may send RFC 2136 UPDATE (an
  // address or prefix with the TSIG key it must sign with; the key is required).
  serialPolicy: text("serial_policy", { enum: SERIAL_POLICIES }).notNull().default("increment"),
  updateAllow: text("update_allow", { mode: "json" }).$type<UpdateAllowEntry[]>().notNull().default(sql`'[]'`),
  // Issue 22 item 5: a primary zone that follows a Cloudflare zone (`store/primary/cloudflare-source.ts`):
  // the source (kind, zone id, poll interval) and its last poll, in words (JSON); the API token sealed
  // with `db/secret-box.ts` under TSIG_ENCRYPTION_KEY, bound to the zone's name, never returned.
  source: text("source", { mode: "json" }).$type<ZoneSource>(),
  sourceTokenSealed: blob("source_token_sealed", { mode: "buffer" }).$type<Uint8Array>(),
  // Issue 28 (the IXFR overlay, `store/overlay-table.ts`): the oldest version whose `node_overlay` rows the
  // served version sees, null when it sees none; set with every flip, so the answer path knows from the
  // zone's row (the directory reads it) whether a miss must merge an overlay, at no query of its own.
  overlayFrom: integer("overlay_from"),
}, (t) => [
  // The API's `sort=next-refresh` pages on (next_refresh_at, name) (`db/queries/zones.ts`).
  index("zones_next_refresh").on(t.nextRefreshAt, t.name),
  // The service's change feed pages on it.
  index("zones_change_seq").on(t.changeSeq),
  // A catalog's members, read at every reconciliation.
  index("zones_member_of").on(t.memberOf),
  // `zones_depth`, an index on an expression of the name, lives in the migration `zone_change_triggers`
  // (drizzle-kit 0.31 writes such an index wrongly).
]);

/**
 * The zone change log the answer path follows (`store/zone-directory.ts`): one row per zone created, deleted,
 * or changed in what the answer path reads (model, served version, serial, expiry, answerAllow). SQLite
 * triggers on `zones` write it (migration `zone_change_triggers`), so every writer, present or future, is
 * covered, and each isolate re-reads only the zones named since the last row it saw. `seq` has no
 * AUTOINCREMENT: the newest row is never deleted (the pruning trigger keeps the last 65,536), so
 * `max(seq) + 1` never repeats.
 */
export const zoneChanges = sqliteTable("zone_changes", {
  seq: integer("seq").primaryKey(),
  /** The zone's name as `zones.name` holds it. */
  name: text("name").notNull(),
  op: text("op", { enum: ["create", "update", "delete"] }).notNull(),
});

/**
 * The counter behind `zones.change_seq`: one row (id 1), bumped by the triggers of migration
 * `zone_config_feed`. A counter of its own, not `max(change_seq) + 1`, because deleting the zone holding the
 * maximum would hand its number to the next change, which a service that had already seen it would miss.
 */
export const zoneConfigSeq = sqliteTable("zone_config_seq", {
  id: integer("id").primaryKey(),
  value: integer("value").notNull(),
});

/** One row per version of a zone: `open` while an ingest builds it, then `committed` or `abandoned`. */
export const zoneVersions = sqliteTable(
  "zone_versions",
  {
    zoneId: integer("zone_id")
      .notNull()
      .references(() => zones.id, { onDelete: "cascade" }),
    /** Per-zone increasing integer (not the SOA serial). */
    version: integer("version").notNull(),
    state: text("state", { enum: ["open", "committed", "abandoned"] }).notNull().default("open"),
    kind: text("kind", { enum: VERSION_KINDS }).notNull(),
    /** The version this one was built on (for IXFR), or null. */
    baseVersion: integer("base_version"),
    serial: integer("serial"),
    recordCount: integer("record_count").notNull().default(0),
    /** Who may append and commit: the lease owner that began it. */
    owner: text("owner"),
    createdAt: integer("created_at").notNull().default(now),
    committedAt: integer("committed_at"),
  },
  (t) => [primaryKey({ columns: [t.zoneId, t.version] })],
);

/** Blocks of owner names in canonical order; see the module comment and `workers/store/block-codec.ts`. */
export const blocks = sqliteTable(
  "blocks",
  {
    /**
     * No AUTOINCREMENT: D1 counts its sequence row as one more row written per insert. An id may thus be
     * reused after its row is pruned; caches key blocks by (zone, id, added version), which never repeats.
     */
    id: integer("id").primaryKey(),
    zoneId: integer("zone_id")
      .notNull()
      .references(() => zones.id, { onDelete: "cascade" }),
    /** 0: the main name tree; 1: the NSEC3 chain (owners `<base32hex-hash>.apex`). */
    tree: integer("tree").notNull(),
    /** `Name.sortKey()` of the first and last owner in the block (memcmp order = canonical order). */
    firstKey: blob("first_key", { mode: "buffer" }).$type<Uint8Array>().notNull(),
    lastKey: blob("last_key", { mode: "buffer" }).$type<Uint8Array>().notNull(),
    addedVersion: integer("added_version").notNull(),
    removedVersion: integer("removed_version"),
    recordCount: integer("record_count").notNull(),
    /** The encoded block (`block-codec.ts`) as base64 text: see `workers/store/blob-text.ts` for why not a BLOB. */
    data: text("data").notNull(),
    /**
     * The earliest RRSIG expiration in the block (ms since the epoch: the 32-bit wire time read relative
     * to when the block was written, RFC 4034 §3.1.5), null when the block holds no RRSIG.
     */
    rrsigExpiresAt: integer("rrsig_expires_at"),
  },
  // The answer path's one query: predecessor by key within a zone and tree. The only index: D1 counts
  // every index entry as a row written, and the rarer sweeps by version scan the zone's prefix of it.
  (t) => [index("blocks_lookup").on(t.zoneId, t.tree, t.firstKey)],
);

/**
 * Staging for a full transfer: each appended chunk is sorted into a run, stored in pieces; the commit
 * merges the runs into canonical-ordered blocks. Deleted after the commit (or by the sweep).
 */
export const ingestRuns = sqliteTable(
  "ingest_runs",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    zoneId: integer("zone_id")
      .notNull()
      .references(() => zones.id, { onDelete: "cascade" }),
    version: integer("version").notNull(),
    /** The chunk's sequence number, from the client (a retried chunk replaces its run). */
    run: integer("run").notNull(),
    tree: integer("tree").notNull(),
    piece: integer("piece").notNull(),
    recordCount: integer("record_count").notNull(),
    /** Block format, base64 text (`workers/store/blob-text.ts`). */
    data: text("data").notNull(),
  },
  (t) => [uniqueIndex("ingest_runs_order").on(t.zoneId, t.version, t.run, t.tree, t.piece)],
);

/**
 * The key ranges of chunks written straight into final blocks during a full transfer (primaries send
 * AXFR in canonical order, so a chunk usually starts after the previous one ends). A chunk whose range
 * overlaps one already here is staged in `ingest_runs` instead. Deleted after the commit.
 */
export const ingestRanges = sqliteTable(
  "ingest_ranges",
  {
    zoneId: integer("zone_id")
      .notNull()
      .references(() => zones.id, { onDelete: "cascade" }),
    version: integer("version").notNull(),
    tree: integer("tree").notNull(),
    firstKey: blob("first_key", { mode: "buffer" }).$type<Uint8Array>().notNull(),
    lastKey: blob("last_key", { mode: "buffer" }).$type<Uint8Array>().notNull(),
    /** The chunk's sequence number. */
    run: integer("run").notNull(),
    /** Random per append request: the block inserts of that request are guarded by it. */
    token: text("token").notNull(),
  },
  (t) => [primaryKey({ columns: [t.zoneId, t.version, t.tree, t.firstKey] })],
);

/**
 * The journal (RFC 1995 §4): the changesets behind each IXFR-made version, for IXFR out and history. An
 * IXFR reply may carry several changesets; they are applied together as one version, in `seq` order. A
 * changeset bigger than one D1 statement allows is stored in several `part`s, concatenated on reading.
 */
export const changesets = sqliteTable(
  "changesets",
  {
    zoneId: integer("zone_id")
      .notNull()
      .references(() => zones.id, { onDelete: "cascade" }),
    version: integer("version").notNull(),
    seq: integer("seq").notNull(),
    part: integer("part").notNull(),
    fromSerial: integer("from_serial").notNull(),
    toSerial: integer("to_serial").notNull(),
    /** Record streams (uncompressed wire RRs, concatenated; see `contract/record-stream.ts`). */
    deletions: blob("deletions", { mode: "buffer" }).$type<Uint8Array>().notNull(),
    additions: blob("additions", { mode: "buffer" }).$type<Uint8Array>().notNull(),
    createdAt: integer("created_at").notNull().default(now),
  },
  (t) => [primaryKey({ columns: [t.zoneId, t.version, t.seq, t.part] })],
);

/** Every refresh attempt, written by the transfer-service. */
export const transferLog = sqliteTable(
  "transfer_log",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    zoneId: integer("zone_id")
      .notNull()
      .references(() => zones.id, { onDelete: "cascade" }),
    at: integer("at").notNull().default(now),
    kind: text("kind", { enum: TRANSFER_KINDS }).notNull(),
    result: text("result", { enum: TRANSFER_RESULTS }).notNull(),
    /** `in` from a primary, `out` to a downstream (then `primary` holds the downstream's address). */
    direction: text("direction", { enum: TRANSFER_DIRECTIONS }).notNull().default("in"),
    primary: text("primary"),
    fromSerial: integer("from_serial"),
    toSerial: integer("to_serial"),
    records: integer("records"),
    bytes: integer("bytes"),
    durationMs: integer("duration_ms"),
    error: text("error"),
    instance: text("instance"),
    // Issue 24: who caused an incoming transfer: the API token's name, `admin` or `webhook` whose refresh
    // request was pending when the row was written, else `service` (the timers); null for transfers out.
    actor: text("actor"),
  },
  (t) => [index("transfer_log_zone").on(t.zoneId, t.at)],
);

// ── Issue 23: control panel sessions ────────────────────────────────────────────────────────────────────
/**
 * A signed-in panel session (`workers/panel/session.ts`). The browser holds a random id in an HttpOnly
 * cookie; only its SHA-256 is stored, so a read of this table signs nobody in. `csrfToken` is the token
 * every form of the session carries. `principal` is who signed in (`admin` today; a scoped token's id
 * once issue 24's tokens sign in). Rows past `expiresAt` are refused and deleted.
 */
export const panelSessions = sqliteTable(
  "panel_sessions",
  {
    idHash: text("id_hash").primaryKey(),
    csrfToken: text("csrf_token").notNull(),
    principal: text("principal").notNull(),
    createdAt: integer("created_at").notNull().default(now),
    expiresAt: integer("expires_at").notNull(),
  },
  (t) => [index("panel_sessions_expiry").on(t.expiresAt)],
);

/**
 * Issue 24, verify: the last verification of each zone (the primary's AXFR against the served version, and
 * the published nameservers' serials), as `POST /api/v1/zones/:name/verify` received it from the service.
 * One row per zone, replaced by each run; `result` is the whole `VerifyResult` (`contract/control.ts`) as JSON.
 */
export const zoneVerifications = sqliteTable("zone_verifications", {
  zoneId: integer("zone_id")
    .primaryKey()
    .references(() => zones.id, { onDelete: "cascade" }),
  at: integer("at").notNull(),
  match: integer("match", { mode: "boolean" }).notNull(),
  servedSerial: integer("served_serial"),
  primarySerial: integer("primary_serial"),
  result: text("result").notNull(),
});

// ---- Alerts (issue 25): see `workers/alerts/`. ----

/**
 * One row per alert of a zone: `pending` while it is damped, then `open`, then `resolved` (history). At most
 * one unresolved row per zone and kind (the partial unique index): an evaluation that runs twice at once,
 * from two cron invocations, cannot open the same alert twice. The zone is kept by name, not by id, so the
 * history outlives the zone.
 */
export const alerts = sqliteTable(
  "alerts",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    zone: text("zone").notNull(),
    kind: text("kind", { enum: ALERT_KINDS }).notNull(),
    state: text("state", { enum: ALERT_STATES }).notNull().default("pending"),
    /** When the condition began, as far as Backstop can tell (the first failed check, the expiry instant …). */
    since: integer("since").notNull(),
    /** The first evaluation that saw the condition: damping counts from here. */
    seenAt: integer("seen_at").notNull(),
    openedAt: integer("opened_at"),
    resolvedAt: integer("resolved_at"),
    message: text("message").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("alerts_one_unresolved").on(t.zone, t.kind).where(sql`resolved_at IS NULL`),
    index("alerts_by_state").on(t.state, t.zone),
  ],
);

/**
 * Alert thresholds: the deployment's row (`zone` = `*`) and per-zone overrides, each a JSON object of the
 * fields it sets (`alerts/thresholds.ts` merges them over the built-in defaults).
 */
export const alertThresholds = sqliteTable("alert_thresholds", {
  zone: text("zone").primaryKey(),
  settings: text("settings", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
  updatedAt: integer("updated_at").notNull().default(now),
});

/** The deployment's one alert webhook (`id` = 1). The secret is sealed like TSIG secrets and never read back out. */
export const alertWebhook = sqliteTable("alert_webhook", {
  id: integer("id").primaryKey(),
  url: text("url").notNull(),
  format: text("format", { enum: WEBHOOK_FORMATS }).notNull(),
  /** AES-256-GCM under TSIG_ENCRYPTION_KEY (`db/secret-box.ts`), bound to the name `alert-webhook`. */
  secretEncrypted: blob("secret_encrypted", { mode: "buffer" }).$type<Uint8Array>().notNull(),
  updatedAt: integer("updated_at").notNull().default(now),
});

/**
 * The delivery queue, drained by the cron: one row per alert event (unique, so a second evaluation cannot
 * queue it again), claimed by compare-and-set before each attempt (so two cron runs never send it twice),
 * retried with backoff for up to an hour.
 */
export const alertDeliveries = sqliteTable(
  "alert_deliveries",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    /** Null for the sample of `POST /alert-webhook/test`. */
    alertId: integer("alert_id"),
    event: text("event", { enum: ALERT_EVENTS }).notNull(),
    /** The event as JSON (`alerts/payload.ts`); rendered in the webhook's format when sent. */
    payload: text("payload").notNull(),
    state: text("state", { enum: DELIVERY_STATES }).notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: integer("next_attempt_at").notNull(),
    /** Set by the attempt in flight; another drain leaves the row alone until then. */
    claimedUntil: integer("claimed_until"),
    lastError: text("last_error"),
    createdAt: integer("created_at").notNull(),
    deliveredAt: integer("delivered_at"),
  },
  (t) => [uniqueIndex("alert_deliveries_once").on(t.alertId, t.event), index("alert_deliveries_due").on(t.state, t.nextAttemptAt)],
);

/** Every delivery attempt: when, the HTTP status (null: no answer), the error in words, how long it took. */
export const alertDeliveryLog = sqliteTable(
  "alert_delivery_log",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    deliveryId: integer("delivery_id").notNull(),
    at: integer("at").notNull(),
    status: integer("status"),
    error: text("error"),
    durationMs: integer("duration_ms").notNull(),
  },
  (t) => [index("alert_delivery_log_delivery").on(t.deliveryId)],
);

// ---- Issue 24: scoped API tokens ----------------------------------------------------------------------

// What an API token may do: the contract's words (`contract/vocabulary.ts`).
export { TOKEN_SCOPES, type TokenScope };

/**
 * Scoped tokens of `/api/v1` (`api/tokens.ts`, `http/auth`): the secret is shown once at creation and only
 * its SHA-256 hex is kept (`http/auth/stored-secret.ts`), looked up by that hash on every request, so a
 * deleted row is refused at once. `zones` null: every zone; else the only zone names the token sees.
 */
export const apiTokens = sqliteTable("api_tokens", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  name: text("name").notNull().unique(),
  tokenHash: text("token_hash").notNull().unique(),
  scopes: text("scopes", { mode: "json" }).$type<TokenScope[]>().notNull(),
  zones: text("zones", { mode: "json" }).$type<string[] | null>(),
  expiresAt: integer("expires_at"),
  createdAt: integer("created_at").notNull().default(now),
});

// ---- Issue 28: the IXFR overlay of changed nodes ---------------------------------------------------------

/**
 * The owners an IXFR-applied version changed (`store/overlay-table.ts`), instead of rewriting their blocks:
 * per version and tree, each changed owner's whole new node, or a node of no records (a tombstone: the owner
 * is gone), in canonical order, encoded as a block (`block-codec.ts`) and cut into parts of at most
 * `MAX_TEXT_BYTES` (one row holds ~1,000 changed owners). Version V sees a row when
 * `added_version <= V AND (removed_version IS NULL OR removed_version > V)`; of several rows naming one
 * owner the newest wins. A full transfer's commit and a fold (`changeset-apply.ts`) set `removed_version`.
 */
export const nodeOverlay = sqliteTable(
  "node_overlay",
  {
    zoneId: integer("zone_id")
      .notNull()
      .references(() => zones.id, { onDelete: "cascade" }),
    addedVersion: integer("added_version").notNull(),
    /** 0: the main name tree; 1: the NSEC3 chain. */
    tree: integer("tree").notNull(),
    part: integer("part").notNull(),
    removedVersion: integer("removed_version"),
    /** Owners in the part, tombstones included. */
    owners: integer("owners").notNull(),
    /** The earliest RRSIG expiration among the part's nodes (ms since the epoch), null without RRSIGs. */
    rrsigExpiresAt: integer("rrsig_expires_at"),
    /** The encoded nodes (`block-codec.ts`) as base64 text (`blob-text.ts`), a BLOB only for one huge owner. */
    data: text("data").notNull(),
  },
  (t) => [primaryKey({ columns: [t.zoneId, t.addedVersion, t.tree, t.part] })],
);
