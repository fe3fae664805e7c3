/**
 * @module The refresh handler (RFC 1034 §4.3.5, RFC 1995, RFC 1996, RFC 5936): one attempt to bring a
 * secondary zone up to date from its primaries, which returns how it ended (`RefreshOutcome`). It sets no
 * timer and sends no final report: the zone (zone.ts) turns the outcome into the report (report.ts),
 * stores it, and replans its events (zone-events.ts), as Knot's `handlers/refresh.c` leaves timers to
 * `events.c`.
 *
 * ```
 *   refresh event ─┐  NOTIFY (= refresh timer expired, RFC 1996 §3.11) ─┐  control signal / poll ─┐
 *                  ▼                                                    ▼                         ▼
 *             ┌──────── zone events: one run at a time; a request during it leaves one re-check due ──┐
 *             ▼                                                                                       │
 *      acquire lease (D1) ── held by another instance ──► LEASE BUSY: again after the lease TTL; ─────┤
 *             │          (its report reaches us by the poll)                                          │
 *             │   (the first primary's SOA query is already on its way: it needs no lease; when it    │
 *             │    shows a newer serial, so is the IXFR from it, read into memory: it is replayed      │
 *             │    into the store under the lease, and dropped when the lease is busy)                │
 *             ▼   primaries in order, those in backoff last-resort only                               │
 *      ┌─► SOA query (UDP, TCP on TC, TSIG) ── timeout/error/TSIG ──► backoff this primary ──► next ─┐ │
 *      │      │                                                                                    │ │
 *      │      ├─ serial == ours ──────────────► UP TO DATE: expire reset, next at REFRESH ───────────┼─┤
 *      │      ├─ serial older/undefined ──────► regressed (unless acceptLowerSerial) ──► next ───────┤ │
 *      │      ▼ serial newer, or force AXFR (no zone yet: no SOA query, AXFR at once: bootstrap)     │ │
 *      │    status REFRESHING reported (one call, beside a transfer still running after 0.5 s)       │ │
 *      │    IXFR (when we hold a zone) ── NOTIMP/REFUSED/SERVFAIL/FORMERR/inconsistent/              │ │
 *      │      │                            timeout/reset/single newer SOA ──► AXFR ──┐               │ │
 *      │      │ single SOA not newer: up to date                                     │               │ │
 *      │      ▼                                                                      ▼               │ │
 *      │    commit through the ingest API ◄──────────────────────────────────────── AXFR ── fail ────┘ │
 *      │      │  (success only once the Worker confirms; else the served zone stays as it was)         │
 *      │      ▼                                                                                         │
 *      │    TRANSFERRED: expire reset, next at REFRESH ─────────────────────────────────────────────────┤
 *      │                                                                                                │
 *      └── every primary failed: FAILING (or SERIAL-REGRESSED), next at RETRY; EXPIRED past expiresAt ──┘
 *          (no data yet: PENDING, next after 5 s, doubling up to RETRY)
 *                   outcome ──► report.ts ──► D1 (status in words, timers, expiresAt), release lease,
 *                               the zone replans its refresh and expire events
 * ```
 *
 * Rules the diagram implies:
 * - Timers come from the SOA, clamped (soa-timers.ts). The expire time is reset on every successful SOA
 *   check, not only after transfers, and stored in D1 (`expiresAt`), so expiry holds when we are down.
 * - A failed NOTIFY-triggered refresh is retried at RETRY like any failed refresh (RFC 1996 §3.11 plus
 *   RFC 1034's retry).
 * - A serial that went backwards (RFC 1982 "lt" or "undefined") is not taken: BIND moves on to the next
 *   primary, and so do we; the zone's status says what happened and how to accept it.
 * - Every attempt (SOA, IXFR, AXFR) goes into the transfer log (transfer-log.ts) with its primary,
 *   serials, size, time and error in words. The writes keep their order but do not hold the transfer up;
 *   the attempt waits for them before it returns, so the final report lands after them.
 * - While a transfer runs the zone's status is `refreshing` (reported once, when the first transfer of the
 *   attempt has run for `ANNOUNCE_AFTER_MS`; an SOA check alone does not change it, nor a transfer done
 *   sooner: a small zone's shows for a few milliseconds at most, and the call cost as much as the transfer). The final report replaces it, and lands after
 *   it. The Worker shows `refreshing` only while the refresh lease is live, so an instance that dies
 *   mid-transfer leaves no zone showing it for longer than the lease TTL.
 *
 * The code follows the diagram: `refresh` (lease, early SOA), `tryPrimaries` (the loop), then per primary
 * `soaCheck`, `ixfrTry`, `axfrTry`, each transfer through `transferInto` (ingest session and commit).
 */
import { Name } from "../../../dns/name.ts";
import type { ResourceRecord } from "../../../dns/message.ts";
import { withSoaSerial } from "../../../dns/rdata/soa.ts";
import { Serial } from "../../../dns/serial.ts";
import type { TsigKey } from "../../../dns/tsig/key.ts";
import type { Clock } from "../../../dns/tsig/time.ts";
import type { Config } from "../../config.ts";
import type { Logger } from "../../ops/log.ts";
import type { Metrics } from "../../ops/metrics.ts";
import { querySoa, soaFields, type PrimaryTarget, type SoaAnswer } from "../../remote/soa-query.ts";
import { describePeer, TransferError } from "../../remote/transfer-error.ts";
import { transfer, type XfrLimits, type XfrResult, type XfrSink } from "../../remote/xfr-in.ts";
import type { PrimaryConfig, TransferKind, WorkerApi, ZoneConfig } from "../../worker/worker-api.ts";
import type { Backoff } from "./backoff.ts";
import { underLease } from "./lease.ts";
import { guardStoreSize } from "./store-guard.ts";
import { waitSlot, type SerialQueryRate } from "../serial-query-rate.ts";
import type { PrimaryLimiter } from "../limiter.ts";
import { TransferLog } from "./transfer-log.ts";
import { tapIngest } from "../../server/replica/owner-load.ts";

/**
 * A transfer still running after this long is reported `refreshing` (`announceTransfer`). Issue 19: a small
 * zone's transfer is done well before, and its report call was one of the nine a first transfer cost.
 */
export const ANNOUNCE_AFTER_MS = 500;

/** How one refresh attempt ended: the handler's whole answer. */
export type RefreshOutcome =
  | { kind: "up-to-date"; peer: string; soa: SoaAnswer }
  | { kind: "transferred"; peer: string; soa: SoaAnswer; result: XfrResult; via: "ixfr" | "axfr"; fellBack?: string | undefined }
  | { kind: "regressed"; detail: string; soa: SoaAnswer }
  | { kind: "failed"; detail: string; soa?: SoaAnswer | undefined }
  /** Another instance holds the zone's lease: nothing was tried, nothing is reported. */
  | { kind: "lease-busy" };

/** What an operator's request asks of the attempt (API refresh or webhook NOTIFY). */
export interface RefreshRequest {
  requestedAt: number | null;
  force: "axfr" | null;
  acceptLowerSerial: boolean;
}

/** The zone as the handler reads it; read live, since a poll may bring a new configuration meanwhile. */
export interface RefreshZone {
  readonly name: Name;
  readonly config: ZoneConfig;
  readonly keys: readonly TsigKey[];
  /** Per-primary backoff, kept by the zone across attempts. */
  readonly backoff: Backoff;
}

/** The slice of `Config` the refresh machinery uses. */
export type RefreshSettings = Pick<Config, "instanceId" | "soa" | "xfr" | "clamps" | "backoff" | "leaseTtlMs" | "pollIntervalMs">;

export interface RefreshDeps {
  worker: WorkerApi;
  settings: RefreshSettings;
  log: Logger;
  metrics?: Metrics | undefined;
  /** Wall clock for timers and TSIG (tests inject a skewed one for TSIG). */
  now?: Clock | undefined;
  /** The clock TSIG uses; defaults to `now`. */
  tsigNow?: Clock | undefined;
  /** Shared by every zone of the set: refresh attempts started per second (BIND's serial-query-rate). */
  serialQueries?: SerialQueryRate | undefined;
  /** Shared by every zone of the set: transfers from one primary at once (BIND's transfers-per-ns). */
  primaryTransfers?: PrimaryLimiter | undefined;
}

/** An SOA query started before the lease was held (`startEarlySoa`). */
interface EarlySoa {
  peer: string;
  startedAt: number;
  answer: Promise<SoaAnswer>;
}

/** One attempt: its configuration first, then its state (as Knot's `refresh_data`). */
interface Attempt {
  readonly zone: RefreshZone;
  readonly request: RefreshRequest | null;
  readonly deps: RefreshDeps;
  readonly now: () => number;
  /** Aborts when the lease is lost or the service stops. */
  readonly signal: AbortSignal;
  readonly transferLog: TransferLog;
  /** No data held when the attempt began: AXFR from each primary without an SOA query first (`bootstrapTry`). */
  readonly bootstrap: boolean;
  /** The SOA query started beside the lease, until the primary it went to is tried. */
  early: EarlySoa | undefined;
  /** The IXFR started beside the lease when that SOA answer showed a newer serial, until it is used. */
  earlyIxfr: EarlyIxfr | undefined;
  /** The attempt's `refreshing` report in flight (`announceTransfer`), and its timer before it starts. */
  announcing: Promise<void> | undefined;
  announceTimer: ReturnType<typeof setTimeout> | undefined;
}

/** One primary's end of the loop: an outcome ends the attempt, a failure moves on to the next primary. */
type PrimaryStep =
  | { done: RefreshOutcome }
  | { failed: string; soa?: SoaAnswer }
  | { regressed: { detail: string; soa: SoaAnswer } }
  | { stop: true; soa?: SoaAnswer };

/**
 * One refresh attempt, under the zone's lease; the lease is kept for the final report (lease.ts). Throws
 * only on an internal error; every failure of a primary or of the Worker is an outcome. Its log entries go
 * to `transferLog` (by default one that writes each: the caller that holds them sends them with the report).
 */
export async function refresh(
  zone: RefreshZone,
  request: RefreshRequest | null,
  deps: RefreshDeps,
  serviceAbort: AbortSignal,
  transferLog: TransferLog = attemptLog(zone.config.name, deps, false),
): Promise<RefreshOutcome> {
  const now = (): number => (deps.now ?? Date.now)();
  const name = zone.config.name;
  // Bootstrap (issue 19, Knot's `refresh.c`: a zone without contents starts in STATE_TRANSFER with an AXFR,
  // no SOA query): a zone we hold no data for asks for the whole zone at once. Whatever serial the primary
  // has, it is newer than nothing, so the SOA query would only cost a round trip and a slot of the
  // serial-query rate. Bootstraps are held by transfers-in (the zone set's limiter, around this attempt) and
  // the per-primary limit (around the stream); the rate's slots stay for the SOA checks of loaded zones,
  // NOTIFYs included. (named sends the SOA query even then, through the same rate: the provisioning bench
  // row shows the difference.)
  const bootstrap = zone.config.serial === null;
  // The serial-query rate: this attempt's slot. Waited for under the lease, so that an attempt that
  // queued finds another instance's refresh in the lease (busy), not in a stale serial afterwards.
  const wait = bootstrap ? 0 : (deps.serialQueries?.reserve() ?? 0);
  // The first primary's SOA query is a read that needs no lease: when the slot is now, it runs beside the
  // lease's D1 round trip (which costs several times an SOA query on loopback), and is dropped if the
  // lease is busy.
  const early = bootstrap || wait > 0 ? undefined : startEarlySoa(zone, deps, now);
  // Issue 28, session 10: the IXFR is a read too. When the early SOA answer shows a newer serial, the transfer
  // runs beside the lease as well, into memory; only its replay into the store (and the POST) waits for the lease.
  const earlyIxfr = early && request?.force !== "axfr" ? startEarlyIxfr(zone, deps, early) : undefined;
  let attempt: Attempt | undefined;
  const leaseDeps = { worker: deps.worker, instanceId: deps.settings.instanceId, leaseTtlMs: deps.settings.leaseTtlMs, log: deps.log };
  try {
    const outcome = await underLease(leaseDeps, name, serviceAbort, async (signal): Promise<RefreshOutcome> => {
      try {
        await waitSlot(wait, signal);
      } catch (err) {
        return { kind: "failed", detail: `stopped while waiting for its turn to query: ${describeError(err)}` };
      }
      attempt = { zone, request, deps, now, signal, transferLog, bootstrap, early, earlyIxfr, announcing: undefined, announceTimer: undefined };
      signal.addEventListener("abort", () => earlyIxfr?.controller.abort(signal.reason));
      return tryPrimaries(attempt);
    }, zone.config.id);
    return outcome === "busy" ? { kind: "lease-busy" } : outcome;
  } finally {
    // Busy, or the attempt over without using it (up to date after all, another primary first): dropped.
    earlyIxfr?.controller.abort(new Error("the refresh attempt no longer needs this transfer"));
    // The final report must not be overtaken by the `refreshing` one, nor land before the attempt's log.
    clearTimeout((attempt as Attempt | undefined)?.announceTimer);
    await (attempt as Attempt | undefined)?.announcing;
    await transferLog.settled();
  }
}

/** The transfer log of one attempt of `zone`; `held`: kept for the caller's `WorkerApi.finish`. */
export function attemptLog(zone: string, deps: RefreshDeps, held: boolean): TransferLog {
  return new TransferLog(zone, { worker: deps.worker, instanceId: deps.settings.instanceId, log: deps.log, metrics: deps.metrics, now: () => (deps.now ?? Date.now)(), held });
}

/** The primary tried first and the SOA query to it, started now; undefined when none can be asked. */
function startEarlySoa(zone: RefreshZone, deps: RefreshDeps, now: () => number): EarlySoa | undefined {
  const byPeer = primariesByPeer(zone.config.primaries);
  const peer = zone.backoff.order([...byPeer.keys()], now())[0];
  const primary = peer === undefined ? undefined : byPeer.get(peer);
  if (!primary || !peer) return undefined;
  const key = keyFor(zone, primary);
  if ((primary.tsigKey ?? zone.config.tsigKey) && !key) return undefined;
  const startedAt = now();
  const answer = querySoa(zone.name, { address: primary.address, port: primary.port, key }, { ...deps.settings.soa, now: deps.tsigNow ?? deps.now });
  // Handled where it is used; unused (lease busy, order changed) its failure means nothing.
  answer.catch(() => undefined);
  return { peer, startedAt, answer };
}

/** What the IXFR beside the lease brought: the reply, recorded, or how it failed (the attempt's IXFR failure then). */
type EarlyReply = { from: number; serial: number } & ({ result: XfrResult; replay: (sink: XfrSink) => Promise<void> } | { error: unknown });

/** An IXFR started beside the lease (`startEarlyIxfr`), held in memory until the attempt replays it. */
interface EarlyIxfr {
  peer: string;
  controller: AbortController;
  /** Undefined when no IXFR was asked (not newer, the SOA query failed) or it was aborted or too big to keep. */
  done: Promise<EarlyReply | undefined>;
}

/** Octets of records an AXFR-style reply may bring into memory beside the lease; past them it is asked again under it. */
const EARLY_AXFR_STYLE_BYTES = 4 * 1024 * 1024;

/** Thrown by the recorder past EARLY_AXFR_STYLE_BYTES: the transfer is asked again under the lease, streamed. */
class TooBigToKeep extends Error {}

/**
 * A sink that keeps an IXFR reply as it comes, to be replayed into the ingest session under the lease: the
 * changesets (the transfer's record limit bounds them), or an AXFR-style reply of up to EARLY_AXFR_STYLE_BYTES
 * (a larger one is asked again under the lease and streamed to the Worker as before).
 */
class IxfrRecorder implements XfrSink {
  private readonly steps: Array<(sink: XfrSink) => Promise<void>> = [];
  private full = false;
  private bytes = 0;
  private ended = false;
  async beginFull(soa: ResourceRecord): Promise<void> {
    this.full = true;
    this.steps.push((sink) => sink.beginFull(soa));
  }
  async beginIncremental(soa: ResourceRecord): Promise<void> {
    this.steps.push((sink) => sink.beginIncremental(soa));
  }
  async beginChangeset(fromSoa: ResourceRecord): Promise<void> {
    this.steps.push((sink) => sink.beginChangeset(fromSoa));
  }
  async beginAdditions(toSoa: ResourceRecord): Promise<void> {
    this.steps.push((sink) => sink.beginAdditions(toSoa));
  }
  async records(chunk: ResourceRecord[]): Promise<void> {
    if (this.full) {
      for (const r of chunk) this.bytes += r.rdata.length + r.name.wireLength + 10;
      if (this.bytes > EARLY_AXFR_STYLE_BYTES) throw new TooBigToKeep("an AXFR-style reply too big to keep: asked again under the lease");
    }
    this.steps.push((sink) => sink.records(chunk));
  }
  async end(): Promise<void> {
    this.ended = true;
  }
  async replay(sink: XfrSink): Promise<void> {
    for (const step of this.steps) await step(sink);
    if (this.ended) await sink.end();
  }
}

/**
 * The IXFR from the early SOA query's primary, started as soon as that answer shows a serial newer than ours,
 * beside the lease's D1 round trip (both are reads of the primary; neither needs the lease). Undefined when
 * there is nothing to start from (no data held: a bootstrap, which has no early SOA query either).
 */
function startEarlyIxfr(zone: RefreshZone, deps: RefreshDeps, early: EarlySoa): EarlyIxfr | undefined {
  const ours = zone.config.serial;
  const primary = primariesByPeer(zone.config.primaries).get(early.peer);
  if (ours === null || !primary) return undefined;
  const target: PrimaryTarget = { address: primary.address, port: primary.port, key: keyFor(zone, primary) };
  const controller = new AbortController();
  const done = (async (): Promise<EarlyReply | undefined> => {
    let soa: SoaAnswer;
    try {
      soa = await early.answer;
    } catch {
      return undefined;
    }
    if (controller.signal.aborted || Serial.of(soa.serial).compare(ours) !== "gt") return undefined;
    const recorder = new IxfrRecorder();
    const run = (): Promise<XfrResult> =>
      transfer({
        kind: "ixfr",
        zone: zone.name,
        primary: target,
        currentSoa: withSerial(soa.record, ours),
        sink: recorder,
        limits: zoneLimits(zone.config, deps.settings.xfr),
        now: deps.tsigNow ?? deps.now,
        signal: controller.signal,
        spoolDir: deps.settings.xfr.spoolDir,
      });
    try {
      const result = await (deps.primaryTransfers ? deps.primaryTransfers.run(early.peer, run, controller.signal) : run());
      return { from: ours, serial: soa.serial, result, replay: (sink: XfrSink) => recorder.replay(sink) };
    } catch (err) {
      if (controller.signal.aborted || err instanceof TooBigToKeep || (err instanceof Error && err.cause instanceof TooBigToKeep)) return undefined;
      return { from: ours, serial: soa.serial, error: err };
    }
  })();
  return { peer: early.peer, controller, done };
}

/** The diagram's middle: the primaries in order until one brings the zone up to date. */
async function tryPrimaries(a: Attempt): Promise<RefreshOutcome> {
  const primaries = a.zone.config.primaries;
  if (primaries.length === 0) return { kind: "failed", detail: "the zone has no primaries configured" };
  const byPeer = primariesByPeer(primaries);
  const failures: string[] = [];
  let regressed: { detail: string; soa: SoaAnswer } | undefined;
  let lastSoa: SoaAnswer | undefined;

  for (const peer of a.zone.backoff.order([...byPeer.keys()], a.now())) {
    if (a.signal.aborted) break;
    const step = await tryPrimary(a, peer, byPeer.get(peer)!);
    if ("done" in step) return step.done;
    if ("soa" in step && step.soa) lastSoa = step.soa;
    if ("failed" in step) failures.push(step.failed);
    if ("regressed" in step) {
      lastSoa = step.regressed.soa;
      regressed ??= step.regressed;
    }
    if ("stop" in step) break;
  }
  if (regressed && failures.length === 0) return { kind: "regressed", ...regressed };
  if (regressed) return { kind: "regressed", detail: `${regressed.detail}; other primaries: ${failures.join("; ")}`, soa: regressed.soa };
  if (a.signal.aborted) {
    const why = a.signal.reason instanceof Error ? a.signal.reason.message : "stopped";
    return { kind: "failed", detail: failures.length ? `${why}; ${failures.join("; ")}` : why, soa: lastSoa };
  }
  return { kind: "failed", detail: failures.join("; ") || "no primary could be tried", soa: lastSoa };
}

/** One primary: SOA check, then IXFR (falling back to AXFR) or AXFR when its serial is newer. */
async function tryPrimary(a: Attempt, peer: string, primary: PrimaryConfig): Promise<PrimaryStep> {
  const key = keyFor(a.zone, primary);
  if ((primary.tsigKey ?? a.zone.config.tsigKey) && !key) {
    return { failed: `${peer}: TSIG key "${primary.tsigKey ?? a.zone.config.tsigKey}" is not configured or unusable` };
  }
  const target: PrimaryTarget = { address: primary.address, port: primary.port, key };
  const ours = a.zone.config.serial;
  if (a.bootstrap) return bootstrapTry(a, peer, target);

  // 1. SOA query.
  const checked = await soaCheck(a, peer, target, ours);
  if ("failed" in checked) return checked;
  const { soa, order } = checked;
  const force = a.request?.force === "axfr";
  if (order === "eq" && !force) return { done: { kind: "up-to-date", peer, soa } };
  if (order === "regressed") return { regressed: { detail: checked.detail, soa } };

  // 2. IXFR when we hold a zone and the serial moved forwards; any failure falls back to AXFR.
  const incremental = ours !== null && order === "gt" && !force;
  announceTransfer(a, peer, soa.serial, incremental ? "ixfr" : "axfr");
  let fellBack: string | undefined;
  if (incremental) {
    const ixfr = await ixfrTry(a, peer, target, soa, ours);
    if ("done" in ixfr) return ixfr;
    if (a.signal.aborted) return { stop: true, soa };
    fellBack = ixfr.fellBack;
  }

  // 3. AXFR.
  const axfr = await axfrTry(a, peer, target, soa, fellBack);
  return "done" in axfr ? axfr : { failed: axfr.failed, soa };
}

/**
 * Bootstrap: AXFR with no SOA query before it (see `refresh`). The SOA the outcome carries (timers, the
 * primary's serial) is the transfer's own; the transfer log holds the AXFR entry alone.
 */
async function bootstrapTry(a: Attempt, peer: string, target: PrimaryTarget): Promise<PrimaryStep> {
  announceTransfer(a, peer, null, "axfr");
  const axfr = await axfrTry(a, peer, target, null, undefined);
  if ("done" in axfr) a.zone.backoff.succeed(peer);
  return axfr;
}

/**
 * The SOA check: the query (the one started beside the lease, when it went to this primary), its log
 * entry, and the primary's serial against ours. A serial that went backwards is "regressed" unless the
 * request accepts a lower serial.
 */
async function soaCheck(
  a: Attempt,
  peer: string,
  target: PrimaryTarget,
  ours: number | null,
): Promise<{ failed: string } | { soa: SoaAnswer; order: "eq" | "gt" | "lt" | "undefined" } | { soa: SoaAnswer; order: "regressed"; detail: string }> {
  const started = a.early?.peer === peer ? a.early : undefined;
  a.early = undefined;
  const soaStarted = started?.startedAt ?? a.now();
  let soa: SoaAnswer;
  try {
    soa = await (started?.answer ?? querySoa(a.zone.name, target, { ...a.deps.settings.soa, now: a.deps.tsigNow ?? a.deps.now }));
  } catch (err) {
    const why = describeError(err);
    await a.transferLog.write("soa", peer, ours, null, soaStarted, "error", why);
    a.zone.backoff.fail(peer, a.now(), why);
    return { failed: why };
  }
  const order = ours === null ? "gt" : Serial.of(soa.serial).compare(ours);
  const force = a.request?.force === "axfr";
  const acceptLower = a.request?.acceptLowerSerial === true;

  if (order === "eq" && !force) {
    await a.transferLog.write("soa", peer, ours, soa.serial, soaStarted, "up-to-date");
    a.zone.backoff.succeed(peer);
    return { soa, order };
  }
  if ((order === "lt" || order === "undefined") && !acceptLower) {
    const detail =
      `${peer} serves serial ${soa.serial}, ${order === "lt" ? "older than" : "incomparable with (RFC 1982: 2^31 apart)"} ` +
      `our serial ${ours}; keeping ours. If the primary's zone is right, refresh with ` +
      `{"force":"axfr","acceptLowerSerial":true}`;
    await a.transferLog.write("soa", peer, ours, soa.serial, soaStarted, "serial-regressed", detail);
    a.zone.backoff.succeed(peer);
    return { soa, order: "regressed", detail };
  }
  // The entry is written beside the transfer: the ingest session need not wait for it (~40 ms of D1).
  void a.transferLog.write("soa", peer, ours, soa.serial, soaStarted, "ok");
  a.zone.backoff.succeed(peer);
  return { soa, order };
}

/** IXFR from our serial (RFC 1995 §3); a failure of any kind is returned for the AXFR that follows. */
async function ixfrTry(a: Attempt, peer: string, target: PrimaryTarget, soa: SoaAnswer, ours: number): Promise<{ done: RefreshOutcome } | { fellBack: string }> {
  const ourSoa = withSerial(soa.record, ours);
  try {
    const result = await transferInto(a, "ixfr", target, peer, soa.serial, ourSoa);
    if (result.style === "up-to-date") return { done: { kind: "up-to-date", peer, soa } };
    return { done: { kind: "transferred", peer, soa, result, via: result.style === "axfr" ? "axfr" : "ixfr" } };
  } catch (err) {
    const fellBack = describeError(err);
    if (!a.signal.aborted) a.deps.log.info({ zone: a.zone.config.name, peer, reason: fellBack }, "IXFR failed; falling back to AXFR");
    return { fellBack };
  }
}

/** AXFR (RFC 5936), after the primary's SOA (null: a bootstrap, which asked none); a failure puts the primary in backoff. */
async function axfrTry(a: Attempt, peer: string, target: PrimaryTarget, soa: SoaAnswer | null, fellBack: string | undefined): Promise<{ done: RefreshOutcome } | { failed: string }> {
  try {
    const result = await transferInto(a, "axfr", target, peer, soa?.serial ?? null, undefined);
    return { done: { kind: "transferred", peer, soa: soa ?? transferredSoa(result, peer), result, via: "axfr", fellBack } };
  } catch (err) {
    const why = describeError(err);
    a.zone.backoff.fail(peer, a.now(), why);
    return { failed: fellBack ? `${why} (after IXFR failed: ${fellBack})` : why };
  }
}

/**
 * Reports `refreshing` for the transfer about to start, once per attempt, when it still runs after
 * `ANNOUNCE_AFTER_MS`, without holding the transfer up: the call runs beside it and never throws (a lost
 * report only means the status lags).
 */
function announceTransfer(a: Attempt, peer: string, serial: number | null, kind: "ixfr" | "axfr"): void {
  if (a.announcing || a.announceTimer) return;
  const { serial: ours, expiresAt, name } = a.zone.config;
  const now = a.now();
  const before =
    expiresAt !== null && now > expiresAt
      ? `the zone expired at ${new Date(expiresAt).toISOString()}; answers are SERVFAIL until this transfer commits`
      : ours === null
        ? "nothing served yet"
        : `serial ${ours} is served meanwhile`;
  const what = serial === null ? "the zone" : `serial ${serial}`;
  const detail = `transferring ${what} from ${peer} by ${kind.toUpperCase()} (${before})`;
  a.announceTimer = setTimeout(() => {
    a.announcing = a.deps.worker
      .reportRefreshing(name, a.deps.settings.instanceId, detail)
      .catch((err: unknown) => a.deps.log.warn({ zone: name, reason: (err as Error).message }, "could not report the transfer's start"));
  }, ANNOUNCE_AFTER_MS);
}

/**
 * Runs one transfer into an ingest session and commits it; aborts the session on any failure. `serial`: the
 * primary's, from its SOA answer; null for a bootstrap, which learns it from the transfer.
 */
async function transferInto(
  a: Attempt,
  kind: "ixfr" | "axfr",
  target: PrimaryTarget,
  peer: string,
  serial: number | null,
  ourSoa: ResourceRecord | undefined,
): Promise<XfrResult> {
  const { worker, settings, metrics, log } = a.deps;
  const zone = a.zone.config.name;
  const started = a.now();
  const ours = a.zone.config.serial;
  let session;
  try {
    // A bootstrap's 0 is a placeholder: a full transfer's session takes the serial from its first SOA.
    session = await worker.beginIngest(zone, settings.instanceId, kind, serial ?? 0, { maxDbBytes: settings.xfr.d1MaxBytes || undefined });
    log.debug({ zone, kind, serial }, "ingest session open");
    // Issue 27: the replica packs the version from the stream this transfer stores (nothing without a replica).
    session = tapIngest(settings.instanceId, zone, a.zone.name, session);
  } catch (err) {
    const e = new TransferError("sink", `the Worker refused to start storing a new version: ${(err as Error).message}`, { cause: err });
    await a.transferLog.write(kind, peer, ours, serial, started, "error", e.message);
    throw e;
  }
  let result: XfrResult;
  // The IXFR read beside the lease from this primary, for the serial its SOA answer named: replayed, not asked again.
  const early = kind === "ixfr" && a.earlyIxfr?.peer === peer ? a.earlyIxfr : undefined;
  if (early) a.earlyIxfr = undefined;
  try {
    // Only for the same step: from the serial we hold now (another instance may have moved it) to the primary's.
    const reply = early ? await early.done : undefined;
    const recorded = reply !== undefined && reply.from === ours ? reply : undefined;
    // The IXFR beside the lease failed (refused, a single newer SOA, a broken reply): that is this IXFR's failure.
    if (recorded !== undefined && recorded.serial === serial && "error" in recorded) throw recorded.error;
    const fromPrimary = (): Promise<XfrResult> =>
      transfer({
        kind,
        zone: a.zone.name,
        primary: target,
        currentSoa: ourSoa,
        sink: guardStoreSize(session!, settings.xfr.d1MaxBytes ?? 0, zone),
        limits: zoneLimits(a.zone.config, settings.xfr),
        now: a.deps.tsigNow ?? a.deps.now,
        signal: a.signal,
        spoolDir: settings.xfr.spoolDir,
      });
    if (recorded !== undefined && recorded.serial === serial && "replay" in recorded) {
      log.debug({ zone, peer, serial }, "the IXFR read beside the lease, replayed into the store");
      await recorded.replay(guardStoreSize(session, settings.xfr.d1MaxBytes ?? 0, zone));
      result = recorded.result;
    } else {
      // The primary's transfer slot covers the stream from it, not a small zone's store after it.
      const perPrimary = a.deps.primaryTransfers;
      result = await (perPrimary ? perPrimary.run(peer, fromPrimary, a.signal) : fromPrimary());
    }
    if (result.style === "up-to-date") {
      await session.abort("the primary sent a single SOA: up to date");
    } else {
      log.debug({ zone, kind, records: result.records }, "transfer received; committing");
      try {
        const committed = await session.commit();
        if (committed.d1Rows) {
          metrics?.ixfrD1Rows.inc({ direction: "read" }, committed.d1Rows.read);
          metrics?.ixfrD1Rows.inc({ direction: "written" }, committed.d1Rows.written);
        }
        // Issue 28: the changed nodes from the replica (no block read by the Worker), or the Worker's own reads.
        if (committed.nodes) metrics?.ixfrNodes.inc({ path: committed.nodes });
        if (committed.nodesRefused) log.warn({ zone, reason: committed.nodesRefused }, "the Worker refused the changed nodes from the replica; the changesets went alone");
        log.debug({ zone, serial: result.serial, d1Rows: committed.d1Rows, nodes: committed.nodes }, "version committed");
      } catch (err) {
        throw new TransferError("sink", `the Worker did not commit the new version: ${(err as Error).message}`, { cause: err });
      }
    }
  } catch (err) {
    await session.abort(describeError(err)).catch(() => undefined);
    await a.transferLog.write(kind, peer, ours, serial, started, "error", describeError(err));
    throw err;
  }
  // RFC 1995 §4: a primary may answer an IXFR with the whole zone (nsd does); log what was received,
  // so the transfer log agrees with the zone's status ("by AXFR").
  const received: TransferKind = result.style === "axfr" ? "axfr" : kind;
  metrics?.transferBytes.inc({ kind: received }, result.bytes);
  metrics?.transferRecords.inc({ kind: received }, result.records);
  await a.transferLog.write(received, peer, ours, result.serial, started, result.style === "up-to-date" ? "up-to-date" : "ok", undefined, result);
  return result;
}

/**
 * The limits of one transfer of `zone`: its own `maxRecords` / `maxBytes` where set (the API's per-zone
 * limits), the service's defaults elsewhere, and the errors say whose limit was passed.
 */
export function zoneLimits(zone: Pick<ZoneConfig, "limits" | "recordCount" | "serial">, defaults: XfrLimits): XfrLimits {
  const own = zone.limits;
  const records = own?.maxRecords ?? null;
  const bytes = own?.maxBytes ?? null;
  return {
    ...defaults,
    // An IXFR's result is the served zone plus its changes: the limit applies to that sum.
    currentRecords: zone.serial !== null ? zone.recordCount : undefined,
    maxRecords: records ?? defaults.maxRecords,
    maxBytes: bytes ?? defaults.maxBytes,
    whose: {
      records: records !== null ? "this zone's limit" : "the service's limit (BACKSTOP_XFR_MAX_RECORDS)",
      bytes: bytes !== null ? "this zone's limit" : "the service's limit (BACKSTOP_XFR_MAX_BYTES)",
    },
  };
}

function primariesByPeer(primaries: readonly PrimaryConfig[]): Map<string, PrimaryConfig> {
  return new Map(primaries.map((p) => [describePeer(p.address, p.port), p]));
}

/** The key for transfers from `primary`: its own, else the zone's; undefined when none is named. */
function keyFor(zone: RefreshZone, primary: PrimaryConfig): TsigKey | undefined {
  const name = primary.tsigKey ?? zone.config.tsigKey ?? null;
  if (name === null) return undefined;
  const wanted = Name.parseAbsolute(name);
  return zone.keys.find((k) => k.name.equals(wanted));
}

/** A bootstrap's SOA answer, read from the zone it transferred (TCP: it came with the AXFR). */
function transferredSoa(result: XfrResult, peer: string): SoaAnswer {
  return { ...soaFields(result.soa, peer), record: result.soa, transport: "tcp", expireOption: result.expireOption };
}

/** An SOA record with its serial replaced: what we send as "our version" in an IXFR (RFC 1995 §3). */
export function withSerial(soa: ResourceRecord, serial: number): ResourceRecord {
  return { ...soa, rdata: withSoaSerial(soa.rdata, serial) };
}

function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
