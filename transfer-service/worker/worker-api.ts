/**
 * @module What the transfer-service needs from the Worker, as one interface: zone configurations (with
 * their TSIG secrets), per-zone refresh leases, state reports (timers, expiry, status in words), the
 * transfer log, and ingest sessions that stream a transfer into a new version and commit it.
 *
 * The refresh machinery is written against this interface only. `worker-client.ts` implements it over
 * the Worker's `/internal/v1` HTTP API; `memory-worker.ts` implements it in memory for tests (as
 * hickory-dns tests its server against an in-memory store).
 */
import type { RefreshForce, TransferKind, TransferResult, TsigAlgorithmName, ZoneModel, ZoneStatus } from "../../contract/vocabulary.ts";
import type { XfrSink } from "../remote/xfr-in.ts";
import type { ChangedNodesBase } from "../../contract/internal-v1.ts";

// The words are the contract's (`contract/vocabulary.ts`); re-exported for the refresh machinery.
export type { TransferKind, ZoneStatus };

/** A TSIG key as the Worker hands it over (decrypted). Never logged: log.ts censors `secret`. */
export interface TsigKeyMaterial {
  name: string;
  algorithm: TsigAlgorithmName;
  /** base64 */
  secret: string;
}

export interface PrimaryConfig {
  address: string;
  port: number;
  /** Key name for transfers from this primary; the zone's key when absent. */
  tsigKey?: string | null;
}

/** A zone as the service sees it: configuration and the last stored state. Times in ms since the epoch. */
export interface ZoneConfig {
  /** The zone row's id in D1 (absent from a Worker that does not say): another id under the same name is another zone. */
  id?: number | undefined;
  /** Lowercase, no trailing dot. */
  name: string;
  model: ZoneModel;
  primaries: PrimaryConfig[];
  /** The zone's own key: verifies NOTIFY and signs transfers from primaries that name none. */
  tsigKey?: string | null;
  /** Every key the zone or its primaries name. */
  keys: TsigKeyMaterial[];
  notifyAllow: string[];
  /** Per-zone clamps (seconds); the service's defaults apply where absent. */
  clamps?: Partial<Record<"minRefresh" | "maxRefresh" | "minRetry" | "maxRetry" | "minExpire" | "maxExpire", number>>;
  /** Serial of the served version, null before the first transfer. */
  serial: number | null;
  status: ZoneStatus;
  expiresAt: number | null;
  lastCheckAt: number | null;
  nextRefreshAt: number | null;
  /** The serial the primary last reported, and the served version's earliest RRSIG expiry (issue 25's gauges). */
  primarySerial?: number | null;
  rrsigExpiresAt?: number | null;
  /** A pending refresh request (API or webhook NOTIFY), by the time it was made. */
  refreshRequestedAt: number | null;
  refreshForce: RefreshForce | null;
  refreshAcceptLowerSerial: boolean;
  /**
   * The zone's refresh lease as stored: held from an attempt's start until its final report, so one still
   * there when this instance first sees the zone is an attempt that was cut off (zone.ts). Absent: none.
   */
  lease?: { owner: string; until: number } | null;
  /** Records in the served version (the SOA once), as the Worker counts them; absent: not known. */
  recordCount?: number;
  /** The zone's own transfer limits; null or absent: the service's defaults. */
  limits?: { maxRecords: number | null; maxBytes: number | null };
}

/** The zone state after a refresh attempt, written to D1 so it survives restarts and drives expiry. */
export interface ZoneReport {
  status: ZoneStatus;
  /** The status in words: which primary failed and why, or what succeeded. */
  statusDetail: string;
  /** The serial the primary reported, when one answered. */
  primarySerial: number | null;
  /** The SOA timers as last seen, seconds. */
  soa: { refresh: number; retry: number; expire: number; minimum: number } | null;
  /** Past this the zone is not served; reset on every successful SOA check. Null leaves it unchanged. */
  expiresAt: number | null;
  lastCheckAt: number | null;
  nextRefreshAt: number;
  /** The refresh request this attempt served (cleared when it matches the stored one). */
  servedRequestAt: number | null;
}

export interface TransferLogEntry {
  zone: string;
  /** "address:port" */
  primary: string;
  kind: TransferKind;
  /** Our serial before, the primary's serial. */
  serialBefore: number | null;
  serialAfter: number | null;
  records: number;
  bytes: number;
  durationMs: number;
  /** The contract's results, but a failure is `error` here (the client sends it as `failed`). */
  result: Exclude<TransferResult, "failed" | "refused"> | "error";
  /** The error in plain words. */
  error?: string;
  instance: string;
  startedAt: number;
}

/**
 * An IXFR's changed nodes, computed by the port-53 replica from the exact base version it holds (issue 28,
 * session 10: `answer/store/changed-nodes.ts`), with what identifies that version (`contract/internal-v1.ts`).
 */
export interface ChangedNodesPart {
  base: ChangedNodesBase;
  /** The `changed-nodes.ts` framing. */
  nodes: Uint8Array;
}

/** A transfer being stored: the sink side of `remote/xfr-in.ts`, plus commit and abort. */
export interface IngestSession extends XfrSink {
  /**
   * Makes the new version the served one. Only after this resolves is the transfer a success. For changesets,
   * `nodes` says whether the Worker stored the replica's changed nodes (`replica`) or read its blocks
   * (`worker`), and `nodesRefused` why it refused them (they were dropped and the changesets sent alone).
   */
  commit(): Promise<{
    version: number;
    serial: number;
    records: number;
    d1Rows?: { read: number; written: number } | undefined;
    nodes?: "replica" | "worker" | undefined;
    nodesRefused?: string | undefined;
  }>;
  /** An IXFR's changed nodes, sent with its changesets at commit (issue 28); absent where not supported. */
  attachNodes?(nodes: ChangedNodesPart): void;
  /** Drops the version being built; the served zone stays as it was. */
  abort(reason: string): Promise<void>;
  /**
   * The D1 database's size in octets as the Worker reported it when the new version was opened (after
   * `beginFull`); undefined before, for changesets, or when the Worker does not say.
   */
  readonly dbBytes?: number | undefined;
}

/** Where a reader of the zone change feed stands: `deletes` undefined before its first read. */
export interface ZoneFeedCursor {
  since: number;
  deletes?: number | undefined;
}

/** One page of the zone change feed (`contract/internal-v1.ts`'s `ZoneConfigChanges`): apply `deleted`, then `zones`. */
export interface ZoneFeedPage {
  zones: ZoneConfig[];
  deleted: string[];
  cursor: { since: number; deletes: number };
  more: boolean;
  /** The feed cannot say what was deleted since the cursor: read it again from 0 and drop what is not seen. */
  resync: boolean;
}

export interface WorkerApi {
  /** Every zone (a Worker without the feed, and tests). */
  zones(): Promise<ZoneConfig[]>;
  /** The zones changed since `cursor` (issue 19); the zone set polls this when the Worker has it. */
  zoneChanges?(cursor: ZoneFeedCursor): Promise<ZoneFeedPage>;
  /** Takes (or renews) the zone's refresh lease; false when another instance holds it. */
  /**
   * Takes the zone's refresh lease; false when another instance holds it, or when `zoneId` is given and the
   * zone of that name is another one now (deleted and created again) or gone.
   */
  acquireLease(zone: string, owner: string, ttlMs: number, zoneId?: number): Promise<boolean>;
  /** Extends a lease we hold; false when it was lost (expired and taken by another instance). */
  renewLease(zone: string, owner: string, ttlMs: number): Promise<boolean>;
  releaseLease(zone: string, owner: string): Promise<void>;
  report(zone: string, owner: string, report: ZoneReport): Promise<void>;
  /**
   * Says a transfer has begun: status `refreshing`, with what is being transferred in words. One call, made
   * under the lease; the final `report` replaces it. The Worker shows `refreshing` only while the lease is
   * live, so an instance that dies mid-transfer cannot leave the zone showing it.
   */
  reportRefreshing(zone: string, owner: string, detail: string): Promise<void>;
  logTransfer(entry: TransferLogEntry): Promise<void>;
  /**
   * Opens a new version of the zone; only the lease holder may. `maxDbBytes`: the service's D1 cap
   * (`BACKSTOP_D1_MAX_BYTES`), for a Worker that stores a small zone in one request and checks it there.
   */
  beginIngest(zone: string, owner: string, kind: Exclude<TransferKind, "soa">, serial: number, options?: { maxDbBytes?: number | undefined }): Promise<IngestSession>;
  /**
   * The end of a refresh attempt in one call (issue 19): its transfer-log entries (written whatever
   * follows), its report (throws, as `report` does, when the lease is no longer ours), and the lease given
   * back. Without it the attempt ends with `logTransfer`, `report` and `releaseLease`.
   */
  finish?(zone: string, owner: string, end: AttemptEnd): Promise<void>;
}

/** What `WorkerApi.finish` stores. */
export interface AttemptEnd {
  /** The zone row the attempt was for: another one of the same name now (re-created) is refused. */
  zoneId?: number | undefined;
  transfers: TransferLogEntry[];
  report: ZoneReport;
  release: boolean;
}
