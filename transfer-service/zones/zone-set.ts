/**
 * @module The set of zones this instance keeps as a secondary (today's `Refresher`): it reads the Worker's
 * zone configurations (at start, on a timer, and when a control signal names a zone it does not know
 * yet), creates, updates and drops the `Zone`s (zone.ts), finds a zone for NOTIFY, and passes control
 * signals on. Every zone shares one transfer limiter (BIND's `transfers-in`) and one serial-query rate
 * (BIND's `serial-query-rate`: refresh attempts started per second).
 *
 * The service, the NOTIFY receiver and the metrics call in through `Zones`; this folder imports nothing of
 * theirs (the service wires the zones in, as Knot's server holds its zone database).
 */
import { Name } from "../../dns/name.ts";
import type { RefreshSignal } from "../ops/control-http.ts";
import type { ZoneConfig } from "../worker/worker-api.ts";
import { Coalescer } from "./coalesce.ts";
import { Limiter } from "./limiter.ts";
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
  zoneStates(): Iterable<{ zone: string; serial: number | null; lastCheckAt: number | null }>;
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
  private readonly abortController = new AbortController();
  private pollTimer: NodeJS.Timeout | undefined;
  /**
   * Reads of the Worker's zones, coalesced: a poll asked for while one is in flight queues one more read
   * after it, because the read in flight may predate the zone a control signal announces (sharing it
   * left a new zone waiting a whole poll interval).
   */
  private readonly poller = new Coalescer(() => this.pollOnce());

  constructor(private readonly deps: ZoneDeps) {
    this.limiter = new Limiter(deps.settings.xfr.maxConcurrent);
    // BIND's serial-query-rate: one gate for every zone, so a restart's checks are spread.
    this.deps = { ...deps, serialQueries: deps.serialQueries ?? new SerialQueryRate(deps.settings.soa.serialQueryRate ?? 0, deps.now ?? Date.now) };
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
        z = new Zone(config, { ...this.deps, log: this.deps.log.child({ zone: config.name }) }, this.limiter, this.abortController.signal);
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
