/**
 * @module The transfer-service assembled: DNS listener (NOTIFY now, the port-53 front later), the HTTP
 * port (health, metrics, control), and the per-zone refresh machinery, from one `Config`. `main.ts`
 * runs it as a process; tests start it in-process on port 0.
 */
import type { Name } from "../dns/name.ts";
import type { Config, ListenAddress } from "./config.ts";
import { createDispatcher } from "./dns-dispatch.ts";
import { startDnsListener } from "./dns-listener.ts";
import { startHttpServer, type RefreshSignal } from "./http.ts";
import type { Logger } from "./log.ts";
import { Metrics } from "./metrics.ts";
import { createNotifyReceiver, type NotifyZone, type NotifyZones } from "./notify.ts";

/** The zones this instance serves, as the refresh machinery exposes them to the listener and HTTP port. */
export interface ZoneSet extends NotifyZones {
  /** Schedules a refresh from a control signal; false when the zone is unknown. */
  signal(signal: RefreshSignal): boolean;
  /** Starts background work (polling the Worker, timers). */
  start(): Promise<void>;
  /** Stops taking new work and waits for transfers in flight. */
  stop(): Promise<void>;
  zoneStates(): Iterable<{ zone: string; serial: number | null; lastCheckAt: number | null }>;
}

/** No zones: what a service without a Worker connection serves. */
export const emptyZoneSet: ZoneSet = {
  find: (_name: Name): NotifyZone | undefined => undefined,
  signal: () => false,
  start: async () => undefined,
  stop: async () => undefined,
  zoneStates: () => [],
};

export interface RunningService {
  dnsAddresses: ListenAddress[];
  httpAddress: ListenAddress;
  metrics: Metrics;
  stop(): Promise<void>;
}

export interface ServiceParts {
  zones?: ZoneSet;
  metrics?: Metrics;
}

export async function startService(config: Config, log: Logger, parts: ServiceParts = {}): Promise<RunningService> {
  const metrics = parts.metrics ?? new Metrics();
  const zones = parts.zones ?? emptyZoneSet;
  metrics.watchZones(zones);
  let stopping = false;

  const notify = createNotifyReceiver({ zones, log: log.child({ part: "notify" }), metrics });
  const dns = await startDnsListener({
    addresses: config.dnsListen,
    handler: createDispatcher({ notify, metrics }),
    log: log.child({ part: "dns" }),
    metrics,
    tcpIdleTimeoutMs: config.tcp.idleTimeoutMs,
    maxTcpConnections: config.tcp.maxConnections,
  });
  let http;
  try {
    http = await startHttpServer({
      listen: config.httpListen,
      token: config.internalToken,
      metrics,
      log: log.child({ part: "http" }),
      handler: {
        healthy: () => ({ ok: !stopping, detail: { dns: dns.addresses.length, tcpConnections: dns.tcpConnections } }),
        refresh: (signal) => zones.signal(signal),
      },
    });
  } catch (err) {
    await dns.close();
    throw err;
  }
  await zones.start();

  return {
    dnsAddresses: dns.addresses,
    httpAddress: http.address,
    metrics,
    async stop() {
      stopping = true;
      await dns.close();
      await zones.stop();
      await http.close();
    },
  };
}
