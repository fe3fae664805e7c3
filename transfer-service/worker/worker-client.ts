/**
 * @module `WorkerApi` over the Worker's `/internal/v1` (routes and bodies: `contract/internal-v1.ts`),
 * with undici's keep-alive pool, the internal token as a bearer token, and every response parsed with the
 * contract's zod schemas before use.
 *
 * How the refresh machine's calls map onto the contract:
 * - zones: `GET /zones` gives zones and a key list; each zone gets the keys it or its primaries name.
 * - lease: `POST /zones/:zone/lease` (409 when another instance holds it), `…/lease/release`.
 * - report: `PUT /zones/:zone/timers`, then `POST /zones/:zone/signal/ack` for the request it served
 *   (compare-and-set on `requestedAt`, so a newer request is never lost); `reportRefreshing` is one
 *   `PUT /zones/:zone/timers` with the status alone.
 * - D1 read replication: every answer carries a D1 bookmark (`x-d1-bookmark`); the newest one seen is sent
 *   on every call, so after a commit the service reads (zones, leases) at least what it committed.
 * - transfer log: `POST /zones/:zone/transfers`.
 * - a full transfer (AXFR, or an AXFR-style IXFR reply) streams: `POST …/ingest`, then each chunk as a
 *   record stream (`contract/record-stream.ts`) cut by the chunker (~1 MB, between owners, a few in flight:
 *   `ingest-chunker.ts`) and then into D1 blocks here (issue 28), `PUT …/ingest/:version/blocks/:seq`, then `…/commit`; `…/abort` on failure. The version is opened with the first
 *   chunk, so a zone that never fills one goes whole in one request, `PUT …/ingest/whole` (issue 19).
 * - an attempt's end: `POST /zones/:zone/finish` (`finish`): its log entries, its report, the
 *   acknowledgement and the release in one call (issue 19: a small zone's first transfer went from nine
 *   calls to three, with the lease).
 * - an incremental transfer is sent whole as changesets (`POST /zones/:zone/changesets`) at commit, as the
 *   contract asks; IXFRs are small next to the zone, and the transfer's record limit bounds them.
 */
import { Agent, request } from "undici";
import type { z } from "zod";
import type { ResourceRecord } from "../../dns/message.ts";
import { soaSerial } from "../../dns/rdata/soa.ts";
import {
  AckResult,
  BOOKMARK_HEADER,
  CHANGESET_NODES_TYPE,
  encodeChangesetNodesBody,
  ChangesetResult,
  ChunkAccepted,
  CommitResult,
  type Changeset,
  IngestBegun,
  INTERNAL_PREFIX,
  Lease,
  Ok,
  ReleaseResult,
  Created,
  FinishResult,
  type FinishRequest,
  Journal,
  RECORDS_VERSION_HEADER,
  SERIAL_HEADER,
  ZoneConfigChanges,
  ZoneConfigList,
  UpdateResult,
  type UpdateRequest,
  type TimersUpdate,
  type TransferLogEntry as ContractLogEntry,
} from "../../contract/internal-v1.ts";
import { encodeRecordStream, RecordStreamError } from "../../contract/record-stream.ts";
import { Name } from "../../dns/name.ts";
import { cutBlockChunk } from "../../answer/store/block-chunk.ts";
import type { TransferKind } from "../../contract/vocabulary.ts";
import { FIRST_CHUNK_BYTES } from "../remote/axfr-raw.ts";
import { IngestChunker } from "./ingest-chunker.ts";
import type { AttemptEnd, ChangedNodesPart, IngestSession, TransferLogEntry, WorkerApi, ZoneConfig, ZoneFeedCursor, ZoneFeedPage, ZoneReport } from "./worker-api.ts";

/** The Worker answered with an error status, or not at all. The message never carries the token. */
export class WorkerError extends Error {
  override readonly name = "WorkerError";
  constructor(
    message: string,
    readonly status?: number,
    /** The error body's code (`ErrorBody.error.code`), when the Worker answered one. */
    readonly code?: string,
  ) {
    super(message);
  }
}

/** A body of octets sent with its own content type (the changesets with nodes, issue 28). */
class TypedBody {
  constructor(
    readonly type: string,
    readonly bytes: Uint8Array,
  ) {}
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

/** A zone's apex as the block cutter takes it: uncompressed wire form and sort key. */
function apexOf(zoneName: string): { wire: Uint8Array; key: Uint8Array } {
  const name = Name.parseAbsolute(zoneName);
  return { wire: name.toWire(), key: name.sortKey() };
}

/**
 * One ingest chunk's record stream as the chunk of blocks the Worker stores (`answer/store/block-chunk.ts`).
 * @throws RecordStreamError, naming the chunk, for a record outside the zone or an owner too big for a block.
 */
export function cutChunk(seq: number, stream: Uint8Array, apex: { wire: Uint8Array; key: Uint8Array }): Uint8Array {
  try {
    return cutBlockChunk(stream, apex.wire, apex.key);
  } catch (err) {
    if (err instanceof RecordStreamError) throw new RecordStreamError(`chunk ${seq}: ${err.message.replace(/ \(at octet \d+\)$/, "")}`, err.offset, err.kind);
    throw err;
  }
}

export interface WorkerClientOptions {
  baseUrl: string;
  token: string;
  timeoutMs: number;
  /** Record-stream bytes per ingest chunk (default {@link CHUNK_BYTES}). */
  chunkBytes?: number;
  /** Ingest chunks sent at once (default {@link CHUNKS_IN_FLIGHT}). */
  chunksInFlight?: number;
  /**
   * Issue 28: cut each full-transfer chunk into D1 blocks here and send those (`BACKSTOP_INGEST_CUT=service`),
   * or send the record stream for the Worker to cut (unset or false: the configuration's default, `worker`).
   */
  cutBlocks?: boolean;
  /** Told of every call by its route (`routeOf`), for `backstop_worker_calls_total`. */
  onCall?: ((route: string) => void) | undefined;
}

/** A call's route as a label: the zone, version and chunk numbers as `:zone`, `:version`, `:seq`, no query. */
export function routeOf(method: string, path: string): string {
  const bare = path.split("?")[0]!
    .replace(/^\/zones\/[^/]+/, "/zones/:zone")
    .replace(/\/(ingest|versions)\/\d+/, "/$1/:version")
    .replace(/\/(chunks|blocks)\/\d+/, "/$1/:seq");
  return `${method} ${bare}`;
}

/**
 * ~1 MB of records per chunk: ~30 blocks, one D1 batch on the Worker's direct path (at most 64 blocks),
 * and 35 requests instead of 500 for a 1M-record zone.
 */
export const CHUNK_BYTES = 1024 * 1024;
/** Enough to keep the Worker busy while the AXFR is read (measured: bench/ingest-d1.ts). */
export const CHUNKS_IN_FLIGHT = 3;

type Method = "GET" | "POST" | "PUT";

/**
 * A commit whose chunks all went straight into blocks takes a moment, but one that must merge staged runs
 * (a primary that does not send canonical order) reads and rewrites the whole version (a 1M-record zone:
 * tens of seconds on local D1), so it gets far longer than the per-call timeout; the lease is renewed
 * meanwhile.
 */
const COMMIT_TIMEOUT_MS = 15 * 60 * 1000;

export class WorkerClient implements WorkerApi {
  private readonly agent: Agent;
  /** The newest D1 bookmark the Worker returned; bookmarks compare as strings. */
  private bookmark: string | undefined;

  constructor(private readonly options: WorkerClientOptions) {
    // Idle connections are kept 4 s, under workerd's 5 s idle close (see `KEEP_ALIVE_MS` in
    // server/query/worker-upstream.ts): at 10 s, a call after 5 s of quiet could race the close, and a
    // commit, which is not retried, would fail.
    this.agent = new Agent({ keepAliveTimeout: 4_000, connections: 16, headersTimeout: COMMIT_TIMEOUT_MS, bodyTimeout: COMMIT_TIMEOUT_MS });
  }

  /**
   * One call, retried (3 tries, 250 ms then 500 ms apart) when it is safe to repeat (`idempotent`) and the
   * failure is transient: no connection, 502/503/504, or workerd's "restarted mid-request" (which
   * `wrangler dev` answers whenever the Worker's code reloads). Commits and changesets are never retried:
   * the caller decides after a failure.
   */
  private async call<T>(
    method: Method,
    path: string,
    body: unknown,
    schema: z.ZodType<T>,
    timeoutMs = this.options.timeoutMs,
    idempotent = true,
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.callOnce(method, path, body, schema, timeoutMs);
      } catch (err) {
        const transient = err instanceof WorkerError && (err.status === undefined || err.status === 502 || err.status === 503 || err.status === 504);
        if (!idempotent || !transient || attempt >= 3) throw err;
        await new Promise((r) => setTimeout(r, 250 * attempt));
      }
    }
  }

  private async callOnce<T>(method: Method, path: string, body: unknown, schema: z.ZodType<T>, timeoutMs: number): Promise<T> {
    this.options.onCall?.(routeOf(method, path));
    const typed = body instanceof TypedBody ? body : undefined;
    const binary = body instanceof Uint8Array;
    let res;
    try {
      res = await request(`${this.options.baseUrl}${INTERNAL_PREFIX}${path}`, {
        method,
        dispatcher: this.agent,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        headers: {
          authorization: `Bearer ${this.options.token}`,
          ...(this.bookmark === undefined ? {} : { [BOOKMARK_HEADER]: this.bookmark }),
          ...(body === undefined ? {} : { "content-type": typed ? typed.type : binary ? "application/octet-stream" : "application/json" }),
        },
        body: body === undefined ? undefined : typed ? typed.bytes : binary ? body : JSON.stringify(body),
      });
    } catch (err) {
      throw new WorkerError(`the Worker at ${this.options.baseUrl} is unreachable: ${(err as Error).message}`);
    }
    const bookmark = res.headers[BOOKMARK_HEADER];
    if (typeof bookmark === "string" && (this.bookmark === undefined || bookmark > this.bookmark)) this.bookmark = bookmark;
    const text = await res.body.text();
    if (res.statusCode >= 400) {
      let detail = text.slice(0, 300);
      let code: string | undefined;
      try {
        const parsed = JSON.parse(text) as { error?: { message?: string; code?: string } };
        if (parsed.error?.message) detail = parsed.error.message;
        if (typeof parsed.error?.code === "string") code = parsed.error.code;
      } catch {
        // not JSON: keep the text
      }
      throw new WorkerError(`${method} ${path} → ${res.statusCode}: ${detail}`, res.statusCode, code);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new WorkerError(`${method} ${path}: the Worker's answer is not JSON`);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw new WorkerError(`${method} ${path}: unexpected answer (${parsed.error.issues[0]?.message ?? "invalid"})`);
    return parsed.data;
  }

  private zonePath(zone: string): string {
    return `/zones/${encodeURIComponent(zone)}`;
  }

  async zones(): Promise<ZoneConfig[]> {
    return serviceConfigs(await this.call("GET", "/zones", undefined, ZoneConfigList));
  }

  /** One page of the zone change feed after `cursor` (a first read without `cursor.deletes`). */
  async zoneChanges(cursor: ZoneFeedCursor): Promise<ZoneFeedPage> {
    const query = new URLSearchParams({ since: String(cursor.since) });
    if (cursor.deletes !== undefined) query.set("deletes", String(cursor.deletes));
    const page = await this.call("GET", `/zones?${query}`, undefined, ZoneConfigChanges);
    return { zones: serviceConfigs(page), deleted: page.deleted, cursor: page.cursor, more: page.more, resync: page.resync };
  }

  async acquireLease(zone: string, owner: string, ttlMs: number, zoneId?: number): Promise<boolean> {
    try {
      await this.call("POST", `${this.zonePath(zone)}/lease`, zoneId === undefined ? { owner, ttlMs } : { owner, ttlMs, zoneId }, Lease);
      return true;
    } catch (err) {
      // 409: another instance holds the lease. 404 with a zone id: the zone is gone, or another zone has its
      // name now; either way not ours to refresh (the next read of the zones drops or replaces it).
      if (err instanceof WorkerError && (err.status === 409 || (err.status === 404 && zoneId !== undefined))) return false;
      throw err;
    }
  }

  async renewLease(zone: string, owner: string, ttlMs: number): Promise<boolean> {
    try {
      await this.call("POST", `${this.zonePath(zone)}/lease/renew`, { owner, ttlMs }, Lease);
      return true;
    } catch (err) {
      // 409: the lease was lost.
      if (err instanceof WorkerError && err.status === 409) return false;
      throw err;
    }
  }

  async releaseLease(zone: string, owner: string): Promise<void> {
    await this.call("POST", `${this.zonePath(zone)}/lease/release`, { owner }, ReleaseResult);
  }

  async report(zone: string, owner: string, report: ZoneReport): Promise<void> {
    const update: TimersUpdate = { owner, ...timersOf(report) };
    await this.call("PUT", `${this.zonePath(zone)}/timers`, update, Ok);
    if (report.servedRequestAt !== null) {
      await this.call("POST", `${this.zonePath(zone)}/signal/ack`, { requestedAt: report.servedRequestAt }, AckResult);
    }
  }

  async reportRefreshing(zone: string, owner: string, detail: string): Promise<void> {
    const update: TimersUpdate = { owner, status: "refreshing", statusDetail: detail.slice(0, 2000) };
    await this.call("PUT", `${this.zonePath(zone)}/timers`, update, Ok);
  }

  async finish(zone: string, owner: string, end: AttemptEnd): Promise<void> {
    const body: FinishRequest = { owner, transfers: end.transfers.map(contractEntry), report: timersOf(end.report), release: end.release };
    if (end.zoneId !== undefined) body.zoneId = end.zoneId;
    if (end.report.servedRequestAt !== null) body.servedRequestAt = end.report.servedRequestAt;
    // Retried like the report and the log rows it stands for: a transient failure (no connection, 503 while
    // `wrangler dev` reloads) means it was not applied. After an answer lost on the way back, the second try
    // writes the log rows again (a rare duplicate line beats a lost one) and finds the lease given back: 409,
    // a report owed, sent again with the next attempt.
    await this.call("POST", `${this.zonePath(zone)}/finish`, body, FinishResult);
  }

  async logTransfer(entry: TransferLogEntry): Promise<void> {
    // Retried like the rest: a transient failure means it was not written, and a rare duplicate line
    // in the log is better than a lost one.
    await this.call("POST", `${this.zonePath(entry.zone)}/transfers`, contractEntry(entry), Created);
  }

  async beginIngest(zoneName: string, owner: string, _kind: Exclude<TransferKind, "soa">, serial: number, options: { maxDbBytes?: number | undefined } = {}): Promise<IngestSession> {
    const path = this.zonePath(zoneName);
    const apex = apexOf(zoneName);
    // Decided by what the primary sends: a full zone streams into a new version; changesets are
    // collected and sent together at commit.
    // A full zone's version is opened with its first chunk (`open`); one that never fills a chunk goes
    // whole at commit instead, in one request, and opens nothing before.
    let full: { chunker: IngestChunker; open: () => Promise<number>; opened: boolean } | undefined;
    let finalSerial = serial;
    const changesets: Array<{ from: ResourceRecord; to?: ResourceRecord; deletions: ResourceRecord[]; additions: ResourceRecord[] }> = [];
    let section: "full" | "delete" | "add" = "full";
    let dbBytes: number | undefined;
    /** The changed nodes the replica computed for these changesets (issue 28), if it held their base. */
    let nodes: ChangedNodesPart | undefined;
    return {
      get dbBytes() {
        return dbBytes;
      },
      beginFull: async (soa) => {
        section = "full";
        finalSerial = soaSerial(soa.rdata);
        let version: Promise<number> | undefined;
        const open = (): Promise<number> => {
          f.opened = true;
          // Not retried: a lost answer would leave an open version behind (the sweep removes it).
          return (version ??= this.call("POST", `${path}/ingest`, { owner }, IngestBegun, this.options.timeoutMs, false).then((begun) => {
            dbBytes = begun.dbBytes;
            return begun.version;
          }));
        };
        const chunker = new IngestChunker({
          targetBytes: this.options.chunkBytes ?? CHUNK_BYTES,
          firstBytes: Math.min(this.options.chunkBytes ?? CHUNK_BYTES, FIRST_CHUNK_BYTES),
          inFlight: this.options.chunksInFlight ?? CHUNKS_IN_FLIGHT,
          encode: encodeRecordStream,
          // Issue 28: with `cutBlocks`, the chunk goes as the blocks it makes, cut here (for a service on cores
          // of its own, beside a Worker whose CPU is billed); the Worker checks and binds them. Retried like any
          // idempotent call: a chunk sent twice replaces (or finds) itself.
          send: async (seq, stream) => {
            const cut = this.options.cutBlocks ?? false;
            const body = cut ? cutChunk(seq, stream, apex) : stream;
            const v = await open();
            await this.call("PUT", `${path}/ingest/${v}/${cut ? "blocks" : "chunks"}/${seq}?owner=${encodeURIComponent(owner)}`, body, ChunkAccepted);
          },
        });
        const f = { chunker, open, opened: false };
        full = f;
        // The SOA travels with the apex's other records: a chunk of its own would overlap the next one.
        await chunker.add([soa]);
      },
      beginIncremental: async (soa) => {
        finalSerial = soaSerial(soa.rdata);
      },
      beginChangeset: async (fromSoa) => {
        section = "delete";
        changesets.push({ from: fromSoa, deletions: [fromSoa], additions: [] });
      },
      beginAdditions: async (toSoa) => {
        section = "add";
        const c = changesets.at(-1)!;
        c.to = toSoa;
        c.additions.push(toSoa);
      },
      rawChunkBytes: this.options.chunkBytes ?? CHUNK_BYTES,
      // A whole zone's body as stream bytes, already cut between owners (`remote/axfr-raw.ts`).
      rawRecords: async (stream) => {
        if (section !== "full" || !full) throw new Error("record stream outside a full transfer");
        await full.chunker.addStream(stream);
      },
      records: async (chunk) => {
        if (section === "full") return full!.chunker.add(chunk);
        const c = changesets.at(-1)!;
        (section === "delete" ? c.deletions : c.additions).push(...chunk);
      },
      end: async () => {
        // A zone that filled no chunk stays here for the whole-zone request at commit.
        if (full && full.chunker.chunks > 0) await full.chunker.flush();
      },
      commit: async () => {
        if (full && full.chunker.chunks === 0) {
          // Opened, stored and committed by one request; the Worker abandons the version on any failure.
          const cap = options.maxDbBytes ? `&maxDbBytes=${options.maxDbBytes}` : "";
          const query = `owner=${encodeURIComponent(owner)}&serial=${finalSerial}${cap}`;
          const r = await this.call("PUT", `${path}/ingest/whole?${query}`, full.chunker.takeUnshipped(), CommitResult, COMMIT_TIMEOUT_MS, false);
          return { version: r.version, serial: r.serial, records: r.recordCount };
        }
        if (full) {
          await full.chunker.flush();
          const version = await full.open();
          const r = await this.call("POST", `${path}/ingest/${version}/commit`, { owner, serial: finalSerial }, CommitResult, COMMIT_TIMEOUT_MS, false);
          return { version: r.version, serial: r.serial, records: r.recordCount };
        }
        const body: Changeset[] = changesets.map((c) => ({
          fromSerial: soaSerial(c.from.rdata),
          toSerial: soaSerial(c.to!.rdata),
          deletions: base64(encodeRecordStream(c.deletions)),
          additions: base64(encodeRecordStream(c.additions)),
        }));
        let r: ChangesetResult | undefined;
        let refused: string | undefined;
        if (nodes !== undefined) {
          // Issue 28, session 10: with the changed nodes the replica computed, in one binary body. Nodes the Worker
          // refuses (400 bad-nodes: a fault of ours, not the primary's) are dropped and the changesets sent alone.
          const header = { owner, changesets: body, base: nodes.base };
          try {
            r = await this.call("POST", `${path}/changesets`, new TypedBody(CHANGESET_NODES_TYPE, encodeChangesetNodesBody(header, nodes.nodes)), ChangesetResult, COMMIT_TIMEOUT_MS, false);
          } catch (err) {
            if (!(err instanceof WorkerError && err.status === 400 && err.code === "bad-nodes")) throw err;
            refused = err.message;
          }
        }
        r ??= await this.call("POST", `${path}/changesets`, { owner, changesets: body }, ChangesetResult, COMMIT_TIMEOUT_MS, false);
        const d1Rows = r.rowsRead === undefined ? undefined : { read: r.rowsRead, written: r.rowsWritten };
        return { version: r.version, serial: r.serial, records: r.recordCount, d1Rows, nodes: r.nodes === "stored" ? ("replica" as const) : ("worker" as const), nodesRefused: refused };
      },
      attachNodes: (n) => {
        nodes = n;
      },
      // The reason goes to the transfer log; the abort itself only drops the version.
      abort: async (_reason) => {
        if (!full) return;
        await full.chunker.settle();
        // Nothing opened (a whole zone, or a failure before the first chunk): nothing to drop.
        if (!full.opened) return;
        const version = await full.open().catch(() => undefined);
        if (version === undefined) return;
        await this.call("POST", `${path}/ingest/${version}/abort`, { owner }, Ok);
      },
    };
  }

  // --- Reads for transfers out (server/xfr-out/): one zone's configuration, a version, the journal. ---

  /** One zone's configuration with the keys it names (`GET /zones/:zone`); null when it is not a zone here. */
  async zoneForTransfer(zone: string): Promise<ZoneConfigList | null> {
    try {
      return await this.call("GET", this.zonePath(zone), undefined, ZoneConfigList);
    } catch (err) {
      if (err instanceof WorkerError && err.status === 404) return null;
      throw err;
    }
  }

  /**
   * A committed version's record stream (`GET /zones/:zone/versions/:version/records`), as the Worker
   * sends it: the body is read as it arrives, so a transfer out holds a few chunks whatever the zone's size.
   * `cancel()` stops the read (the client went away). Null when the version is gone (swept) or absent.
   */
  async versionRecords(zone: string, version: number): Promise<{ serial: number; version: number; chunks: AsyncIterable<Uint8Array>; cancel(): void } | null> {
    const controller = new AbortController();
    let res;
    try {
      res = await request(`${this.options.baseUrl}${INTERNAL_PREFIX}${this.zonePath(zone)}/versions/${version}/records`, {
        method: "GET",
        dispatcher: this.agent,
        signal: controller.signal,
        headersTimeout: this.options.timeoutMs,
        bodyTimeout: this.options.timeoutMs,
        headers: { authorization: `Bearer ${this.options.token}`, ...(this.bookmark === undefined ? {} : { [BOOKMARK_HEADER]: this.bookmark }) },
      });
    } catch (err) {
      throw new WorkerError(`the Worker at ${this.options.baseUrl} is unreachable: ${(err as Error).message}`);
    }
    if (res.statusCode === 404) {
      await res.body.dump();
      return null;
    }
    if (res.statusCode >= 400) {
      const text = (await res.body.text()).slice(0, 300);
      throw new WorkerError(`GET ${this.zonePath(zone)}/versions/${version}/records → ${res.statusCode}: ${text}`, res.statusCode);
    }
    const body = res.body;
    return {
      serial: Number(res.headers[SERIAL_HEADER]),
      version: Number(res.headers[RECORDS_VERSION_HEADER]),
      chunks: (async function* () {
        for await (const chunk of body as AsyncIterable<Buffer>) yield new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length);
      })(),
      cancel: () => controller.abort(),
    };
  }

  /** One transfer out, in the zone's transfer log (`direction: "out"`, `primary` the downstream). */
  async logTransferOut(zone: string, entry: ContractLogEntry): Promise<void> {
    await this.call("POST", `${this.zonePath(zone)}/transfers`, { ...entry, direction: "out" }, Created);
  }

  /** The changesets from serial `since` to the served version (`GET /zones/:zone/journal`); null on a journal gap. */
  /**
   * Issue 22: an allowed RFC 2136 UPDATE, applied by the Worker (`POST /zones/:zone/update`). Not retried:
   * a commit whose answer was lost must not be applied twice.
   */
  async applyUpdate(zone: string, body: UpdateRequest): Promise<UpdateResult> {
    return this.call("POST", `${this.zonePath(zone)}/update`, body, UpdateResult, this.options.timeoutMs, false);
  }

  async journal(zone: string, since: number): Promise<Journal | null> {
    try {
      return await this.call("GET", `${this.zonePath(zone)}/journal?since=${since}`, undefined, Journal);
    } catch (err) {
      if (err instanceof WorkerError && err.status === 404) return null;
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

/** The contract's zone configurations as the service's (each with the keys it names), for a list or a feed page. */
function serviceConfigs(list: { zones: ZoneConfigList["zones"]; keys: ZoneConfigList["keys"] }): ZoneConfig[] {
  const keys = new Map(list.keys.map((k) => [k.name.replace(/\.$/, "").toLowerCase(), k]));
  return list.zones.map((z): ZoneConfig => {
    const named = new Set([z.tsigKey, ...z.primaries.map((p) => p.tsigKey)].filter((n): n is string => !!n).map((n) => n.replace(/\.$/, "").toLowerCase()));
    const t = z.timers;
    return {
      id: z.id,
      name: z.name,
      model: z.model,
      primaries: z.primaries.map((p) => ({ address: p.address, port: p.port, tsigKey: p.tsigKey ?? null })),
      tsigKey: z.tsigKey,
      keys: [...named].flatMap((n) => (keys.has(n) ? [keys.get(n)!] : [])),
      notifyAllow: z.notifyAllow,
      clamps: { minRefresh: t.minRefresh, maxRefresh: t.maxRefresh, minRetry: t.minRetry, maxRetry: t.maxRetry, minExpire: t.minExpire, maxExpire: t.maxExpire },
      serial: z.serial,
      status: z.status,
      expiresAt: z.expiresAt,
      primarySerial: z.primarySerial,
      rrsigExpiresAt: z.rrsigExpiresAt ?? null,
      lastCheckAt: z.lastCheckAt,
      nextRefreshAt: z.nextRefreshAt,
      refreshRequestedAt: z.refresh?.requestedAt ?? null,
      refreshForce: z.refresh?.force ?? null,
      refreshAcceptLowerSerial: z.refresh?.acceptLowerSerial ?? false,
      lease: z.lease,
      limits: z.limits,
      recordCount: z.recordCount,
    };
  });
}

/** A log entry as the contract carries it. */
function contractEntry(entry: TransferLogEntry): ContractLogEntry {
  const body: ContractLogEntry = {
    kind: entry.kind,
    result: entry.result === "error" ? "failed" : entry.result,
    primary: entry.primary,
    records: entry.records,
    bytes: entry.bytes,
    durationMs: Math.round(entry.durationMs),
    instance: entry.instance,
    at: Math.round(entry.startedAt),
  };
  if (entry.serialBefore !== null) body.fromSerial = entry.serialBefore;
  if (entry.serialAfter !== null) body.toSerial = entry.serialAfter;
  if (entry.error !== undefined) body.error = entry.error.slice(0, 2000);
  return body;
}

/** A report as the contract's timers update (without the owner). */
function timersOf(report: ZoneReport): Omit<TimersUpdate, "owner"> {
  const update: Omit<TimersUpdate, "owner"> = {
    status: report.status,
    statusDetail: report.statusDetail.slice(0, 2000),
    nextRefreshAt: Math.round(report.nextRefreshAt),
  };
  if (report.soa && report.primarySerial !== null) update.soa = { serial: report.primarySerial, ...report.soa };
  if (report.primarySerial !== null) update.primarySerial = report.primarySerial;
  if (report.lastCheckAt !== null) update.lastCheckAt = Math.round(report.lastCheckAt);
  if (report.expiresAt !== null) update.expiresAt = Math.round(report.expiresAt);
  return update;
}
