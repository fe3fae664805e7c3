/**
 * @module Prometheus metrics for the transfer-service (prom-client), served at `GET /metrics`.
 *
 * One registry per service instance (not prom-client's global one), so tests can run several services in
 * one process. Per-zone gauges are computed at scrape time from the last-known state, so "seconds since the
 * last successful check" keeps growing while a primary is silent. They carry the zone's name only when
 * BACKSTOP_METRICS_ZONE_LABELS is true (hidden zones' names must not leak through a scrape); otherwise
 * `backstop_zones` and `backstop_zones_max_seconds_since_last_check` sum them up.
 *
 * The counters that every port-53 query touches (messages, front results, RRL actions) are counted in plain
 * integers by label slot (`countMessage`, `countFront`, `countRrl`) and added to their prom-client counters
 * when /metrics is scraped: prom-client's `inc(labels)` hashes and validates the label object on each call
 * (0.2–0.4 µs, about as much as reading the query and finding its cached answer), and `labels(...)` only
 * binds the same call.
 */
import { RRL_CATEGORIES, type RrlCategory } from "../server/query/rrl-token.ts";
import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { opcodeToString, rcodeToString } from "../../dns/constants.ts";

/** One zone as the gauges see it. Times in ms since the epoch; the fields after `lastCheckAt` feed issue 25's gauges. */
export interface ZoneGaugeState {
  zone: string;
  /** The committed serial. */
  serial: number | null;
  /** The last successful check. */
  lastCheckAt: number | null;
  primarySerial?: number | null;
  expiresAt?: number | null;
  rrsigExpiresAt?: number | null;
  consecutiveFailures?: number;
  /** EXPIRE in force (seconds, after the clamps); null before the first check. */
  expireSeconds?: number | null;
}

/** What the per-zone gauges read at scrape time. */
export interface ZoneGaugeSource {
  zoneStates(): Iterable<ZoneGaugeState>;
}

/** How the front answered a query: the `result` label of `backstop_front_queries_total`. */
export const FRONT_RESULTS = ["hit", "joined", "miss", "uncacheable", "local", "rate-limited", "replica"] as const;
export type FrontResult = (typeof FRONT_RESULTS)[number];

/** What RRL did with an answer: the `action` label of `backstop_rrl_responses_total`. */
export const RRL_ACTIONS = ["allow", "drop", "slip"] as const;
export type RrlAction = (typeof RRL_ACTIONS)[number];

/**
 * DNS Cookies (RFC 7873) the front saw, the `result` label of `backstop_cookies_total`: client_only (a client
 * cookie alone), valid / invalid (a server cookie that came back), badcookie_sent (a BADCOOKIE slip).
 */
export const COOKIE_RESULTS = ["client_only", "valid", "invalid", "badcookie_sent"] as const;
export type CookieResult = (typeof COOKIE_RESULTS)[number];

/**
 * Why the DNS listener closed a TCP connection: the `reason` label of `backstop_dns_tcp_closed_total`.
 * initial_timeout: no whole message soon enough after connecting; io_timeout: a message not whole within
 * the I/O timeout of its first octet; idle_timeout: nothing asked for the idle timeout; evicted_idle: closed,
 * idle, to admit a new connection at the global cap; prefix_cap / global_cap: refused at once; write_blocked:
 * answers left unread past the unsent bound for too long; bad_framing: a zero-length frame; stream_failed: a
 * zone transfer out failed half-way (the client sees it cut short).
 */
export const TCP_CLOSE_REASONS = ["initial_timeout", "io_timeout", "idle_timeout", "evicted_idle", "prefix_cap", "global_cap", "write_blocked", "bad_framing", "stream_failed"] as const;
export type TcpCloseReason = (typeof TCP_CLOSE_REASONS)[number];

const slotsOf = <T extends string>(values: readonly T[]): Record<T, number> =>
  Object.fromEntries(values.map((v, i) => [v, i])) as Record<T, number>;
const FRONT_SLOT = slotsOf(FRONT_RESULTS);
const RRL_SLOT = slotsOf(RRL_ACTIONS);
const RRL_CATEGORY_SLOT = slotsOf(RRL_CATEGORIES);
const COOKIE_SLOT = slotsOf(COOKIE_RESULTS);

/** Message slots: transport (2) × opcode (16) × rcode (16, and one for "no reply"). */
const TRANSPORTS = ["udp", "tcp"] as const;
const RCODE_SLOTS = 17;
const messageSlot = (transport: "udp" | "tcp", opcode: number, rcode: number): number =>
  ((transport === "udp" ? 0 : 16) + (opcode & 0xf)) * RCODE_SLOTS + (rcode < 0 ? 16 : rcode & 0xf);

/**
 * Increments held as plain numbers by slot, until a scrape adds them to the counter (`flush`). A slot's labels
 * are built only then.
 */
class PendingCounts<T extends string> {
  private readonly pending: Float64Array;

  constructor(size: number, private readonly labelsOf: (slot: number) => Partial<Record<T, string>>) {
    this.pending = new Float64Array(size);
  }

  add(slot: number): void {
    this.pending[slot]! += 1;
  }

  flush(counter: Counter<T>): void {
    for (let slot = 0; slot < this.pending.length; slot++) {
      const n = this.pending[slot]!;
      if (n === 0) continue;
      this.pending[slot] = 0;
      counter.inc(this.labelsOf(slot), n);
    }
  }
}

export class Metrics {
  readonly registry = new Registry();

  private readonly messageCounts = new PendingCounts<"transport" | "opcode" | "rcode">(2 * 16 * RCODE_SLOTS, (slot) => {
    const rcode = slot % RCODE_SLOTS;
    const rest = (slot - rcode) / RCODE_SLOTS;
    return { transport: TRANSPORTS[rest >> 4]!, opcode: opcodeToString(rest & 0xf), rcode: rcode === 16 ? "none" : rcodeToString(rcode) };
  });
  private readonly frontCounts = new PendingCounts<"result">(FRONT_RESULTS.length, (slot) => ({ result: FRONT_RESULTS[slot]! }));
  private readonly rrlCounts = new PendingCounts<"action" | "category">(RRL_ACTIONS.length * RRL_CATEGORIES.length, (slot) => ({
    action: RRL_ACTIONS[slot % RRL_ACTIONS.length]!,
    category: RRL_CATEGORIES[Math.floor(slot / RRL_ACTIONS.length)]!,
  }));

  private readonly cookieCounts = new PendingCounts<"result">(COOKIE_RESULTS.length, (slot) => ({ result: COOKIE_RESULTS[slot]! }));

  readonly cookies: Counter<"result"> = new Counter({
    name: "backstop_cookies_total",
    help: "Port-53 queries with a DNS cookie, by what it was (client_only, valid, invalid), and BADCOOKIE slips sent (badcookie_sent).",
    labelNames: ["result"] as const,
    registers: [this.registry],
    collect: (): void => this.cookieCounts.flush(this.cookies),
  });

  readonly transfers = new Counter({
    name: "backstop_transfers_total",
    help: "Transfer attempts by kind (soa, ixfr, axfr) and result (ok, up-to-date, error kind).",
    labelNames: ["kind", "result"] as const,
    registers: [this.registry],
  });

  readonly transferBytes = new Counter({
    name: "backstop_transfer_bytes_total",
    help: "Octets received in zone transfers (DNS messages, framing excluded).",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });

  readonly transferRecords = new Counter({
    name: "backstop_transfer_records_total",
    help: "Resource records received in zone transfers.",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });

  // Issue 28: what an IXFR costs in D1 (billed by rows), as the Worker counted it for the commit.
  readonly ixfrD1Rows = new Counter({
    name: "backstop_ixfr_d1_rows_total",
    help: "D1 rows read and written by the Worker to apply IXFR changesets, by direction (read, written).",
    labelNames: ["direction"] as const,
    registers: [this.registry],
  });

  // Issue 28, session 10: whether an IXFR's new version was stored from the changed nodes the replica
  // computed (`replica`: the Worker read no block) or from the Worker's own block reads (`worker`).
  readonly ixfrNodes = new Counter({
    name: "backstop_ixfr_nodes_total",
    help: "IXFRs committed, by where the changed nodes came from: replica (computed by this service, no block read) or worker.",
    labelNames: ["path"] as const,
    registers: [this.registry],
  });

  // Issue 19: HTTP calls to the Worker's /internal/v1 by route (the zone's name and numbers as :zone,
  // :version, :seq), so the round trips a zone costs can be counted (bench `zones`).
  readonly workerCalls = new Counter({
    name: "backstop_worker_calls_total",
    help: "Calls to the Worker's /internal/v1 by route (method and path pattern).",
    labelNames: ["route"] as const,
    registers: [this.registry],
  });

  readonly transferDuration = new Histogram({
    name: "backstop_transfer_duration_seconds",
    help: "Wall time of a transfer from connect to the last message, by kind and result.",
    labelNames: ["kind", "result"] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600],
    registers: [this.registry],
  });

  readonly notifies = new Counter({
    name: "backstop_notify_total",
    help: "NOTIFY messages received, by result (accepted, refused, notauth, notzone, formerr).",
    labelNames: ["result"] as const,
    registers: [this.registry],
  });

  // Transfers out (server/xfr-out/): one count per AXFR or IXFR request, by what it got.
  readonly xfrOut: Counter<"kind" | "result"> = new Counter({
    name: "backstop_xfr_out_total",
    help: "AXFR/IXFR requests from downstream secondaries, by kind (axfr, ixfr) and result (full, incremental, current, refused, notauth, tsig_error, tc, servfail, failed).",
    labelNames: ["kind", "result"] as const,
    registers: [this.registry],
  });
  readonly xfrOutReads: Counter<"source"> = new Counter({
    name: "backstop_xfr_out_reads_total",
    help: "Version record streams read for transfers out (and their SOA), by source: replica (the front's packed copy of exactly that version, in this process) or worker (read from the Worker's D1).",
    labelNames: ["source"] as const,
    registers: [this.registry],
  });

  readonly notifyOut: Counter<"result"> = new Counter({
    name: "backstop_notify_out_total",
    help: "NOTIFY sent to alsoNotify downstreams after a commit, per target, by result (answered, error, abandoned, forbidden, superseded).",
    labelNames: ["result"] as const,
    registers: [this.registry],
  });

  readonly dnsMessages: Counter<"transport" | "opcode" | "rcode"> = new Counter({
    name: "backstop_dns_messages_total",
    help: "DNS messages received on the listener, by transport, opcode and the rcode we answered.",
    labelNames: ["transport", "opcode", "rcode"] as const,
    registers: [this.registry],
    collect: (): void => this.messageCounts.flush(this.dnsMessages),
  });

  readonly tcpConnections = new Gauge({
    name: "backstop_dns_tcp_connections",
    help: "Open TCP connections on the DNS listener.",
    registers: [this.registry],
  });

  readonly tcpRejected = new Counter({
    name: "backstop_dns_tcp_rejected_total",
    help: "TCP connections closed at once because the connection limit was reached.",
    registers: [this.registry],
  });

  readonly tcpClosed = new Counter({
    name: "backstop_dns_tcp_closed_total",
    help: `TCP connections the DNS listener closed or refused, by reason (${TCP_CLOSE_REASONS.join(", ")}). Connections the client closed are not counted.`,
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });

  readonly rrlResponses: Counter<"action" | "category"> = new Counter({
    name: "backstop_rrl_responses_total",
    help: "UDP answers judged by response rate limiting, by category (response, nxdomain, nodata, referral, error): allowed, dropped, or slipped (sent empty with TC=1). In log-only mode, what would have been done.",
    labelNames: ["action", "category"] as const,
    registers: [this.registry],
    collect: (): void => this.rrlCounts.flush(this.rrlResponses),
  });

  readonly frontQueries: Counter<"result"> = new Counter({
    name: "backstop_front_queries_total",
    help: "Port-53 queries by how they were answered: hit (response cache), joined (the answer of the same query already on its way to the Worker), miss (Worker, then cached or not), uncacheable (Worker), local (answered here: REFUSED transfers, SERVFAIL), rate-limited, replica (answered by the engine from the front's replica, issue 27).",
    labelNames: ["result"] as const,
    registers: [this.registry],
    collect: (): void => this.frontCounts.flush(this.frontQueries),
  });

  readonly frontUpstreamFailures = new Counter({
    name: "backstop_front_upstream_failures_total",
    help: "Forwarded queries answered SERVFAIL by the front, by reason (timeout, unreachable, status, bad-answer, busy).",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });

  readonly frontUpstreamSeconds = new Histogram({
    name: "backstop_front_upstream_seconds",
    help: "Round trip of a forwarded query to the Worker's /dns-query.",
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  private zoneSource: ZoneGaugeSource | undefined;
  private now: () => number = Date.now;

  // Zone names go into labels only when the operator asks (BACKSTOP_METRICS_ZONE_LABELS=true): a scrape
  // must not list hidden zones. Without them, two gauges over all zones keep "is anything stale?" alertable.
  private zoneLabels = false;

  readonly zoneCount: Gauge = new Gauge({
    name: "backstop_zones",
    help: "Secondary zones this instance keeps.",
    registers: [this.registry],
    collect: (): void => this.zoneCount.set(this.zoneSource ? [...this.zoneSource.zoneStates()].length : 0),
  });

  readonly zonesMaxSinceCheck = new Gauge({
    name: "backstop_zones_max_seconds_since_last_check",
    help: "The most seconds since any zone's last successful SOA check or transfer (zones never checked left out).",
    registers: [this.registry],
    collect: () => this.refillMaxSinceCheck(),
  });

  readonly zoneSerial: Gauge<"zone"> = new Gauge({
    name: "backstop_zone_serial",
    help: "The SOA serial of the zone's committed version.",
    labelNames: ["zone"] as const,
    registers: [this.registry],
    // Refilled at every scrape from the live state (arrow: `this` is the Metrics object).
    collect: () => this.refillSerials(),
  });

  readonly zoneSinceCheck: Gauge<"zone"> = new Gauge({
    name: "backstop_zone_seconds_since_last_check",
    help: "Seconds since the zone's last successful SOA check or transfer.",
    labelNames: ["zone"] as const,
    registers: [this.registry],
    collect: () => this.refillSinceCheck(),
  });

  // Alert gauges (issue 25), per zone and only with zone labels, like the two above; the rules that read
  // them are docs/alerts/backstop.rules.yml. Refilled at every scrape, so the times count down between checks.
  readonly zoneSerialBehind: Gauge<"zone"> = this.zoneGauge(
    "backstop_zone_serial_behind",
    "How far the primary's last reported serial is ahead of the served one (RFC 1982 arithmetic); 0 when not ahead.",
    (z) => {
      if (z.serial === null || z.primarySerial == null) return undefined;
      const ahead = (z.primarySerial - z.serial + 2 ** 32) % 2 ** 32;
      return ahead < 2 ** 31 ? ahead : 0;
    },
  );

  readonly zoneExpiresIn: Gauge<"zone"> = this.zoneGauge(
    "backstop_zone_expires_in_seconds",
    "Seconds until the zone stops being served (EXPIRE after the last good check); negative once expired.",
    (z, now) => (z.serial !== null && z.expiresAt != null ? (z.expiresAt - now) / 1000 : undefined),
  );

  readonly zoneExpire: Gauge<"zone"> = this.zoneGauge(
    "backstop_zone_expire_seconds",
    "The zone's EXPIRE in force (the SOA value after the clamps), for rules on the fraction left.",
    (z) => z.expireSeconds ?? undefined,
  );

  readonly zoneRrsigExpiresIn: Gauge<"zone"> = this.zoneGauge(
    "backstop_zone_rrsig_expires_in_seconds",
    "Seconds until the earliest RRSIG of the served version expires (signed zones only); negative once past.",
    (z, now) => (z.serial !== null && z.rrsigExpiresAt != null ? (z.rrsigExpiresAt - now) / 1000 : undefined),
  );

  readonly zoneConsecutiveFailures: Gauge<"zone"> = this.zoneGauge(
    "backstop_zone_consecutive_failures",
    "Refresh attempts of this instance that failed in a row (0 after a good check).",
    (z) => z.consecutiveFailures,
  );

  constructor(options: { defaultMetrics?: boolean; process?: number } = {}) {
    // Process RSS, heap and event-loop lag: what an operator watches during a 1M-record transfer.
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: "backstop_" });
    // Every reason from the first scrape, so a rate() over a reason that never happened yet is 0, not absent.
    for (const reason of TCP_CLOSE_REASONS) this.tcpClosed.inc({ reason }, 0);
    if (options.process !== undefined) this.frontProcessSlot(options.process);
  }

  /** One DNS message received, by transport, opcode and the rcode answered (-1: no reply). */
  countMessage(transport: "udp" | "tcp", opcode: number, rcode: number): void {
    this.messageCounts.add(messageSlot(transport, opcode, rcode));
    this.processMessages++;
  }

  /** One TCP connection closed or refused by the listener, and why. */
  countTcpClosed(reason: TcpCloseReason): void {
    this.tcpClosed.inc({ reason });
  }

  /** One port-53 query, by how the front answered it. */
  countFront(result: FrontResult): void {
    this.frontCounts.add(FRONT_SLOT[result]);
  }

  /** One UDP answer judged by response rate limiting. */
  countRrl(action: RrlAction, category: RrlCategory): void {
    this.rrlCounts.add(RRL_CATEGORY_SLOT[category] * RRL_ACTIONS.length + RRL_SLOT[action]);
  }

  /** One DNS cookie seen, or one BADCOOKIE slip sent, by the port-53 front. */
  countCookie(result: CookieResult): void {
    this.cookieCounts.add(COOKIE_SLOT[result]);
  }

  /**
   * Wires the zone gauges to `source`; they are refilled at every scrape. The per-zone ones (a `zone`
   * label) stay empty unless `zoneLabels` is true.
   */
  watchZones(source: ZoneGaugeSource, options: { now?: () => number; zoneLabels?: boolean } = {}): void {
    this.zoneSource = source;
    this.now = options.now ?? Date.now;
    this.zoneLabels = options.zoneLabels ?? false;
  }

  private refillMaxSinceCheck(): void {
    this.zonesMaxSinceCheck.reset();
    if (!this.zoneSource) return;
    const now = this.now();
    let max: number | undefined;
    for (const z of this.zoneSource.zoneStates()) if (z.lastCheckAt !== null) max = Math.max(max ?? 0, (now - z.lastCheckAt) / 1000);
    if (max !== undefined) this.zonesMaxSinceCheck.set(max);
  }

  private refillSerials(): void {
    if (!this.zoneSource) return;
    this.zoneSerial.reset();
    if (!this.zoneLabels) return;
    for (const z of this.zoneSource.zoneStates()) if (z.serial !== null) this.zoneSerial.set({ zone: z.zone }, z.serial);
  }

  private refillSinceCheck(): void {
    if (!this.zoneSource) return;
    this.zoneSinceCheck.reset();
    if (!this.zoneLabels) return;
    const now = this.now();
    for (const z of this.zoneSource.zoneStates()) {
      if (z.lastCheckAt !== null) this.zoneSinceCheck.set({ zone: z.zone }, Math.max(0, (now - z.lastCheckAt) / 1000));
    }
  }

  /** A per-zone gauge refilled at every scrape from `value` (undefined: no sample for that zone). */
  private zoneGauge(name: string, help: string, value: (z: ZoneGaugeState, now: number) => number | undefined): Gauge<"zone"> {
    const gauge: Gauge<"zone"> = new Gauge({
      name,
      help,
      labelNames: ["zone"] as const,
      registers: [this.registry],
      collect: () => {
        gauge.reset();
        if (!this.zoneSource || !this.zoneLabels) return;
        const now = this.now();
        for (const z of this.zoneSource.zoneStates()) {
          const v = value(z, now);
          if (v !== undefined) gauge.set({ zone: z.zone }, v);
        }
      },
    });
    return gauge;
  }

  // ---- The multi-process front (issue 18, server/front-processes.ts) ----------------------------------
  // Each query process counts its DNS messages under its own `process` slot (1..N, kept by a replacement),
  // so the merged /metrics shows that every process answers; the owner process counts the processes up and
  // their restarts, and merges every process's registry into one exposition at scrape time
  // (prom-client's AggregatorRegistry: counters and histograms summed, default metrics by their own rule).

  private processMessages = 0;
  private others: (() => Promise<MetricsJson[]>) | undefined;

  /** Query processes answering (the owner process's count). */
  readonly frontProcesses = new Gauge({
    name: "backstop_front_processes",
    help: "Query processes of the multi-process port-53 front (BACKSTOP_FRONT_PROCESSES) running now.",
    registers: [],
  });

  readonly frontProcessRestarts = new Counter({
    name: "backstop_front_process_restarts_total",
    help: "Query processes of the port-53 front that died and were started again.",
    registers: [],
  });

  /** This registry as a query process's: its messages counted under `process="slot"`. */
  private frontProcessSlot(slot: number): void {
    let flushed = 0;
    const counter: Counter<"process"> = new Counter({
      name: "backstop_front_process_messages_total",
      help: "DNS messages received by each query process of the multi-process front, by its slot (1..N; a restarted process keeps its slot and starts from 0).",
      labelNames: ["process"] as const,
      registers: [this.registry],
      collect: (): void => {
        counter.inc({ process: String(slot) }, this.processMessages - flushed);
        flushed = this.processMessages;
      },
    });
    counter.inc({ process: String(slot) }, 0);
  }

  /**
   * This registry as the owner process's: `render` adds what `others` returns (each query process's
   * registry as JSON) to its own, and shows the processes' gauge and restarts counter.
   */
  mergeProcesses(others: () => Promise<MetricsJson[]>): void {
    this.others = others;
    this.registry.registerMetric(this.frontProcesses);
    this.registry.registerMetric(this.frontProcessRestarts);
  }

  /** This registry as JSON, for the owner process to merge (`mergeProcesses`). */
  json(): Promise<MetricsJson> {
    return this.registry.getMetricsAsJSON();
  }

  /** The exposition text and its content type. */
  async render(): Promise<{ contentType: string; body: string }> {
    if (this.others === undefined) return { contentType: this.registry.contentType, body: await this.registry.metrics() };
    const [own, others] = await Promise.all([this.registry.getMetricsAsJSON(), this.others()]);
    const merged = AggregatorRegistry.aggregate([own, ...others]);
    return { contentType: this.registry.contentType, body: await merged.metrics() };
  }

  // ---- Issue 27: the port-53 front's replica (`server/replica/replica.ts`); summed over query processes. ----
  private replicaStats: (() => { zones: number; bytes: number; records: number }) | undefined;

  readonly replicaZones: Gauge = new Gauge({
    name: "backstop_replica_zones",
    help: "Zones the port-53 front holds in its replica at their served version (per query process, summed).",
    registers: [this.registry],
    collect: (): void => this.replicaZones.set(this.replicaStats?.().zones ?? 0),
  });

  readonly replicaBytes: Gauge = new Gauge({
    name: "backstop_replica_bytes",
    help: "Octets of the zones held in the replica (bounded by BACKSTOP_REPLICA_MAX_BYTES per process).",
    registers: [this.registry],
    collect: (): void => this.replicaBytes.set(this.replicaStats?.().bytes ?? 0),
  });

  readonly replicaRecords: Gauge = new Gauge({
    name: "backstop_replica_records",
    help: "Records of the zones held in the replica.",
    registers: [this.registry],
    collect: (): void => this.replicaRecords.set(this.replicaStats?.().records ?? 0),
  });

  readonly replicaLoadSeconds: Histogram<"kind"> = new Histogram({
    name: "backstop_replica_load_seconds",
    help: "Time to load one zone version into the replica: read whole from the Worker and packed (kind full), the held version with the journal's IXFR changesets applied copy-on-write (kind ixfr), built from this process's own transfer and installed at its commit (kind owner), or from what the owner process relayed: its snapshot file or changesets (kind snapshot).",
    labelNames: ["kind"] as const,
    buckets: [0.001, 0.005, 0.025, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });

  readonly replicaStaleSeconds = new Histogram({
    name: "backstop_replica_stale_window_seconds",
    help: "Stale windows: from learning of a newer committed version of a held zone to holding it (its queries are forwarded meanwhile).",
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  /** The replica whose size the gauges show. */
  watchReplica(stats: () => { zones: number; bytes: number; records: number }): void {
    this.replicaStats = stats;
  }
}

/** One registry's metrics as prom-client's `getMetricsAsJSON` gives them (what crosses between processes). */
export type MetricsJson = Awaited<ReturnType<Registry["getMetricsAsJSON"]>>;
