/**
 * @module `WorkerApi` in memory: the Worker's contract (leases by compare-and-set with expiry, versions
 * built beside the served one and swapped on commit, IXFR deletions that must match, commits only from
 * the lease holder) without D1, so the refresh state machine can be tested against real primaries in
 * one process. Several service instances may share one `MemoryWorker`, like two containers share D1.
 */
import type { ResourceRecord } from "../../dns/message.ts";
import { soaSerial } from "../../dns/rdata/soa.ts";
import { parseRecordStream } from "../../contract/record-stream.ts";
import type { Clock } from "../../dns/tsig/time.ts";
import type { AttemptEnd, IngestSession, TransferLogEntry, WorkerApi, ZoneConfig, ZoneReport } from "../worker/worker-api.ts";

/** Identity of a record within a zone: owner (case-insensitive), type, class and RDATA; not the TTL. */
function recordKey(rr: ResourceRecord): string {
  let hex = "";
  for (const b of rr.rdata) hex += b.toString(16).padStart(2, "0");
  return `${rr.name.key}|${rr.type}|${rr.class}|${hex}`;
}

interface StoredZone {
  config: ZoneConfig;
  records: Map<string, ResourceRecord>;
  version: number;
  lease: { owner: string; until: number } | null;
  reports: ZoneReport[];
}

export class MemoryWorker implements WorkerApi {
  private readonly stored = new Map<string, StoredZone>();
  readonly log: TransferLogEntry[] = [];
  /** Commits and aborts, in order, for tests. */
  readonly commits: Array<{ zone: string; owner: string; kind: "axfr" | "ixfr"; serial: number }> = [];
  readonly aborts: Array<{ zone: string; reason: string }> = [];
  /** Every `reportRefreshing`, in order. */
  readonly refreshing: Array<{ zone: string; detail: string }> = [];
  /** Awaited at each ingest step, so a test can hold a transfer mid-way (to NOTIFY-storm or kill it). */
  ingestHook: ((zone: string, step: "begin" | "records") => Promise<void>) | undefined;

  constructor(private readonly now: Clock = Date.now) {}

  addZone(config: Omit<ZoneConfig, "serial" | "status" | "expiresAt" | "lastCheckAt" | "nextRefreshAt" | "refreshRequestedAt" | "refreshForce" | "refreshAcceptLowerSerial"> & Partial<ZoneConfig>): void {
    const full: ZoneConfig = {
      serial: null,
      status: "pending",
      expiresAt: null,
      lastCheckAt: null,
      nextRefreshAt: null,
      refreshRequestedAt: null,
      refreshForce: null,
      refreshAcceptLowerSerial: false,
      ...config,
    };
    this.stored.set(full.name, { config: full, records: new Map(), version: 0, lease: null, reports: [] });
  }

  private zone(name: string): StoredZone {
    const z = this.stored.get(name);
    if (!z) throw new Error(`zone ${name} does not exist`);
    return z;
  }

  /** The served records of `zone`. */
  records(zone: string): ResourceRecord[] {
    return [...this.zone(zone).records.values()];
  }

  config(zone: string): ZoneConfig {
    return this.zone(zone).config;
  }

  reports(zone: string): ZoneReport[] {
    return this.zone(zone).reports;
  }

  /** What `POST /api/v1/zones/:name/refresh` does: store a request for the service to pick up. */
  requestRefresh(zone: string, options: { force?: "axfr"; acceptLowerSerial?: boolean } = {}): void {
    const c = this.zone(zone).config;
    c.refreshRequestedAt = this.now();
    c.refreshForce = options.force ?? null;
    c.refreshAcceptLowerSerial = options.acceptLowerSerial ?? false;
  }

  /** Whether the zone is served at all now (the answer engine's expiry rule). */
  served(zone: string): boolean {
    const c = this.zone(zone).config;
    return c.serial !== null && (c.expiresAt === null || this.now() <= c.expiresAt);
  }

  async zones(): Promise<ZoneConfig[]> {
    return [...this.stored.values()].map((z) => ({ ...structuredClone(z.config), lease: z.lease && { ...z.lease } }));
  }

  async acquireLease(zone: string, owner: string, ttlMs: number): Promise<boolean> {
    const z = this.zone(zone);
    const now = this.now();
    if (z.lease && z.lease.owner !== owner && z.lease.until > now) return false;
    z.lease = { owner, until: now + ttlMs };
    return true;
  }

  async renewLease(zone: string, owner: string, ttlMs: number): Promise<boolean> {
    const z = this.zone(zone);
    if (!this.holds(z, owner)) return false;
    z.lease = { owner, until: this.now() + ttlMs };
    return true;
  }

  /** Takes a zone's lease away from whoever holds it, as if it expired and another instance took it. */
  stealLease(zone: string, owner: string, ttlMs: number): void {
    this.zone(zone).lease = { owner, until: this.now() + ttlMs };
  }

  async releaseLease(zone: string, owner: string): Promise<void> {
    const z = this.zone(zone);
    if (z.lease?.owner === owner) z.lease = null;
  }

  private holds(z: StoredZone, owner: string): boolean {
    return z.lease !== null && z.lease.owner === owner && z.lease.until > this.now();
  }

  async report(zone: string, owner: string, report: ZoneReport): Promise<void> {
    const z = this.zone(zone);
    if (!this.holds(z, owner)) throw new Error(`report for ${zone} from ${owner}, which does not hold the lease`);
    z.reports.push(report);
    const c = z.config;
    c.status = report.status;
    if (report.expiresAt !== null) c.expiresAt = report.expiresAt;
    if (report.lastCheckAt !== null) c.lastCheckAt = report.lastCheckAt;
    c.nextRefreshAt = report.nextRefreshAt;
    if (report.servedRequestAt !== null && c.refreshRequestedAt === report.servedRequestAt) {
      c.refreshRequestedAt = null;
      c.refreshForce = null;
      c.refreshAcceptLowerSerial = false;
    }
  }

  async reportRefreshing(zone: string, owner: string, detail: string): Promise<void> {
    const z = this.zone(zone);
    if (!this.holds(z, owner)) throw new Error(`refreshing report for ${zone} from ${owner}, which does not hold the lease`);
    z.config.status = "refreshing";
    this.refreshing.push({ zone, detail });
  }

  async logTransfer(entry: TransferLogEntry): Promise<void> {
    this.log.push(entry);
  }

  /** As the Worker's `POST …/finish`: the entries, then the report (refused without the lease), then the release. */
  async finish(zone: string, owner: string, end: AttemptEnd): Promise<void> {
    this.finishes++;
    for (const entry of end.transfers) this.log.push(entry);
    try {
      await this.report(zone, owner, end.report);
    } finally {
      if (end.release) await this.releaseLease(zone, owner);
    }
  }

  /** `finish` calls so far. */
  finishes = 0;

  /** The D1 size (octets) a full ingest reports when it begins, as the real Worker does; undefined: not reported. */
  dbBytes: number | undefined;

  /** `options.maxDbBytes` is not applied here: this Worker reports `dbBytes` and the service's guard applies the cap. */
  async beginIngest(zone: string, owner: string, kind: "axfr" | "ixfr", serial: number, _options?: { maxDbBytes?: number | undefined }): Promise<IngestSession> {
    const z = this.zone(zone);
    if (!this.holds(z, owner)) throw new Error(`ingest for ${zone} refused: ${owner} does not hold the lease`);
    await this.ingestHook?.(zone, "begin");
    // Built beside the served records; swapped in on commit only.
    let building = kind === "axfr" ? new Map<string, ResourceRecord>() : new Map(z.records);
    let mode: "full" | "delete" | "add" = "full";
    let open = true;
    // The serial committed is the one the transfer brought (the primary may have moved on since its SOA answer).
    let finalSerial = serial;
    const check = (): void => {
      if (!open) throw new Error("ingest session is closed");
    };
    const put = (rr: ResourceRecord): void => {
      building.set(recordKey(rr), rr);
    };
    let dbBytes: number | undefined;
    return {
      get dbBytes() {
        return dbBytes;
      },
      beginFull: async (soa) => {
        check();
        dbBytes = this.dbBytes;
        building = new Map();
        put(soa);
        mode = "full";
        finalSerial = soaSerial(soa.rdata);
      },
      beginIncremental: async (soa) => {
        check();
        finalSerial = soaSerial(soa.rdata);
      },
      beginChangeset: async (fromSoa) => {
        check();
        if (!building.delete(recordKey(fromSoa))) throw new Error(`IXFR changeset from serial ${soaSerial(fromSoa.rdata)}, which is not ours`);
        mode = "delete";
      },
      beginAdditions: async (toSoa) => {
        check();
        put(toSoa);
        mode = "add";
      },
      // Whole zones come as record streams, as they do to the real Worker (`remote/axfr-raw.ts`), in small
      // chunks so that a test holding the first one holds the transfer early, as with record objects.
      rawChunkBytes: 32 * 1024,
      rawRecords: async (stream) => {
        check();
        await this.ingestHook?.(zone, "records");
        for (const rr of parseRecordStream(stream)) put(rr);
      },
      records: async (chunk) => {
        check();
        await this.ingestHook?.(zone, "records");
        for (const rr of chunk) {
          if (mode === "delete") {
            if (!building.delete(recordKey(rr))) throw new Error(`IXFR deletes ${rr.name} type ${rr.type}, which is not in the zone`);
          } else {
            put(rr);
          }
        }
      },
      end: async () => {
        check();
      },
      commit: async () => {
        check();
        open = false;
        if (!this.holds(z, owner)) throw new Error(`commit for ${zone} refused: ${owner} no longer holds the lease`);
        z.records = building;
        z.version++;
        z.config.serial = finalSerial;
        z.config.recordCount = building.size;
        this.commits.push({ zone, owner, kind, serial: finalSerial });
        return { version: z.version, serial: finalSerial, records: building.size };
      },
      abort: async (reason) => {
        open = false;
        this.aborts.push({ zone, reason });
      },
    };
  }
}
