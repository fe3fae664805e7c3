/**
 * @module The transfer-service assembled from one `Config`: the DNS listener (NOTIFY, and the port-53 front:
 * QUERY forwarded to the Worker with a response cache and response rate limiting), the HTTP port (health,
 * metrics, control), and the zones it is handed (`Zones`, zones/zone-set.ts: each zone with its refresh and
 * expire events). The service wires them in; NOTIFY and control signals call into them, and zones/ imports
 * nothing of the service. `main.ts` runs it as a process; tests start it in-process on port 0.
 *
 * The front's cache hears of this instance's commits through `CommitEvents` (`commit-watch.ts`): whoever
 * builds the zone set hands it `watchCommits(worker, events)` and passes the same `events` here.
 *
 * With several front processes (`BACKSTOP_FRONT_PROCESSES` > 1, `server/front-processes.ts`), `startService`
 * is the owner's part (everything above but the DNS listener and the front, plus the query processes it
 * starts and supervises) and `startQueryProcess` a query process's (the DNS listener and the front, and a
 * link to the owner for the rest). With one, `startService` is the whole service in this process.
 */
import { randomBytes } from "node:crypto";
import { CommitEvents } from "./server/query/commit-watch.ts";
import type { ListenAddress } from "./addresses.ts";
import type { Config } from "./config.ts";
import { createDispatcher, type NotifyReceiver, type QueryFront } from "./server/dns-dispatch.ts";
import { FrontProcesses, OwnerLink } from "./server/front-processes.ts";
import { type DnsListenerOptions, startDnsListener } from "./server/dns-listener.ts";
import type { DnsHandler } from "./server/request-context.ts";
import { startHttpServer } from "./ops/control-http.ts";
import type { Logger } from "./ops/log.ts";
import { Metrics } from "./ops/metrics.ts";
import { createNotifyReceiver } from "./server/notify-in.ts";
import { createQueryForwarder } from "./server/query/query-forward.ts";
import { ResponseCache } from "./server/query/response-cache.ts";
import type { Replica } from "./server/replica/replica.ts";
import { replicaAnswerer } from "./server/replica/replica-answer.ts";
import { startReplica } from "./server/replica/start-replica.ts";
import { perProcessRates, ResponseRateLimiter } from "./server/query/rrl.ts";
import { ServerCookies } from "./server/query/cookie.ts";
import { createWorkerUpstream } from "./server/query/worker-upstream.ts";
import { noZones, type Zones } from "./zones/zone-set.ts";
import { nodeHmac } from "../dns/hmac.node.ts";
import { createTransferOut } from "./server/xfr-out/transfer-out.ts";
import { withReplicaRecords, type HeldVersion } from "./server/xfr-out/replica-records.ts";
import { NotifyOut } from "./server/xfr-out/notify-out.ts";
import { createUpdateHandler } from "./server/update.ts";
import { WorkerClient } from "./worker/worker-client.ts";
import { verifyZone } from "./zones/verify.ts";
import { Limiter } from "./zones/limiter.ts";

export interface RunningService {
  dnsAddresses: ListenAddress[];
  httpAddress: ListenAddress;
  metrics: Metrics;
  /** The port-53 front's response cache (undefined when BACKSTOP_FRONT_CACHE_ENTRIES is 0). */
  cache: ResponseCache | undefined;
  /** The port-53 front's replica (issue 27; undefined when off, or when query processes hold their own). */
  replica?: Replica | undefined;
  stop(): Promise<void>;
}

export interface ServiceParts {
  zones?: Zones;
  metrics?: Metrics;
  /** This instance's commits (`commit-watch.ts`), so the front's cache drops a zone's entries at once. */
  commits?: CommitEvents;
  /**
   * More than one front process: this process is the owner and starts `processes` query processes
   * (`server/front-processes.ts`), each given `env` besides its own (the shared cookie secret).
   */
  frontProcesses?: { processes: number; env?: Record<string, string> };
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
  const processes = parts.frontProcesses !== undefined && parts.frontProcesses.processes > 1 ? parts.frontProcesses : undefined;
  // The owner of several front processes answers no query itself: the front lives in the query processes.
  const front = processes ? undefined : createFront(config, log, metrics, parts.commits, 1);
  // Transfers out read the zone, its versions and journal from the Worker through a client of their own; a
  // version the front's replica holds is streamed from it instead (`xfr-out/replica-records.ts`).
  const transferReads = new WorkerClient({ baseUrl: config.workerUrl, token: config.internalToken, timeoutMs: config.workerTimeoutMs });
  // The replica transfers out read: the front's, or with several front processes the owner's (set below).
  let replicaOfTransfers = front?.replica;
  const packed: HeldVersion = (zone, id, version) => replicaOfTransfers?.packedVersion(zone, id, version);
  const transferSource = config.replica.maxBytes > 0 ? withReplicaRecords(transferReads, packed, metrics) : transferReads;
  const transfers = createTransferOut({ source: transferSource, hmac: nodeHmac, log: log.child({ part: "xfr-out" }), metrics });
  // NOTIFY out after each of this instance's commits (the lease holder's), to the zone's alsoNotify.
  const notifyOut = new NotifyOut({ source: transferSource, hmac: nodeHmac, log: log.child({ part: "notify-out" }), metrics });
  const unwatchNotify = parts.commits?.on((zone, version) => notifyOut.committed(zone, version));
  // Issue 22: RFC 2136 UPDATE of primary zones, allowed here and applied by the Worker (the owner's, with
  // several front processes: query processes hand every UPDATE to it).
  const update = createUpdateHandler({ target: transferReads, hmac: nodeHmac, log: log.child({ part: "update" }), commits: parts.commits });
  const dns = processes
    ? undefined
    : await startDnsListener(dnsListenerOptions(config, log, createDispatcher({ notify, front: front?.front, transfers, update, metrics }), metrics, 1)).catch(async (err: unknown) => {
        await front?.close();
        await transferReads.close();
        throw err;
      });
  const running = processes
    ? new FrontProcesses({
        processes: processes.processes,
        // What the query processes hand over: counted there (dns_messages_total), so not counted again here.
        owner: createDispatcher({ notify, transfers, update }),
        commits: parts.commits,
        metrics,
        log: log.child({ part: "front-processes" }),
        env: processes.env,
        replicaMaxRecords: config.replica.maxBytes > 0 ? config.replica.maxRecords : undefined,
      })
    : undefined;
  // Issue 27: the versions the owner's transfers build go to the query processes' replicas (front-processes.ts),
  // and stay in a passive replica of the owner's own (only those versions, none read from the Worker), from
  // which its IXFRs send the changed nodes and its transfers out stream (session 11).
  const ownerReplica = running ? startReplica(config, log, metrics, parts.commits, processes!.processes, { passive: true, alsoTo: running.ownerLoad() }) : undefined;
  if (ownerReplica) replicaOfTransfers = ownerReplica.replica;
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
        healthy: () =>
          dns
            ? { ok: !stopping, detail: { dns: dns.addresses.length, tcpConnections: dns.tcpConnections } }
            : { ok: !stopping && running!.running > 0, detail: { frontProcesses: running!.running } },
        // Issue 22: a primary zone's version committed by the Worker (an API edit) is announced like this
        // instance's own commits: the front's cache drops the zone, NOTIFY out tells its downstreams.
        refresh: (signal) => {
          if (signal.committed === undefined) return zones.signal(signal);
          void parts.commits?.emit(signal.zone, signal.committed);
          return true;
        },
        // Verify (issue 24) reads the served version as transfers out do, and asks the primary itself; at
        // most BACKSTOP_MAX_CONCURRENT_TRANSFERS at once (`verify --all` may ask for many), apart from refreshes.
        verify: (zone) =>
          verifications.run(() =>
            verifyZone(zone, { source: transferReads, hmac: nodeHmac, soa: config.soa, limits: config.xfr, nameservers: config.verify.nameservers, spoolDir: config.xfr.spoolDir }),
          ),
      },
    });
  } catch (err) {
    await ownerReplica?.stop();
    await dns?.close();
    await front?.close();
    await transferReads.close();
    throw err;
  }
  await zones.start();
  // The owner's zones start before its query processes are up (they take seconds to load): its refresh
  // machine does not wait on them, and a commit meanwhile has no cache to tell.
  try {
    await running?.start();
  } catch (err) {
    await ownerReplica?.stop();
    await zones.stop();
    await http.close();
    await transferReads.close();
    throw err;
  }

  return {
    dnsAddresses: dns?.addresses ?? running!.addresses,
    httpAddress: http.address,
    metrics,
    cache: front?.cache,
    replica: front?.replica,
    async stop() {
      stopping = true;
      await dns?.close();
      await ownerReplica?.stop();
      await running?.stop();
      await front?.close();
      unwatchNotify?.();
      await notifyOut.close();
      await transferReads.close();
      await zones.stop();
      await http.close();
    },
  };
}

/** The port-53 front of one process: forward, response cache (told of `commits`), RRL, cookies. */
function createFront(config: Config, log: Logger, metrics: Metrics, commits: CommitEvents | undefined, processes: number): { front: QueryFront; cache: ResponseCache | undefined; replica: Replica | undefined; close(): Promise<void> } {
  const upstream = createWorkerUpstream({ workerUrl: config.workerUrl, connections: config.front.connections, timeoutMs: config.front.timeoutMs });
  const cache = config.front.cacheEntries > 0 ? new ResponseCache({ maxEntries: config.front.cacheEntries, ttlMs: config.front.cacheTtlMs }) : undefined;
  const unwatch = cache ? commits?.on((zone, version) => cache.committed(zone, version)) : undefined;
  // Issue 27: zones answered in this process by the engine, from a replica of each committed version.
  const replica = startReplica(config, log, metrics, commits, processes);
  const front: QueryFront = {
    forward: createQueryForwarder({
      upstream,
      internalToken: config.internalToken,
      timeoutMs: config.front.timeoutMs,
      maxInFlight: config.front.maxInFlight,
      cache,
      metrics,
      log: log.child({ part: "front" }),
      local: replica ? replicaAnswerer(replica.replica, log.child({ part: "replica" })) : undefined,
    }),
    // Each of N processes counts what reaches it: the host's rates divided, so together they hold (rrl.ts).
    rrl: new ResponseRateLimiter({ ...config.rrl, rates: perProcessRates(config.rrl.rates, processes), log: log.child({ part: "rrl" }), metrics }),
    nsid: config.front.nsid,
    cookies: serverCookies(config, log),
  };
  return {
    front,
    cache,
    replica: replica?.replica,
    async close() {
      unwatch?.();
      await replica?.stop();
      await upstream.close();
    },
  };
}

/**
 * The DNS listener's settings; `processes` > 1 for a query process on shared sockets, whose TCP caps are
 * the host's divided among the processes (rounded down, at least 1), as RRL's rates are, so that together
 * they never hold more connections than configured.
 */
function dnsListenerOptions(config: Config, log: Logger, handler: DnsHandler, metrics: Metrics, processes: number): DnsListenerOptions {
  const share = (n: number): number => (n === 0 || processes <= 1 ? n : Math.max(1, Math.floor(n / processes)));
  return {
    addresses: config.dnsListen,
    handler,
    log: log.child({ part: "dns" }),
    metrics,
    tcpIdleTimeoutMs: config.tcp.idleTimeoutMs,
    maxTcpConnections: share(config.tcp.maxConnections),
    // A TCP client prefix is the one RRL counts by (/24, /56 by default).
    tcp: { ...config.tcp, maxPerPrefix: share(config.tcp.maxPerPrefix), ipv4PrefixLength: config.rrl.ipv4PrefixLength, ipv6PrefixLength: config.rrl.ipv6PrefixLength },
    shared: processes > 1,
  };
}

/** A query process of a multi-process front, running. */
export interface RunningQueryProcess {
  dnsAddresses: ListenAddress[];
  metrics: Metrics;
  cache: ResponseCache | undefined;
  stop(): Promise<void>;
}

/** NOTIFY never reaches a query process's dispatcher: with an `owner`, it goes to the owner process. */
const notifyGoesToOwner: NotifyReceiver = () => Promise.reject(new Error("NOTIFY is the owner process's"));

/**
 * A query process (`slot` of `processes`): the front and the DNS listener on the sockets every query
 * process shares; every message but a plain QUERY goes to the owner (`server/front-processes.ts`), whose
 * commits reach this process's cache.
 */
export async function startQueryProcess(config: Config, log: Logger, options: { slot: number; processes: number; onOwnerStop: () => void }): Promise<RunningQueryProcess> {
  const metrics = new Metrics({ process: options.slot });
  const commits = new CommitEvents();
  const link = new OwnerLink(commits, metrics);
  link.onStop = options.onOwnerStop;
  const front = createFront(config, log, metrics, commits, options.processes);
  let dns;
  try {
    dns = await startDnsListener(dnsListenerOptions(config, log, createDispatcher({ notify: notifyGoesToOwner, front: front.front, owner: link.handler, metrics }), metrics, options.processes));
  } catch (err) {
    await front.close();
    throw err;
  }
  link.replica = front.replica;
  link.ready(dns.addresses);
  return {
    dnsAddresses: dns.addresses,
    metrics,
    cache: front.cache,
    async stop() {
      await dns.close();
      await front.close();
    },
  };
}
