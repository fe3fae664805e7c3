/**
 * @module Prometheus metrics for the transfer-service (prom-client), served at `GET /metrics`.
 *
 * One registry per service instance (not prom-client's global one), so tests can run several services in
 * one process. Per-zone gauges are computed at scrape time from the last-known state, so "seconds since the
 * last successful check" keeps growing while a primary is silent.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** What the per-zone gauges read at scrape time. */
export interface ZoneGaugeSource {
  /** Each zone's committed serial and the time (ms since epoch) of its last successful check. */
  zoneStates(): Iterable<{ zone: string; serial: number | null; lastCheckAt: number | null }>;
}

export class Metrics {
  readonly registry = new Registry();

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

  readonly dnsMessages = new Counter({
    name: "backstop_dns_messages_total",
    help: "DNS messages received on the listener, by transport, opcode and the rcode we answered.",
    labelNames: ["transport", "opcode", "rcode"] as const,
    registers: [this.registry],
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

  readonly rrlResponses = new Counter({
    name: "backstop_rrl_responses_total",
    help: "UDP answers judged by response rate limiting: allowed, dropped, or slipped (sent empty with TC=1).",
    labelNames: ["action"] as const,
    registers: [this.registry],
  });

  readonly frontQueries = new Counter({
    name: "backstop_front_queries_total",
    help: "Port-53 queries by how they were answered: hit (response cache), joined (the answer of the same query already on its way to the Worker), miss (Worker, then cached or not), uncacheable (Worker), local (answered here: REFUSED transfers, SERVFAIL), rate-limited.",
    labelNames: ["result"] as const,
    registers: [this.registry],
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

  constructor(options: { defaultMetrics?: boolean } = {}) {
    // Process RSS, heap and event-loop lag: what an operator watches during a 1M-record transfer.
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: "backstop_" });
  }

  /** Wires the per-zone gauges to `source`; they are refilled at every scrape. */
  watchZones(source: ZoneGaugeSource, now: () => number = Date.now): void {
    this.zoneSource = source;
    this.now = now;
  }

  private refillSerials(): void {
    if (!this.zoneSource) return;
    this.zoneSerial.reset();
    for (const z of this.zoneSource.zoneStates()) if (z.serial !== null) this.zoneSerial.set({ zone: z.zone }, z.serial);
  }

  private refillSinceCheck(): void {
    if (!this.zoneSource) return;
    this.zoneSinceCheck.reset();
    const now = this.now();
    for (const z of this.zoneSource.zoneStates()) {
      if (z.lastCheckAt !== null) this.zoneSinceCheck.set({ zone: z.zone }, Math.max(0, (now - z.lastCheckAt) / 1000));
    }
  }

  /** The exposition text and its content type. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
