/**
 * @module One secondary zone of this instance: its configuration from the Worker (keys, NOTIFY ACL,
 * clamps), its events (zone-events.ts) and what it keeps between refreshes (per-primary backoff, SOA
 * timers, first-contact failures, the operator request not yet served). It is where Knot's "handlers
 * return, the zone replans" happens: the refresh event runs the handler (refresh/refresh.ts), turns its
 * outcome into a report (refresh/report.ts), stores it, releases the lease, and plans the next refresh and
 * the expire event from the report.
 *
 * What plans the refresh event:
 * - a NOTIFY (RFC 1996 §3.11: the refresh timer counts as expired) or a control signal: now;
 * - the poll: an operator's request it shows for the first time, now; otherwise the stored
 *   `nextRefreshAt`, when it is later than ours (another instance refreshed the zone) or the first we see;
 * - the last attempt's report: `nextRefreshAt` (REFRESH, RETRY, or the first-contact interval), or, when
 *   another instance held the lease, a lease TTL from now;
 * - an attempt cut off (the process killed, the host gone): the lease is held from an attempt's start until
 *   its final report, so a lease still stored when this instance first sees the zone means the last
 *   attempt never reported. Ours (the same `BACKSTOP_INSTANCE_ID`: we were restarted) or one that ran out
 *   (its holder stopped renewing): now. Another instance's live lease: when it runs out, unless that
 *   instance reports first. Until then the stored `nextRefreshAt` (a REFRESH away, from the report before
 *   the cut) is not adopted: it was what left the zone an hour old after a restart.
 *
 * Every attempt of a zone we hold data for waits for a slot of the serial-query rate (serial-query-rate.ts,
 * under the lease: see refresh.ts), so a restart with many zones due spreads its SOA queries; a zone with no
 * data is bootstrapped by AXFR at once, held by the limiter and the per-primary limit only.
 */
import { Name } from "../../dns/name.ts";
import { prepareTsigKey, type TsigKey } from "../../dns/tsig/key.ts";
import type { HmacProvider } from "../../dns/tsig/hmac.ts";
import type { RefreshSignal } from "../ops/control-http.ts";
import type { Logger } from "../ops/log.ts";
import type { ZoneConfig } from "../worker/worker-api.ts";
import type { Limiter, LimiterTicket } from "./limiter.ts";
import { notifyAclFor, type NotifyAcl } from "./notify-acl.ts";
import { Backoff } from "./refresh/backoff.ts";
import { releaseLease } from "./refresh/lease.ts";
import { attemptLog, refresh, type RefreshDeps, type RefreshOutcome, type RefreshRequest, type RefreshZone } from "./refresh/refresh.ts";
import { reportFor } from "./refresh/report.ts";
import { zoneClamps, type EffectiveTimers } from "./refresh/soa-timers.ts";
import type { TimerHeap } from "./timer-heap.ts";
import { ZoneEvents } from "./zone-events.ts";

/** What the NOTIFY receiver (server/notify-in.ts) needs of a zone. */
export interface NotifyZone {
  acl: NotifyAcl;
  /** Keys a NOTIFY for this zone may be signed with. */
  keys: readonly TsigKey[];
  /** Called for an accepted NOTIFY: schedule a refresh now. `serialHint` is the SOA serial it carried. */
  notified(source: string, serialHint: number | undefined): void;
}

export interface ZoneDeps extends RefreshDeps {
  hmac: HmacProvider;
}

/** The keys of a zone that names none: one array for all of them. */
const NO_KEYS: readonly TsigKey[] = Object.freeze([]);

/**
 * Issue 19 (memory per zone, measured by bench `zones` and `zone-memory.test.ts`): what a quiet
 * zone holds is its configuration and a few numbers. Its name is parsed when an attempt needs it, its NOTIFY
 * rules are shared with every zone naming the same primaries (`notifyAclFor`), its backoff holds nothing until
 * a primary fails, its timer is an entry of the set's one timer heap, and it logs through the set's logger
 * (every line names the zone) rather than a child logger of its own.
 */
export class Zone implements NotifyZone, RefreshZone {
  config: ZoneConfig;
  keys: readonly TsigKey[] = NO_KEYS;
  readonly backoff: Backoff;
  /** Time of the last successful check, for metrics. */
  lastCheckAt: number | null;
  /** Failed refresh attempts of this instance in a row, and the REFRESH and EXPIRE in force (issue 25's gauges). */
  consecutiveFailures = 0;
  get effectiveTimers(): EffectiveTimers | null {
    return this.timers;
  }
  private keyFingerprint = "";
  private readonly events: ZoneEvents;
  private pending: RefreshRequest | null = null;
  private lastRequestSeen: number | null = null;
  /** The last SOA timers seen, for scheduling after a failure. */
  private timers: EffectiveTimers | null = null;
  /** Failed attempts in a row while we hold no data (`BOOTSTRAP_RETRY_FIRST_MS`). */
  private bootstrapFailures = 0;
  /**
   * Our last report did not reach the Worker (it was down or unreachable): what D1 holds is older than
   * what we know, so the poll's stored deadline is not adopted, and the request that attempt served is
   * kept for the next one, until a report lands.
   */
  private reportOwed = false;
  /** The `expiresAt` the expire event is planned for. */
  private plannedExpiry: number | null = null;
  /**
   * An attempt found cut off at first sight (the lease it left behind): until our next attempt runs, or
   * that lease is given back, the stored deadline is not adopted.
   */
  private resume: { owner: string } | null = null;
  /**
   * The next attempt was asked for (a NOTIFY, a control signal, an operator's request): it goes ahead of
   * routine ones in the limiter. While an attempt waits there, `queued` can promote it.
   */
  private urgent = false;
  private queued: LimiterTicket | null = null;

  constructor(
    config: ZoneConfig,
    private readonly deps: ZoneDeps,
    private readonly limiter: Limiter,
    private readonly abort: AbortSignal,
    timers?: TimerHeap,
  ) {
    this.config = config;
    this.backoff = new Backoff(deps.settings.backoff.baseMs, deps.settings.backoff.maxMs);
    this.events = new ZoneEvents({ refresh: () => this.onRefresh(), expire: () => this.onExpire() }, deps.now ?? Date.now, timers);
    this.lastCheckAt = config.lastCheckAt;
  }

  /** The zone's name, parsed from its configuration (an attempt asks a few times; a quiet zone holds none). */
  get name(): Name {
    return Name.parseAbsolute(this.config.name);
  }

  /** Who may NOTIFY the zone: shared with every zone that names the same primaries and prefixes. */
  get acl(): NotifyAcl {
    return notifyAclFor(this.config.primaries, this.config.notifyAllow);
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
    const acl = notifyAclFor(config.primaries, config.notifyAllow);
    if (acl.invalid.length > 0) this.log.warn({ zone: config.name, invalid: acl.invalid }, "ignoring NOTIFY ACL entries that are not addresses or prefixes");
    const busy = this.events.busy;
    const dueAt = this.events.at("refresh");
    const first = this.lastRequestSeen === null && dueAt === undefined && !busy;
    this.config = config;
    if (!busy) this.lastCheckAt = config.lastCheckAt;
    // While a report is owed, the stored expiry predates our last good check.
    if (!busy && !this.reportOwed) this.planExpiry(config.expiresAt);

    if (config.refreshRequestedAt !== null && config.refreshRequestedAt !== this.lastRequestSeen) {
      this.lastRequestSeen = config.refreshRequestedAt;
      this.pending = { requestedAt: config.refreshRequestedAt, force: config.refreshForce, acceptLowerSerial: config.refreshAcceptLowerSerial };
      this.hurry();
      this.events.schedule("refresh", this.now);
      return;
    }
    // Adopt a later deadline (another instance refreshed the zone), never an earlier one: an earlier
    // stored value is a read from before our own last report, and refresh requests come as signals.
    // While a report is owed, the stored deadline is the one before it (a refresh away, not a retry).
    const next = config.nextRefreshAt ?? this.now;
    if (first) {
      this.events.replan("refresh", this.resumeAt(config) ?? next);
      return;
    }
    // The cut-off attempt's lease was given back (its holder was alive after all and reported): its report
    // says when to look next.
    if (this.resume && config.lease?.owner !== this.resume.owner) this.resume = null;
    if (!busy && !this.reportOwed && !this.resume && (dueAt === undefined || next > dueAt)) this.events.replan("refresh", next);
  }

  /**
   * When to resume an attempt that was cut off, judged at first sight from the lease it left behind;
   * undefined when none was. See the module comment.
   */
  private resumeAt(config: ZoneConfig): number | undefined {
    const lease = config.lease;
    if (!lease) return undefined;
    const now = this.now;
    this.resume = { owner: lease.owner };
    const ours = lease.owner === this.deps.settings.instanceId;
    const at = ours || lease.until <= now ? now : Math.min(lease.until, config.nextRefreshAt ?? now);
    this.log.info(
      { zone: config.name, leaseOwner: lease.owner, leaseUntil: new Date(lease.until).toISOString(), at: new Date(at).toISOString() },
      ours
        ? "the last attempt of this instance was cut off (restart): refreshing now"
        : lease.until <= now
          ? "the last attempt was cut off (its lease ran out unreported): refreshing now"
          : "another instance holds the refresh lease: looking again when it runs out",
    );
    return at;
  }

  /** RFC 1996 §3.11: a NOTIFY means the refresh timer has expired. The hint is logged, never trusted. */
  notified(source: string, serialHint: number | undefined): void {
    this.log.debug({ zone: this.config.name, source, serialHint }, "refresh on NOTIFY");
    this.hurry();
    this.events.schedule("refresh", this.now);
  }

  /** A refresh pushed by the Worker (API refresh or webhook NOTIFY). */
  signal(signal: RefreshSignal): void {
    this.log.debug({ zone: this.config.name, requestedAt: signal.requestedAt, busy: this.events.busy }, "refresh on control signal");
    if (signal.requestedAt !== undefined || signal.force || signal.acceptLowerSerial) {
      this.pending = {
        requestedAt: signal.requestedAt ?? this.config.refreshRequestedAt,
        force: signal.force ?? null,
        acceptLowerSerial: signal.acceptLowerSerial,
      };
      // The poll will show the same request until it is acknowledged: do not run it twice.
      if (signal.requestedAt !== undefined) this.lastRequestSeen = signal.requestedAt;
    }
    this.hurry();
    this.events.schedule("refresh", this.now);
  }

  /** Marks the next attempt urgent, and promotes one waiting in the limiter now. */
  private hurry(): void {
    this.urgent = true;
    this.queued?.promote();
  }

  /** Resolves when no event runs and none is due. */
  idle(): Promise<void> {
    return this.events.idle();
  }

  get busy(): boolean {
    return this.events.busy;
  }

  stop(): void {
    this.events.stop();
  }

  /** The refresh event: one attempt, its report, and the replan. Never throws. */
  private async onRefresh(): Promise<void> {
    const request = this.pending;
    this.pending = null;
    this.resume = null;
    this.log.debug({ zone: this.config.name, requestedAt: request?.requestedAt ?? null }, "refresh run starts");
    let outcome: RefreshOutcome;
    const { worker } = this.deps;
    // With `finish`, the attempt's log entries go with its report in one call.
    const transferLog = attemptLog(this.config.name, this.deps, worker.finish !== undefined);
    try {
      const urgent = this.urgent;
      this.urgent = false;
      outcome = await this.limiter.run(
        () => {
          this.queued = null;
          return refresh(this, request, this.deps, this.abort, transferLog);
        },
        urgent,
        (ticket) => (this.queued = ticket),
      );
    } catch (err) {
      outcome = { kind: "failed", detail: `internal error: ${(err as Error).message}` };
    }
    if (outcome.kind === "lease-busy") {
      // Another instance is refreshing; its report reaches us through the poll. Look again later.
      this.events.schedule("refresh", this.now + this.deps.settings.leaseTtlMs);
      return;
    }
    const { settings } = this.deps;
    const step = reportFor({
      outcome,
      zone: { serial: this.config.serial, expiresAt: this.config.expiresAt, timers: this.timers, bootstrapFailures: this.bootstrapFailures },
      clamps: zoneClamps(settings.clamps, this.config.clamps),
      fallbackRetryS: settings.clamps.retry.min,
      servedRequestAt: request?.requestedAt ?? null,
      now: this.now,
    });
    this.timers = step.zone.timers;
    this.bootstrapFailures = step.zone.bootstrapFailures;
    if (outcome.kind === "failed") this.consecutiveFailures++;
    else if (step.zone.checked) this.consecutiveFailures = 0;
    if (step.report.primarySerial !== null) this.config = { ...this.config, primarySerial: step.report.primarySerial };
    const checked = step.zone.checked;
    if (checked) {
      this.lastCheckAt = checked.at;
      this.config = { ...this.config, serial: checked.serial, expiresAt: checked.expiresAt, lastCheckAt: checked.at, status: step.zone.status };
    } else {
      this.config = { ...this.config, status: step.zone.status };
    }
    const report = step.report;
    let released = false;
    try {
      if (worker.finish) {
        // Log entries, report, acknowledgement and release in one call (issue 19).
        await worker.finish(this.config.name, settings.instanceId, { zoneId: this.config.id, transfers: transferLog.take(), report, release: true });
        released = true;
      } else {
        await worker.report(this.config.name, settings.instanceId, report);
      }
      this.reportOwed = false;
      this.log.debug({ zone: this.config.name, status: report.status }, "final report stored");
    } catch (err) {
      this.log.error({ zone: this.config.name, reason: (err as Error).message }, "could not report the zone's state to the Worker");
      // The request stays unacknowledged in D1: serve it again with the next attempt (at RETRY).
      this.reportOwed = true;
      this.pending ??= request;
    }
    if (!released) await releaseLease({ worker, instanceId: settings.instanceId, leaseTtlMs: settings.leaseTtlMs, log: this.log }, this.config.name);
    this.events.schedule("refresh", report.nextRefreshAt);
    if (checked) this.planExpiry(checked.expiresAt);
  }

  /**
   * The expire event (RFC 1034 §4.3.5: past EXPIRE a secondary stops answering). The data side is already
   * done: `expiresAt` is stored with the zone and the Worker answers SERVFAIL past it, even when this
   * service is down. What is left here is Knot's "zone expired" line; the status turns `expired` with the
   * next failed refresh, whose RETRY keeps running.
   */
  private async onExpire(): Promise<void> {
    const { expiresAt, serial } = this.config;
    if (expiresAt === null || this.now < expiresAt) return;
    this.log.warn({ zone: this.config.name, serial, expiresAt: new Date(expiresAt).toISOString() }, "zone expired: answers are SERVFAIL until a refresh succeeds");
  }

  /** Plans the expire event at `expiresAt` when it moved (a success here, or another instance's). */
  private planExpiry(expiresAt: number | null): void {
    if (expiresAt === this.plannedExpiry) return;
    this.plannedExpiry = expiresAt;
    this.events.replan("expire", expiresAt);
  }
}
