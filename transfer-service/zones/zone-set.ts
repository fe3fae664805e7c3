/**
 * @module The set of zones this instance keeps as a secondary (today's `Refresher`): it reads the Worker's
 * zone configurations (at start, on a timer, and when a control signal names a zone it does not know
 * yet) through the zone change feed, so a poll reads the zones written since the last one and the names
 * deleted, not every zone (issue 19: 100,000 zones); it creates, updates and drops the `Zone`s (zone.ts), finds a zone for NOTIFY, and passes control
 * signals on. Every zone shares one transfer limiter (BIND's `transfers-in`) and one serial-query rate
 * (BIND's `serial-query-rate`: refresh attempts started per second).
 *
 * The service, the NOTIFY receiver and the metrics call in through `Zones`; this folder imports nothing of
 * theirs (the service wires the zones in, as Knot's server holds its zone database).
 */
import { Name } from "../../dns/name.ts";
import type { RefreshSignal } from "../ops/control-http.ts";
import type { ZoneGaugeState } from "../ops/metrics.ts";
import type { ZoneConfig, ZoneFeedCursor } from "../worker/worker-api.ts";
import { Coalescer } from "./coalesce.ts";
import { Limiter, PrimaryLimiter } from "./limiter.ts";
import { TimerHeap } from "./timer-heap.ts";
import { SerialQueryRate } from "./serial-query-rate.ts";
import { Zone, type NotifyZone, type ZoneDeps } from "./zone.ts";

/** The lookup the NOTIFY receiver needs. */
export interface NotifyZones {
  /** The zone served as secondary under exactly this name, or undefined. */
  find(name: Name): NotifyZone | undefined;
}

/** The zones this instance serves, as the service, the DNS listener and the HTTP port see them. */
export interface Zones extends NotifyZones {
  /** Schedules a refresh from a control signal; false when the zone is unknown. */
  signal(signal: RefreshSignal): boolean;
  /** Starts background work (polling the Worker, timers). */
  start(): Promise<void>;
  /** Stops taking new work and waits for transfers in flight. */
  stop(): Promise<void>;
  zoneStates(): Iterable<ZoneGaugeState>;
}

/** No zones: what a service without a Worker connection serves. */
export const noZones: Zones = {
  find: (_name: Name): NotifyZone | undefined => undefined,
  signal: () => false,
  start: async () => undefined,
  stop: async () => undefined,
  zoneStates: () => [],
};

/** Every secondary zone of the Worker, each with its events. */
export class ZoneSet implements Zones {
  private readonly zones = new Map<string, Zone>();
  private readonly limiter: Limiter;
  /** One timer for every zone's next event. */
  private readonly timers: TimerHeap;
  private readonly abortController = new AbortController();
  private pollTimer: NodeJS.Timeout | undefined;
  /**
   * Reads of the Worker's zones, coalesced: a poll asked for while one is in flight queues one more read
   * after it, because the read in flight may predate the zone a control signal announces (sharing it
   * left a new zone waiting a whole poll interval).
   */
  private readonly poller = new Coalescer(() => this.pollOnce());
  /** Where this set stands in the Worker's zone change feed; `deletes` unset until the first read. */
  private cursor: ZoneFeedCursor = { since: 0 };
  /** During a read of the whole feed after a resync: the zones seen, so the others can be dropped after it. */
  private sweep: Set<string> | null = null;

  constructor(private readonly deps: ZoneDeps) {
    this.limiter = new Limiter(deps.settings.xfr.maxConcurrent);
    this.timers = new TimerHeap(deps.now ?? Date.now);
    // BIND's serial-query-rate: one gate for every zone, so a restart's checks are spread.
    // BIND's transfers-per-ns likewise: one per primary across the set's zones.
    this.deps = {
      ...deps,
      serialQueries: deps.serialQueries ?? new SerialQueryRate(deps.settings.soa.serialQueryRate ?? 0, deps.now ?? Date.now),
      primaryTransfers: deps.primaryTransfers ?? new PrimaryLimiter(deps.settings.xfr.perPrimary ?? 0),
    };
  }

  find(name: Name): Zone | undefined {
    return this.zones.get(name.key);
  }

  /** The zone named `zone` (its configured name). */
  get(zone: string): Zone | undefined {
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
   * Reads the zones from the Worker and brings the set in line. Resolves once a read that started after
   * this call has finished; concurrent calls share that one read.
   */
  poll(): Promise<void> {
    this.poller.trigger();
    return this.poller.idle();
  }

  private async pollOnce(): Promise<void> {
    if (this.abortController.signal.aborted) return;
    const worker = this.deps.worker;
    if (!worker.zoneChanges) return this.pollAll();
    try {
      let resynced = false;
      for (;;) {
        const page = await worker.zoneChanges(this.cursor);
        if (page.resync) {
          // The deletion log no longer reaches back to our cursor: read everything again, then drop
          // the zones that read did not show. Once per poll; a second one waits for the next poll.
          if (resynced) return;
          resynced = true;
          this.deps.log.warn({ cursor: this.cursor }, "the zone change feed lost its place: reading every zone again");
          this.cursor = { since: 0 };
          this.sweep = new Set();
          continue;
        }
        for (const name of page.deleted) this.dropNamed(name);
        for (const config of page.zones) {
          const key = await this.adopt(config);
          if (key !== undefined) this.sweep?.add(key);
        }
        this.cursor = page.cursor;
        this.deps.log.debug({ zones: page.zones.length, deleted: page.deleted.length, cursor: page.cursor }, "zone changes read");
        if (!page.more) break;
      }
    } catch (err) {
      // The cursor stays after the last page applied: the next poll goes on from there.
      this.deps.log.warn({ reason: (err as Error).message }, "cannot read zone changes from the Worker; keeping the last known set");
      return;
    }
    if (this.sweep) {
      for (const key of [...this.zones.keys()]) if (!this.sweep.has(key)) this.drop(key);
      this.sweep = null;
    }
  }

  /** A Worker without the change feed (the in-memory one of tests): every zone, every poll. */
  private async pollAll(): Promise<void> {
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
      const key = await this.adopt(config);
      if (key !== undefined) seen.add(key);
    }
    for (const key of [...this.zones.keys()]) if (!seen.has(key)) this.drop(key);
  }

  /**
   * Creates or updates the zone a configuration describes; returns its key, or undefined when this set does
   * not keep it (a primary zone, which nothing refreshes, or a name that does not parse) and it is dropped.
   */
  private async adopt(config: ZoneConfig): Promise<string | undefined> {
    let name: Name;
    try {
      name = Name.parseAbsolute(config.name);
    } catch {
      this.deps.log.error({ zone: config.name }, "zone name from the Worker is not a domain name");
      return undefined;
    }
    if (config.model === "primary") {
      this.drop(name.key);
      return undefined;
    }
    let z = this.zones.get(name.key);
    if (z && z.config.id !== undefined && config.id !== undefined && z.config.id !== config.id) {
      // Deleted and created again under its name (a feed page without the deletion, as after a resync):
      // another zone, whose state starts afresh.
      this.drop(name.key);
      z = undefined;
    }
    if (!z) {
      z = new Zone(config, this.deps, this.limiter, this.abortController.signal, this.timers);
      this.zones.set(name.key, z);
    }
    await z.update(config);
    return name.key;
  }

  /** Stops and forgets the zone under `key` (`Name.key`), if this set has it. */
  private drop(key: string): void {
    const z = this.zones.get(key);
    if (!z) return;
    z.stop();
    this.zones.delete(key);
  }

  /** `drop` by the zone's name as the Worker spells it (the feed's deletions). */
  private dropNamed(name: string): void {
    try {
      this.drop(Name.parseAbsolute(name).key);
    } catch {
      // Not a name: nothing of ours.
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

  *zoneStates(): Iterable<ZoneGaugeState> {
    for (const z of this.zones.values()) {
      yield {
        zone: z.config.name,
        serial: z.config.serial,
        lastCheckAt: z.lastCheckAt,
        primarySerial: z.config.primarySerial ?? null,
        expiresAt: z.config.expiresAt,
        rrsigExpiresAt: z.config.rrsigExpiresAt ?? null,
        consecutiveFailures: z.consecutiveFailures,
        expireSeconds: z.effectiveTimers?.expire ?? null,
      };
    }
  }
}
