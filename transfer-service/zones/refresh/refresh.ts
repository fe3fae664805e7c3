/**
 * @module The per-zone refresh state machine (RFC 1034 §4.3.5, RFC 1995, RFC 1996, RFC 5936), and the
 * `Refresher` that keeps one per zone in step with the Worker's configuration.
 *
 * ```
 *   refresh timer ─┐  NOTIFY (= refresh timer expired, RFC 1996 §3.11) ─┐  control signal / poll ─┐
 *                  ▼                                                    ▼                         ▼
 *             ┌──────────────────────── Coalescer: one run, at most one queued re-check ──────────────┐
 *             ▼                                                                                       │
 *      acquire lease (D1) ── held by another instance ──► wait for its report (poll) ─────────────────┤
 *             │   (the first primary's SOA query is already on its way: it needs no lease)            │
 *             ▼   primaries in order, those in backoff last-resort only                               │
 *      ┌─► SOA query (UDP, TCP on TC, TSIG) ── timeout/error/TSIG ──► backoff this primary ──► next ─┐ │
 *      │      │                                                                                    │ │
 *      │      ├─ serial == ours ──────────────► UP TO DATE: expire reset, next at REFRESH ───────────┼─┤
 *      │      ├─ serial older/undefined ──────► regressed (unless acceptLowerSerial) ──► next ───────┤ │
 *      │      ▼ serial newer, or no zone yet, or force AXFR                                          │ │
 *      │    status REFRESHING reported (one call, beside the transfer)                               │ │
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
 *                                      report → D1 (status in words, timers, expiresAt), release lease
 * ```
 *
 * Rules the diagram implies:
 * - Timers come from the SOA, clamped (soa-timers.ts). The expire time is reset on every successful SOA
 *   check, not only after transfers, and stored in D1 (`expiresAt`), so expiry holds when we are down.
 * - A failed NOTIFY-triggered refresh is retried at RETRY like any failed refresh (RFC 1996 §3.11 plus
 *   RFC 1034's retry).
 * - A serial that went backwards (RFC 1982 "lt" or "undefined") is not taken: BIND moves on to the next
 *   primary, and so do we; the zone's status says what happened and how to accept it.
 * - Every attempt (SOA, IXFR, AXFR) goes into the transfer log with its primary, serials, size, time and
 *   error in words. The writes keep their order but do not hold the transfer up; the final report waits
 *   for them.
 * - While a transfer runs the zone's status is `refreshing` (reported once, when the first transfer of the
 *   attempt starts; an SOA check alone does not change it). The final report replaces it, and lands after
 *   it. The Worker shows `refreshing` only while the refresh lease is live, so an instance that dies
 *   mid-transfer leaves no zone showing it for longer than the lease TTL.
 */
import { Name } from "../../../dns/name.ts";
import type { ResourceRecord } from "../../../dns/message.ts";
import { withSoaSerial } from "../../../dns/rdata/soa.ts";
import { Serial } from "../../../dns/serial.ts";
import type { HmacProvider } from "../../../dns/tsig/hmac.ts";
import { prepareTsigKey, type TsigKey } from "../../../dns/tsig/key.ts";
import type { Clock } from "../../../dns/tsig/time.ts";
import { Backoff } from "./backoff.ts";
import { Coalescer } from "../coalesce.ts";
import type { Config } from "../../config.ts";
import type { RefreshSignal } from "../../ops/control-http.ts";
import { Limiter } from "../limiter.ts";
import type { Logger } from "../../ops/log.ts";
import type { Metrics } from "../../ops/metrics.ts";
import { buildNotifyAcl, type NotifyAcl } from "../notify-acl.ts";
import type { NotifyZone } from "../../server/notify-in.ts";
import type { ZoneSet } from "../../service.ts";
import { effectiveTimers, zoneClamps, type EffectiveTimers } from "./soa-timers.ts";
import { querySoa, type PrimaryTarget, type SoaAnswer } from "../../remote/soa-query.ts";
import { describePeer, TransferError } from "../../remote/transfer-error.ts";
import type { TransferKind, TransferLogEntry, WorkerApi, ZoneConfig, ZoneReport, ZoneStatus } from "../../worker/worker-api.ts";
import { transfer, type XfrResult } from "../../remote/xfr-in.ts";

/** The slice of `Config` the refresh machinery uses. */
export type RefreshSettings = Pick<Config, "instanceId" | "soa" | "xfr" | "clamps" | "backoff" | "leaseTtlMs" | "pollIntervalMs">;

export interface RefreshDeps {
  worker: WorkerApi;
  settings: RefreshSettings;
  log: Logger;
  metrics?: Metrics;
  hmac: HmacProvider;
  /** Wall clock for timers and TSIG (tests inject a skewed one for TSIG). */
  now?: Clock;
  /** The clock TSIG uses; defaults to `now`. */
  tsigNow?: Clock;
}

/** How one refresh ended. */
type Outcome =
  | { kind: "up-to-date"; peer: string; soa: SoaAnswer }
  | { kind: "transferred"; peer: string; soa: SoaAnswer; result: XfrResult; via: "ixfr" | "axfr"; fellBack?: string }
  | { kind: "regressed"; detail: string; soa: SoaAnswer }
  | { kind: "failed"; detail: string; soa?: SoaAnswer }
  | { kind: "lease-busy" };

interface PendingRequest {
  requestedAt: number | null;
  force: "axfr" | null;
  acceptLowerSerial: boolean;
}

/** An SOA query started before the lease was held (`ZoneRefresher.earlySoa`). */
interface EarlySoa {
  peer: string;
  startedAt: number;
  answer: Promise<SoaAnswer>;
}

/**
 * A zone we hold no data for yet is retried sooner than RETRY after a failure, on an interval that doubles
 * from this one up to RETRY (as Knot bootstraps a zone): the clamped RETRY (BIND's min-retry-time, 500 s)
 * would otherwise leave a newly added zone unserved for minutes after one failed first contact, while a
 * zone with data keeps serving and can afford the SOA's RETRY.
 */
export const BOOTSTRAP_RETRY_FIRST_MS = 5_000;

/** Longest single setTimeout we arm; a later deadline is re-armed when this one fires. */
const MAX_TIMER_MS = 6 * 3600 * 1000;

/** One zone's refresh machine. */
export class ZoneRefresher implements NotifyZone {
  readonly name: Name;
  config: ZoneConfig;
  acl: NotifyAcl;
  keys: TsigKey[] = [];
  private keyFingerprint = "";
  private readonly backoff: Backoff;
  private readonly coalescer: Coalescer;
  private timer: NodeJS.Timeout | undefined;
  private dueAt: number | null = null;
  private pending: PendingRequest | null = null;
  private lastRequestSeen: number | null = null;
  /** The last SOA timers seen, for scheduling after a failure. */
  private timers: EffectiveTimers | null = null;
  /** Failed attempts in a row while we hold no data (`BOOTSTRAP_RETRY_FIRST_MS`). */
  private bootstrapFailures = 0;
  private stopped = false;
  /**
   * Our last report did not reach the Worker (it was down or unreachable): what D1 holds is older than
   * what we know, so the poll's stored deadline is not adopted, and the request that attempt served is
   * kept for the next one, until a report lands.
   */
  private reportOwed = false;
  /** The attempt's `refreshing` report in flight; awaited before the attempt's final report. */
  private announcing: Promise<void> | undefined;
  /** The transfer-log writes in flight, chained in order (`logAttempt`); never rejects. */
  private logging: Promise<void> = Promise.resolve();
  /** Time of the last successful check, for metrics. */
  lastCheckAt: number | null;

  constructor(
    config: ZoneConfig,
    private readonly deps: RefreshDeps,
    private readonly limiter: Limiter,
    private readonly abort: AbortSignal,
  ) {
    this.name = Name.parseAbsolute(config.name);
    this.config = config;
    this.acl = buildNotifyAcl(config.primaries, config.notifyAllow);
    this.backoff = new Backoff(deps.settings.backoff.baseMs, deps.settings.backoff.maxMs);
    this.coalescer = new Coalescer(() => this.run());
    this.lastCheckAt = config.lastCheckAt;
  }

  private get now(): number {
    return (this.deps.now ?? Date.now)();
  }

  private get log(): Logger {
    return this.deps.log;
  }

  /** Takes a configuration from the Worker (first load or a poll). */
  async update(config: ZoneConfig): Promise<void> {
    const fingerprint = JSON.stringify(config.keys);
    if (fingerprint !== this.keyFingerprint) {
      const keys: TsigKey[] = [];
      for (const k of config.keys) {
        try {
          keys.push(await prepareTsigKey(k, this.deps.hmac));
        } catch (err) {
          this.log.error({ zone: config.name, key: k.name, reason: (err as Error).message }, "unusable TSIG key");
        }
      }
      this.keys = keys;
      this.keyFingerprint = fingerprint;
    }
    this.acl = buildNotifyAcl(config.primaries, config.notifyAllow);
    if (this.acl.invalid.length > 0) this.log.warn({ zone: config.name, invalid: this.acl.invalid }, "ignoring NOTIFY ACL entries that are not addresses or prefixes");
    const first = this.lastRequestSeen === null && this.dueAt === null && !this.coalescer.busy;
    this.config = config;
    if (!this.coalescer.busy) this.lastCheckAt = config.lastCheckAt;

    if (config.refreshRequestedAt !== null && config.refreshRequestedAt !== this.lastRequestSeen) {
      this.lastRequestSeen = config.refreshRequestedAt;
      this.pending = { requestedAt: config.refreshRequestedAt, force: config.refreshForce, acceptLowerSerial: config.refreshAcceptLowerSerial };
      this.coalescer.trigger();
      return;
    }
    // Adopt a later deadline (another instance refreshed the zone), never an earlier one: an earlier
    // stored value is a read from before our own last report, and refresh requests come as signals.
    // While a report is owed, the stored deadline is the one before it (a refresh away, not a retry).
    const next = config.nextRefreshAt ?? this.now;
    if (first || (!this.coalescer.busy && !this.reportOwed && (this.dueAt === null || next > this.dueAt))) this.schedule(next);
  }

  /** RFC 1996 §3.11: a NOTIFY means the refresh timer has expired. The hint is logged, never trusted. */
  notified(source: string, serialHint: number | undefined): void {
    this.log.debug({ zone: this.config.name, source, serialHint }, "refresh on NOTIFY");
    this.coalescer.trigger();
  }

  /** A refresh pushed by the Worker (API refresh or webhook NOTIFY). */
  signal(signal: RefreshSignal): void {
    this.log.debug({ zone: this.config.name, requestedAt: signal.requestedAt, busy: this.coalescer.busy }, "refresh on control signal");
    if (signal.requestedAt !== undefined || signal.force || signal.acceptLowerSerial) {
      this.pending = {
        requestedAt: signal.requestedAt ?? this.config.refreshRequestedAt,
        force: signal.force ?? null,
        acceptLowerSerial: signal.acceptLowerSerial,
      };
      // The poll will show the same request until it is acknowledged: do not run it twice.
      if (signal.requestedAt !== undefined) this.lastRequestSeen = signal.requestedAt;
    }
    this.coalescer.trigger();
  }

  /** Resolves when no refresh is running or queued. */
  idle(): Promise<void> {
    return this.coalescer.idle();
  }

  get busy(): boolean {
    return this.coalescer.busy;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(at: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.dueAt = at;
    const delay = Math.max(0, Math.min(at - this.now, MAX_TIMER_MS));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.dueAt !== null && this.dueAt > this.now) this.schedule(this.dueAt);
      else this.coalescer.trigger();
    }, delay);
  }

  /** One refresh: lease, primaries, report, schedule. Never throws. */
  private async run(): Promise<void> {
    if (this.stopped) return;
    const request = this.pending;
    this.pending = null;
    this.log.debug({ zone: this.config.name, requestedAt: request?.requestedAt ?? null }, "refresh run starts");
    let outcome: Outcome;
    try {
      outcome = await this.limiter.run(() => this.attempt(request));
    } catch (err) {
      outcome = { kind: "failed", detail: `internal error: ${(err as Error).message}` };
    }
    if (outcome.kind === "lease-busy") {
      // Another instance is refreshing; its report reaches us through the poll. Look again later.
      this.schedule(this.now + this.deps.settings.leaseTtlMs);
      return;
    }
    const report = this.reportFor(outcome, request);
    try {
      await this.deps.worker.report(this.config.name, this.deps.settings.instanceId, report);
      this.reportOwed = false;
      this.log.debug({ zone: this.config.name, status: report.status }, "final report stored");
    } catch (err) {
      this.log.error({ zone: this.config.name, reason: (err as Error).message }, "could not report the zone's state to the Worker");
      // The request stays unacknowledged in D1: serve it again with the next attempt (at RETRY).
      this.reportOwed = true;
      this.pending ??= request;
    }
    try {
      await this.deps.worker.releaseLease(this.config.name, this.deps.settings.instanceId);
    } catch (err) {
      this.log.warn({ zone: this.config.name, reason: (err as Error).message }, "could not release the refresh lease");
    }
    this.schedule(report.nextRefreshAt);
  }

  private reportFor(outcome: Exclude<Outcome, { kind: "lease-busy" }>, request: PendingRequest | null): ZoneReport {
    const now = this.now;
    const soa = outcome.soa;
    if (soa) this.timers = effectiveTimers(soa, zoneClamps(this.deps.settings.clamps, this.config.clamps));
    const retry = (this.timers?.retry ?? this.deps.settings.clamps.retry.min) * 1000;
    const soaTimers = soa ? { refresh: soa.refresh, retry: soa.retry, expire: soa.expire, minimum: soa.minimum } : null;
    const served = request?.requestedAt ?? null;
    switch (outcome.kind) {
      case "up-to-date":
      case "transferred": {
        const t = this.timers!;
        this.bootstrapFailures = 0;
        this.lastCheckAt = now;
        const expiresAt = now + t.expire * 1000;
        const serial = outcome.kind === "transferred" ? outcome.result.serial : this.config.serial;
        this.config = { ...this.config, serial, expiresAt, lastCheckAt: now, status: "active" };
        const detail =
          outcome.kind === "up-to-date"
            ? `up to date at serial ${soa!.serial} (checked with ${outcome.peer})`
            : `transferred serial ${outcome.result.serial} from ${outcome.peer} by ${outcome.via.toUpperCase()}` +
              ` (${outcome.result.records} records, ${outcome.result.bytes} octets, ${outcome.result.durationMs} ms)` +
              (outcome.fellBack ? `; IXFR failed first: ${outcome.fellBack}` : "");
        return {
          status: "active",
          statusDetail: detail,
          primarySerial: soa!.serial,
          soa: soaTimers,
          expiresAt,
          lastCheckAt: now,
          nextRefreshAt: now + t.refresh * 1000,
          servedRequestAt: served,
        };
      }
      case "regressed":
      case "failed": {
        const expired = this.config.expiresAt !== null && now > this.config.expiresAt;
        let status: ZoneStatus = outcome.kind === "regressed" ? "serial-regressed" : "failing";
        let detail = outcome.detail;
        if (expired) {
          status = "expired";
          detail = `expired at ${new Date(this.config.expiresAt!).toISOString()} with no successful check since; ${detail}`;
        } else if (this.config.serial === null && outcome.kind === "failed") {
          status = "pending";
          detail = `no transfer yet: ${detail}`;
        }
        let delay = retry;
        if (this.config.serial === null) {
          delay = Math.min(retry, BOOTSTRAP_RETRY_FIRST_MS * 2 ** Math.min(this.bootstrapFailures, 20));
          this.bootstrapFailures++;
        }
        this.config = { ...this.config, status };
        return {
          status,
          statusDetail: detail,
          primarySerial: soa?.serial ?? null,
          soa: soaTimers,
          expiresAt: null,
          lastCheckAt: null,
          nextRefreshAt: now + delay,
          servedRequestAt: served,
        };
      }
    }
  }

  private keyFor(primary: ZoneConfig["primaries"][number]): TsigKey | undefined {
    const name = primary.tsigKey ?? this.config.tsigKey ?? null;
    if (name === null) return undefined;
    const wanted = Name.parseAbsolute(name);
    return this.keys.find((k) => k.name.equals(wanted));
  }

  /**
   * The attempt under a lease: renewed every third of its TTL while the attempt runs (a 1M-record AXFR
   * outlasts any sensible TTL); if it is lost, the transfer in flight is stopped, since the Worker would
   * refuse its commit anyway.
   */
  private async attempt(request: PendingRequest | null): Promise<Outcome> {
    const { worker, settings } = this.deps;
    const zone = this.config.name;
    // The first primary's SOA query is a read that needs no lease: it runs beside the lease's D1 round
    // trip (which costs several times an SOA query on loopback), and is dropped if the lease is busy.
    const early = this.earlySoa();
    if (!(await worker.acquireLease(zone, settings.instanceId, settings.leaseTtlMs))) return { kind: "lease-busy" };
    this.log.debug({ zone }, "refresh lease acquired");
    const controller = new AbortController();
    const onServiceAbort = (): void => controller.abort(new Error("the service is shutting down"));
    this.abort.addEventListener("abort", onServiceAbort);
    const renew = setInterval(() => {
      worker.renewLease(zone, settings.instanceId, settings.leaseTtlMs).then(
        (held) => {
          if (!held) controller.abort(new Error("this instance lost the zone's refresh lease to another one"));
        },
        (err: unknown) => this.log.warn({ zone, reason: (err as Error).message }, "could not renew the refresh lease"),
      );
    }, Math.max(1000, settings.leaseTtlMs / 3));
    try {
      return await this.attemptUnderLease(request, controller.signal, early);
    } finally {
      clearInterval(renew);
      this.abort.removeEventListener("abort", onServiceAbort);
      // The final report must not be overtaken by the `refreshing` one, nor land before the attempt's log.
      await this.announcing;
      this.announcing = undefined;
      await this.logging;
    }
  }

  /**
   * Reports `refreshing` for the transfer about to start, once per attempt, without holding the transfer
   * up: the call runs beside it and never throws (a lost report only means the status lags).
   */
  private announce(peer: string, serial: number, kind: "ixfr" | "axfr"): void {
    if (this.announcing) return;
    const { serial: ours, expiresAt } = this.config;
    const now = this.now;
    const before =
      expiresAt !== null && now > expiresAt
        ? `the zone expired at ${new Date(expiresAt).toISOString()}; answers are SERVFAIL until this transfer commits`
        : ours === null
          ? "nothing served yet"
          : `serial ${ours} is served meanwhile`;
    const detail = `transferring serial ${serial} from ${peer} by ${kind.toUpperCase()} (${before})`;
    this.announcing = this.deps.worker
      .reportRefreshing(this.config.name, this.deps.settings.instanceId, detail)
      .catch((err: unknown) => this.log.warn({ zone: this.config.name, reason: (err as Error).message }, "could not report the transfer's start"));
  }

  /** The primary tried first and the SOA query to it, started now; undefined when none can be asked. */
  private earlySoa(): EarlySoa | undefined {
    const byPeer = new Map(this.config.primaries.map((p) => [describePeer(p.address, p.port), p]));
    const peer = this.backoff.order([...byPeer.keys()], this.now)[0];
    const primary = peer === undefined ? undefined : byPeer.get(peer);
    if (!primary || !peer) return undefined;
    const key = this.keyFor(primary);
    if ((primary.tsigKey ?? this.config.tsigKey) && !key) return undefined;
    const startedAt = this.now;
    const answer = querySoa(this.name, { address: primary.address, port: primary.port, key }, { ...this.deps.settings.soa, now: this.deps.tsigNow ?? this.deps.now });
    // Handled where it is used; unused (lease busy, order changed) its failure means nothing.
    answer.catch(() => undefined);
    return { peer, startedAt, answer };
  }

  /** The attempt proper: the diagram's middle. */
  private async attemptUnderLease(request: PendingRequest | null, signal: AbortSignal, early: EarlySoa | undefined): Promise<Outcome> {
    const { settings } = this.deps;
    const zone = this.config.name;
    const primaries = this.config.primaries;
    if (primaries.length === 0) return { kind: "failed", detail: "the zone has no primaries configured" };
    const byPeer = new Map(primaries.map((p) => [describePeer(p.address, p.port), p]));
    const failures: string[] = [];
    let regressed: { detail: string; soa: SoaAnswer } | undefined;
    let lastSoa: SoaAnswer | undefined;

    for (const peer of this.backoff.order([...byPeer.keys()], this.now)) {
      if (signal.aborted) break;
      const primary = byPeer.get(peer)!;
      const key = this.keyFor(primary);
      if ((primary.tsigKey ?? this.config.tsigKey) && !key) {
        failures.push(`${peer}: TSIG key "${primary.tsigKey ?? this.config.tsigKey}" is not configured or unusable`);
        continue;
      }
      const target: PrimaryTarget = { address: primary.address, port: primary.port, key };
      const ours = this.config.serial;

      // 1. SOA query (the one started beside the lease, when it went to this primary).
      const started = early?.peer === peer ? early : undefined;
      early = undefined;
      const soaStarted = started?.startedAt ?? this.now;
      let soa: SoaAnswer;
      try {
        soa = await (started?.answer ?? querySoa(this.name, target, { ...settings.soa, now: this.deps.tsigNow ?? this.deps.now }));
      } catch (err) {
        const why = describeError(err);
        await this.logAttempt("soa", peer, ours, null, soaStarted, "error", why);
        this.backoff.fail(peer, this.now, why);
        failures.push(why);
        continue;
      }
      lastSoa = soa;
      const order = ours === null ? "gt" : Serial.of(soa.serial).compare(ours);
      const force = request?.force === "axfr";
      const acceptLower = request?.acceptLowerSerial === true;

      if (order === "eq" && !force) {
        await this.logAttempt("soa", peer, ours, soa.serial, soaStarted, "up-to-date");
        this.backoff.succeed(peer);
        return { kind: "up-to-date", peer, soa };
      }
      if ((order === "lt" || order === "undefined") && !acceptLower) {
        const detail =
          `${peer} serves serial ${soa.serial}, ${order === "lt" ? "older than" : "incomparable with (RFC 1982: 2^31 apart)"} ` +
          `our serial ${ours}; keeping ours. If the primary's zone is right, refresh with ` +
          `{"force":"axfr","acceptLowerSerial":true}`;
        await this.logAttempt("soa", peer, ours, soa.serial, soaStarted, "serial-regressed", detail);
        this.backoff.succeed(peer);
        regressed ??= { detail, soa };
        continue;
      }
      // The entry is written beside the transfer: the ingest session need not wait for it (~40 ms of D1).
      void this.logAttempt("soa", peer, ours, soa.serial, soaStarted, "ok");
      this.backoff.succeed(peer);

      // 2. IXFR when we hold a zone and the serial moved forwards; any failure falls back to AXFR.
      let fellBack: string | undefined;
      this.announce(peer, soa.serial, ours !== null && order === "gt" && !force ? "ixfr" : "axfr");
      if (ours !== null && order === "gt" && !force) {
        const ourSoa = withSerial(soa.record, ours);
        try {
          const result = await this.transferInto("ixfr", target, peer, soa, ourSoa, signal);
          if (result.style === "up-to-date") return { kind: "up-to-date", peer, soa };
          return { kind: "transferred", peer, soa, result, via: result.style === "axfr" ? "axfr" : "ixfr" };
        } catch (err) {
          if (signal.aborted) break;
          fellBack = describeError(err);
          this.log.info({ zone, peer, reason: fellBack }, "IXFR failed; falling back to AXFR");
        }
      }

      // 3. AXFR.
      try {
        const result = await this.transferInto("axfr", target, peer, soa, undefined, signal);
        return { kind: "transferred", peer, soa, result, via: "axfr", fellBack };
      } catch (err) {
        const why = describeError(err);
        this.backoff.fail(peer, this.now, why);
        failures.push(fellBack ? `${why} (after IXFR failed: ${fellBack})` : why);
      }
    }
    if (regressed && failures.length === 0) return { kind: "regressed", ...regressed };
    if (regressed) return { kind: "regressed", detail: `${regressed.detail}; other primaries: ${failures.join("; ")}`, soa: regressed.soa };
    if (signal.aborted) {
      const why = signal.reason instanceof Error ? signal.reason.message : "stopped";
      return { kind: "failed", detail: failures.length ? `${why}; ${failures.join("; ")}` : why, soa: lastSoa };
    }
    return { kind: "failed", detail: failures.join("; ") || "no primary could be tried", soa: lastSoa };
  }

  /** Runs one transfer into an ingest session and commits it; aborts the session on any failure. */
  private async transferInto(
    kind: "ixfr" | "axfr",
    target: PrimaryTarget,
    peer: string,
    soa: SoaAnswer,
    ourSoa: ResourceRecord | undefined,
    signal: AbortSignal,
  ): Promise<XfrResult> {
    const { worker, settings, metrics } = this.deps;
    const started = this.now;
    const ours = this.config.serial;
    let session;
    try {
      session = await worker.beginIngest(this.config.name, settings.instanceId, kind, soa.serial);
      this.log.debug({ zone: this.config.name, kind, serial: soa.serial }, "ingest session open");
    } catch (err) {
      const e = new TransferError("sink", `the Worker refused to start storing a new version: ${(err as Error).message}`, { cause: err });
      await this.logAttempt(kind, peer, ours, soa.serial, started, "error", e.message);
      throw e;
    }
    let result: XfrResult;
    try {
      result = await transfer({
        kind,
        zone: this.name,
        primary: target,
        currentSoa: ourSoa,
        sink: session,
        limits: settings.xfr,
        now: this.deps.tsigNow ?? this.deps.now,
        signal,
        spoolDir: settings.xfr.spoolDir,
      });
      if (result.style === "up-to-date") {
        await session.abort("the primary sent a single SOA: up to date");
      } else {
        this.log.debug({ zone: this.config.name, kind, records: result.records }, "transfer received; committing");
        try {
          await session.commit();
          this.log.debug({ zone: this.config.name, serial: result.serial }, "version committed");
        } catch (err) {
          throw new TransferError("sink", `the Worker did not commit the new version: ${(err as Error).message}`, { cause: err });
        }
      }
    } catch (err) {
      await session.abort(describeError(err)).catch(() => undefined);
      await this.logAttempt(kind, peer, ours, soa.serial, started, "error", describeError(err));
      throw err;
    }
    // RFC 1995 §4: a primary may answer an IXFR with the whole zone (nsd does); log what was received,
    // so the transfer log agrees with the zone's status ("by AXFR").
    const received: TransferKind = result.style === "axfr" ? "axfr" : kind;
    metrics?.transferBytes.inc({ kind: received }, result.bytes);
    metrics?.transferRecords.inc({ kind: received }, result.records);
    await this.logAttempt(received, peer, ours, result.serial, started, result.style === "up-to-date" ? "up-to-date" : "ok", undefined, result);
    return result;
  }

  /**
   * Writes one transfer-log entry. Entries are written one after another in the order they were made (a
   * chain), so a caller may leave one running beside the next step (the SOA check's entry beside the
   * transfer) and the log still reads in order; the attempt waits for the chain before it ends.
   */
  private logAttempt(
    kind: TransferKind,
    peer: string,
    before: number | null,
    after: number | null,
    startedAt: number,
    result: TransferLogEntry["result"],
    error?: string,
    xfr?: XfrResult,
  ): Promise<void> {
    const durationMs = this.now - startedAt;
    const metrics = this.deps.metrics;
    const label = result;
    metrics?.transfers.inc({ kind, result: label });
    metrics?.transferDuration.observe({ kind, result: label }, durationMs / 1000);
    const entry = {
      zone: this.config.name,
      primary: peer,
      kind,
      serialBefore: before,
      serialAfter: after,
      records: xfr?.records ?? 0,
      bytes: xfr?.bytes ?? 0,
      durationMs,
      result,
      instance: this.deps.settings.instanceId,
      startedAt,
      ...(error !== undefined ? { error } : {}),
    };
    (result === "ok" || result === "up-to-date" ? this.log.info : this.log.warn).call(this.log, entry, `${kind} ${result}`);
    this.logging = this.logging.then(() =>
      this.deps.worker.logTransfer(entry).catch((err: unknown) => {
        this.log.warn({ zone: this.config.name, reason: (err as Error).message }, "could not write the transfer log");
      }),
    );
    return this.logging;
  }
}

/** An SOA record with its serial replaced: what we send as "our version" in an IXFR (RFC 1995 §3). */
export function withSerial(soa: ResourceRecord, serial: number): ResourceRecord {
  return { ...soa, rdata: withSoaSerial(soa.rdata, serial) };
}

function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Every zone of the Worker, each with its refresh machine; the service's `ZoneSet`. */
export class Refresher implements ZoneSet {
  private readonly zones = new Map<string, ZoneRefresher>();
  private readonly limiter: Limiter;
  private readonly abortController = new AbortController();
  private pollTimer: NodeJS.Timeout | undefined;
  /**
   * Reads of the Worker's zones, coalesced: a poll asked for while one is in flight queues one more read
   * after it, because the read in flight may predate the zone a control signal announces (sharing it
   * left a new zone waiting a whole poll interval).
   */
  private readonly poller = new Coalescer(() => this.pollOnce());

  constructor(private readonly deps: RefreshDeps) {
    this.limiter = new Limiter(deps.settings.xfr.maxConcurrent);
  }

  find(name: Name): ZoneRefresher | undefined {
    return this.zones.get(name.key);
  }

  /** The refresher of `zone` (by its configured name). */
  get(zone: string): ZoneRefresher | undefined {
    return this.zones.get(Name.parseAbsolute(zone).key);
  }

  signal(signal: RefreshSignal): boolean {
    let name: Name;
    try {
      name = Name.parseAbsolute(signal.zone);
    } catch {
      return false;
    }
    const z = this.zones.get(name.key);
    if (!z) {
      // A zone created a moment ago: pick it up now rather than at the next poll.
      void this.poll();
      return false;
    }
    z.signal(signal);
    return true;
  }

  async start(): Promise<void> {
    await this.poll();
    this.pollTimer = setInterval(() => void this.poll(), this.deps.settings.pollIntervalMs);
    this.pollTimer.unref();
  }

  /**
   * Reads the zones from the Worker and brings the machines in line. Resolves once a read that started
   * after this call has finished; concurrent calls share that one read.
   */
  poll(): Promise<void> {
    this.poller.trigger();
    return this.poller.idle();
  }

  private async pollOnce(): Promise<void> {
    if (this.abortController.signal.aborted) return;
    let configs: ZoneConfig[];
    try {
      configs = await this.deps.worker.zones();
      this.deps.log.debug({ zones: configs.length }, "zone configuration read");
    } catch (err) {
      this.deps.log.warn({ reason: (err as Error).message }, "cannot read zones from the Worker; keeping the last known set");
      return;
    }
    const seen = new Set<string>();
    for (const config of configs) {
      if (config.model === "primary") continue;
      let name: Name;
      try {
        name = Name.parseAbsolute(config.name);
      } catch {
        this.deps.log.error({ zone: config.name }, "zone name from the Worker is not a domain name");
        continue;
      }
      seen.add(name.key);
      let z = this.zones.get(name.key);
      if (!z) {
        z = new ZoneRefresher(config, { ...this.deps, log: this.deps.log.child({ zone: config.name }) }, this.limiter, this.abortController.signal);
        this.zones.set(name.key, z);
      }
      await z.update(config);
    }
    for (const [key, z] of this.zones) {
      if (!seen.has(key)) {
        z.stop();
        this.zones.delete(key);
      }
    }
  }

  /** Resolves when every zone is idle (for tests). */
  async idle(): Promise<void> {
    await Promise.all([...this.zones.values()].map((z) => z.idle()));
  }

  async stop(): Promise<void> {
    if (this.pollTimer) clearInterval(this.pollTimer);
    for (const z of this.zones.values()) z.stop();
    this.abortController.abort();
    await this.poller.idle();
    await this.idle();
  }

  *zoneStates(): Iterable<{ zone: string; serial: number | null; lastCheckAt: number | null }> {
    for (const z of this.zones.values()) yield { zone: z.config.name, serial: z.config.serial, lastCheckAt: z.lastCheckAt };
  }
}
