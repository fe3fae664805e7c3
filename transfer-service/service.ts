/**
 * @module The transfer-service assembled from one `Config`: the DNS listener (NOTIFY, and the port-53 front:
 * QUERY forwarded to the Worker with a response cache and response rate limiting), the HTTP port (health,
 * metrics, control), and the zones it is handed (`Zones`, zones/zone-set.ts: each zone with its refresh and
 * expire events). The service wires them in; NOTIFY and control signals call into them, and zones/ imports
 * nothing of the service. `main.ts` runs it as a process; tests start it in-process on port 0.
 *
 * The front's cache hears of this instance's commits through `CommitEvents` (`commit-watch.ts`): whoever
 * builds the zone set hands it `watchCommits(worker, events)` and passes the same `events` here.
 */
import { randomBytes } from "node:crypto";
import type { CommitEvents } from "./server/query/commit-watch.ts";
import type { ListenAddress } from "./addresses.ts";
import type { Config } from "./config.ts";
import { createDispatcher, type QueryFront } from "./server/dns-dispatch.ts";
import { startDnsListener } from "./server/dns-listener.ts";
import { startHttpServer } from "./ops/control-http.ts";
import type { Logger } from "./ops/log.ts";
import { Metrics } from "./ops/metrics.ts";
import { createNotifyReceiver } from "./server/notify-in.ts";
import { createQueryForwarder } from "./server/query/query-forward.ts";
import { ResponseCache } from "./server/query/response-cache.ts";
import { ResponseRateLimiter } from "./server/query/rrl.ts";
import { ServerCookies } from "./server/query/cookie.ts";
import { createWorkerUpstream } from "./server/query/worker-upstream.ts";
import { noZones, type Zones } from "./zones/zone-set.ts";
import { nodeHmac } from "../dns/hmac.node.ts";
import { createTransferOut } from "./server/xfr-out/transfer-out.ts";
import { NotifyOut } from "./server/xfr-out/notify-out.ts";
import { WorkerClient } from "./worker/worker-client.ts";
import { verifyZone } from "./zones/verify.ts";
import { Limiter } from "./zones/limiter.ts";

export interface RunningService {
  dnsAddresses: ListenAddress[];
  httpAddress: ListenAddress;
  metrics: Metrics;
  /** The port-53 front's response cache (undefined when BACKSTOP_FRONT_CACHE_ENTRIES is 0). */
  cache: ResponseCache | undefined;
  stop(): Promise<void>;
}

export interface ServiceParts {
  zones?: Zones;
  metrics?: Metrics;
  /** This instance's commits (`commit-watch.ts`), so the front's cache drops a zone's entries at once. */
  commits?: CommitEvents;
}

/**
 * The front's DNS cookies: from `BACKSTOP_COOKIE_SECRET` (and `_PREVIOUS`), or, without one, a random secret
 * for this process, which is fine for one instance; several behind one address must share a secret, or a
 * cookie one issues is invalid at the next (warned once, at start).
 */
function serverCookies(config: Config, log: Logger): ServerCookies {
  if (config.cookies.secret !== undefined) return new ServerCookies({ secret: config.cookies.secret, previous: config.cookies.previous });
  log.warn("BACKSTOP_COOKIE_SECRET is not set: DNS cookies use a random secret of this process (set one shared secret when several instances answer for one address)");
  return new ServerCookies({ secret: new Uint8Array(randomBytes(16)) });
}

export async function startService(config: Config, log: Logger, parts: ServiceParts = {}): Promise<RunningService> {
  const metrics = parts.metrics ?? new Metrics();
  const zones = parts.zones ?? noZones;
  metrics.watchZones(zones, { zoneLabels: config.metrics.zoneLabels });
  let stopping = false;

  const notify = createNotifyReceiver({ zones, log: log.child({ part: "notify" }), metrics });
  const upstream = createWorkerUpstream({ workerUrl: config.workerUrl, connections: config.front.connections, timeoutMs: config.front.timeoutMs });
  const cache = config.front.cacheEntries > 0 ? new ResponseCache({ maxEntries: config.front.cacheEntries, ttlMs: config.front.cacheTtlMs }) : undefined;
  const unwatch = cache ? parts.commits?.on((zone, version) => cache.committed(zone, version)) : undefined;
  const front: QueryFront = {
    forward: createQueryForwarder({
      upstream,
      internalToken: config.internalToken,
      timeoutMs: config.front.timeoutMs,
      maxInFlight: config.front.maxInFlight,
      cache,
      metrics,
      log: log.child({ part: "front" }),
    }),
    rrl: new ResponseRateLimiter({ ...config.rrl, log: log.child({ part: "rrl" }), metrics }),
    nsid: config.front.nsid,
    cookies: serverCookies(config, log),
  };
  // Transfers out read the zone, its versions and journal from the Worker through a client of their own.
  const transferReads = new WorkerClient({ baseUrl: config.workerUrl, token: config.internalToken, timeoutMs: config.workerTimeoutMs });
  const transfers = createTransferOut({ source: transferReads, hmac: nodeHmac, log: log.child({ part: "xfr-out" }), metrics });
  // NOTIFY out after each of this instance's commits (the lease holder's), to the zone's alsoNotify.
  const notifyOut = new NotifyOut({ source: transferReads, hmac: nodeHmac, log: log.child({ part: "notify-out" }), metrics });
  const unwatchNotify = parts.commits?.on((zone, version) => notifyOut.committed(zone, version));
  const dns = await startDnsListener({
    addresses: config.dnsListen,
    handler: createDispatcher({ notify, front, transfers, metrics }),
    log: log.child({ part: "dns" }),
    metrics,
    tcpIdleTimeoutMs: config.tcp.idleTimeoutMs,
    maxTcpConnections: config.tcp.maxConnections,
    // A TCP client prefix is the one RRL counts by (/24, /56 by default).
    tcp: { ...config.tcp, ipv4PrefixLength: config.rrl.ipv4PrefixLength, ipv6PrefixLength: config.rrl.ipv6PrefixLength },
  });
  const verifications = new Limiter(config.xfr.maxConcurrent);
  let http;
  try {
    http = await startHttpServer({
      listen: config.httpListen,
      token: config.internalToken,
      metricsToken: config.metrics.token,
      metrics,
      log: log.child({ part: "http" }),
      handler: {
        healthy: () => ({ ok: !stopping, detail: { dns: dns.addresses.length, tcpConnections: dns.tcpConnections } }),
        refresh: (signal) => zones.signal(signal),
        // Verify (issue 24) reads the served version as transfers out do, and asks the primary itself; at
        // most BACKSTOP_MAX_CONCURRENT_TRANSFERS at once (`verify --all` may ask for many), apart from refreshes.
        verify: (zone) =>
          verifications.run(() =>
            verifyZone(zone, { source: transferReads, hmac: nodeHmac, soa: config.soa, limits: config.xfr, nameservers: config.verify.nameservers, spoolDir: config.xfr.spoolDir }),
          ),
      },
    });
  } catch (err) {
    await dns.close();
    await upstream.close();
    await transferReads.close();
    throw err;
  }
  await zones.start();

  return {
    dnsAddresses: dns.addresses,
    httpAddress: http.address,
    metrics,
    cache,
    async stop() {
      stopping = true;
      await dns.close();
      unwatch?.();
      unwatchNotify?.();
      await notifyOut.close();
      await upstream.close();
      await transferReads.close();
      await zones.stop();
      await http.close();
    },
  };
}
