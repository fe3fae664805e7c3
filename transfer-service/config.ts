/**
 * @module The transfer-service's configuration, read from the environment only (the container image takes
 * nothing else), validated with zod. Every setting has a documented default that suits `npm start`; only the
 * Worker's URL and the internal token must come from outside.
 *
 * Timer clamps follow BIND's `min-refresh-time`/`max-refresh-time`/`min-retry-time`/`max-retry-time`
 * (defaults 300 s / 4 weeks / 500 s / 2 weeks) and Knot's `expire-min-interval`; transfer timeouts follow
 * BIND's `max-transfer-idle-in` (60 min) and `max-transfer-time-in` (120 min).
 */
import { availableParallelism } from "node:os";
import { type ListenAddress, parseListenAddress, parsePrefix } from "./addresses.ts";
import type { XfrLimits } from "./remote/xfr-in.ts";
import type { RrlRates } from "./server/query/rrl.ts";
import type { TimerClamps } from "./zones/refresh/soa-timers.ts";
import { type NameserverMap, parseNameserverMap } from "./zones/verify.ts";
import { z } from "zod";

const listenList = z
  .string()
  .transform((text, ctx) => {
    const out: ListenAddress[] = [];
    for (const part of text.split(",").filter((p) => p.trim() !== "")) {
      try {
        out.push(parseListenAddress(part));
      } catch (err) {
        ctx.addIssue({ code: "custom", message: (err as Error).message });
        return z.NEVER;
      }
    }
    if (out.length === 0) {
      ctx.addIssue({ code: "custom", message: "at least one address is needed" });
      return z.NEVER;
    }
    return out;
  });

/** A whole number from an env string, within bounds. */
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const seconds = (min: number, max: number) => int(min, max);
/** A 128-bit secret written as 32 hex digits (a DNS cookie secret, as RFC 9018's examples write one). */
const hex128 = (name: string) => z.string().regex(/^[0-9a-fA-F]{32}$/, `${name} must be 32 hex digits (128 bits)`);

const envSchema = z
  .object({
    BACKSTOP_WORKER_URL: z.url({ protocol: /^https?$/ }).default("http://127.0.0.1:8787"),
    BACKSTOP_INTERNAL_TOKEN: z.string().min(16, "BACKSTOP_INTERNAL_TOKEN must be at least 16 characters"),
    /** Who we are in leases and the transfer log; several instances must differ. */
    BACKSTOP_INSTANCE_ID: z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/).optional(),
    BACKSTOP_DNS_LISTEN: listenList.default([
      { host: "127.0.0.1", port: 5053 },
      { host: "::1", port: 5053 },
    ]),
    BACKSTOP_HTTP_LISTEN: z
      .string()
      .transform((text, ctx) => {
        try {
          return parseListenAddress(text);
        } catch (err) {
          ctx.addIssue({ code: "custom", message: (err as Error).message });
          return z.NEVER;
        }
      })
      .default({ host: "127.0.0.1", port: 9153 }),
    // HTTP/2 DoH front, for local use: dig +https / kdig +https need HTTP/2 and workerd speaks only HTTP/1.1.
    // In production Cloudflare's edge serves HTTP/2 to the Worker itself, so it is off unless asked for
    // (`npm start` sets 127.0.0.1:8443). BACKSTOP_DOH_H2C_PORT adds a cleartext HTTP/2 listener on the same host.
    BACKSTOP_DOH_LISTEN: z
      .string()
      .transform((text, ctx) => {
        if (text === "off") return undefined;
        try {
          return parseListenAddress(text);
        } catch (err) {
          ctx.addIssue({ code: "custom", message: (err as Error).message });
          return z.NEVER;
        }
      })
      .optional(),
    BACKSTOP_DOH_H2C_PORT: int(0, 65535).optional(),
    BACKSTOP_DOH_TLS_CERT: z.string().min(1).optional(),
    BACKSTOP_DOH_TLS_KEY: z.string().min(1).optional(),
    // GET /metrics on the HTTP port (ops/control-http.ts): a bearer token (Prometheus's `authorization`
    // setting). Without one, /metrics answers only when the port listens on loopback. Zone names appear in
    // labels only when asked for: hidden zones' names must not leak through a scrape.
    BACKSTOP_METRICS_TOKEN: z.string().min(16, "BACKSTOP_METRICS_TOKEN must be at least 16 characters").optional(),
    BACKSTOP_METRICS_ZONE_LABELS: z.enum(["true", "false", "1", "0"]).default("false").transform((v) => v === "true" || v === "1"),
    BACKSTOP_LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),

    // DNS listener (RFC 7766 §6.2.3: idle timeouts of seconds; bounded connections).
    BACKSTOP_TCP_IDLE_TIMEOUT_MS: int(100, 600_000).default(10_000),
    BACKSTOP_TCP_MAX_CONNECTIONS: int(1, 100_000).default(512),
    // What a TCP client may hold (dns-listener.ts `TcpLimits`): a message whole within 500 ms of its first
    // octet (Knot's tcp-io-timeout); the first message within 2.5 s of connecting (BIND's smallest
    // tcp-initial-timeout); 64 connections per client prefix (RRL's /24 and /56; 0 = no cap); and answers left
    // unread: reading stops past 256 KiB, and the connection is closed when it stays so for 5 s.
    BACKSTOP_TCP_IO_TIMEOUT_MS: int(50, 60_000).default(500),
    BACKSTOP_TCP_INITIAL_TIMEOUT_MS: int(100, 600_000).default(2_500),
    BACKSTOP_TCP_MAX_PER_PREFIX: int(0, 100_000).default(64),
    /** At least 64 KiB: above the socket's own high-water mark, so the write that crosses it always sees 'drain'. */
    BACKSTOP_TCP_MAX_UNSENT_BYTES: int(64 * 1024, 64 * 1024 * 1024).default(256 * 1024),
    BACKSTOP_TCP_WRITE_TIMEOUT_MS: int(100, 600_000).default(5_000),

    // The port-53 front: QUERY forwarded to the Worker's /dns-query (query-forward.ts).
    /** Bound on one forward; past it the front answers SERVFAIL (resolvers give up on a server after ~1–2 s). */
    BACKSTOP_FRONT_TIMEOUT_MS: int(50, 60_000).default(1_500),
    BACKSTOP_FRONT_MAX_IN_FLIGHT: int(1, 1_000_000).default(2_048),
    /** Keep-alive HTTP/1.1 connections to the Worker. */
    BACKSTOP_FRONT_CONNECTIONS: int(1, 1_024).default(32),
    /** Response cache entries (response-cache.ts); 0 turns the cache off. */
    BACKSTOP_FRONT_CACHE_ENTRIES: int(0, 10_000_000).default(100_000),
    /** Entry lifetime counted from the Worker's pointer read; never above a second. */
    BACKSTOP_FRONT_CACHE_TTL_MS: int(1, 1_000).default(1_000),
    /**
     * Processes answering port 53 (issue 18, server/front-processes.ts): N query processes sharing the
     * sockets, beside the one owner process (refresh, NOTIFY, transfers out, control HTTP). Default: the
     * machine's cores; 1 keeps one process that does everything.
     */
    // One per core, at most 8 by default: past that the shared UDP socket's wake-ups cost more than they give
    // (measured at 2), and every spawned service (tests, npm start on a big machine) would start dozens.
    BACKSTOP_FRONT_PROCESSES: int(1, 256).default(Math.min(availableParallelism(), 8)),
    // Issue 27: the front's replica (server/replica/): zones answered by the engine in the front.
    /** Records of the largest zone the replica holds; bigger zones are forwarded (with the response cache). */
    BACKSTOP_REPLICA_MAX_RECORDS: int(0, 100_000_000).default(1_000_000),
    /** Octets of every zone held by the instance (1/N per query process; least recently asked evicted first); 0 turns the replica off. */
    BACKSTOP_REPLICA_MAX_BYTES: int(0, 2 ** 45).default(2 ** 30),
    /** How often the replica reads the zone change feed; a read vouches for a second, so keep it well under 1000. */
    BACKSTOP_REPLICA_POLL_MS: int(20, 900).default(250),
    /**
     * This front's name server identifier (RFC 5001), sent to a query that asks with an empty NSID option;
     * empty (the default) answers none. Printable ASCII, so an operator can tell which front or location
     * answered (`dig +nsid`, `kdig +nsid`).
     */
    BACKSTOP_NSID: z
      .string()
      .regex(/^[\x21-\x7e]{0,128}$/, "BACKSTOP_NSID must be at most 128 printable ASCII characters without spaces")
      .default(""),

    // DNS Cookies (RFC 7873) with RFC 9018 server cookies (server/query/cookie.ts).
    /**
     * The 128-bit server secret (32 hex digits) server cookies are made with; every instance behind one
     * address needs the same. Unset: a random one per process (cookies then do not survive a restart).
     */
    BACKSTOP_COOKIE_SECRET: hex128("BACKSTOP_COOKIE_SECRET").optional(),
    /** The secret before a rotation: its cookies are still accepted, never issued. */
    BACKSTOP_COOKIE_SECRET_PREVIOUS: hex128("BACKSTOP_COOKIE_SECRET_PREVIOUS").optional(),

    // Response rate limiting for UDP answers (rrl.ts; BIND's rate-limit { } clause, Knot's mod-rrl).
    /**
     * Identical answers per second per client prefix (BIND's `responses-per-second`); 0 turns RRL off for
     * positive answers. The other categories default to it, as in BIND.
     */
    BACKSTOP_RRL_RESPONSES_PER_SECOND: int(0, 1_000_000).default(20),
    BACKSTOP_RRL_NXDOMAINS_PER_SECOND: int(0, 1_000_000).optional(),
    BACKSTOP_RRL_NODATA_PER_SECOND: int(0, 1_000_000).optional(),
    BACKSTOP_RRL_REFERRALS_PER_SECOND: int(0, 1_000_000).optional(),
    BACKSTOP_RRL_ERRORS_PER_SECOND: int(0, 1_000_000).optional(),
    /** Every answer to a prefix, whatever it is (BIND's `all-per-second`): off by default, as in BIND. */
    BACKSTOP_RRL_ALL_PER_SECOND: int(0, 1_000_000).default(0),
    /** `true`: count and log what would be limited, limit nothing (BIND's `log-only yes`). */
    BACKSTOP_RRL_LOG_ONLY: z.enum(["true", "false", "1", "0"]).default("false").transform((v) => v === "true" || v === "1"),
    BACKSTOP_RRL_WINDOW_S: int(1, 3_600).default(15),
    BACKSTOP_RRL_SLIP: int(0, 10).default(2),
    BACKSTOP_RRL_IPV4_PREFIX: int(8, 32).default(24),
    BACKSTOP_RRL_IPV6_PREFIX: int(16, 128).default(56),
    BACKSTOP_RRL_TABLE_SIZE: int(1, 10_000_000).default(20_000),
    /** Comma-separated prefixes or addresses never rate limited. */
    BACKSTOP_RRL_EXEMPT: z
      .string()
      .transform((text, ctx) => {
        const out: string[] = [];
        for (const part of text.split(",").map((p) => p.trim()).filter((p) => p !== "")) {
          if (parsePrefix(part) === undefined) {
            ctx.addIssue({ code: "custom", message: `"${part}" is not an address or CIDR prefix` });
            return z.NEVER;
          }
          out.push(part);
        }
        return out;
      })
      .default([]),

    /**
     * Verify (issue 24): where to ask each published nameserver for the SOA, `name=address[:port],…` (port
     * 53 by default); wins over in-zone glue. Out-of-zone NS names without an entry are reported, not resolved.
     */
    BACKSTOP_VERIFY_NAMESERVERS: z
      .string()
      .transform((text, ctx) => {
        try {
          return parseNameserverMap(text);
        } catch (err) {
          ctx.addIssue({ code: "custom", message: (err as Error).message });
          return z.NEVER;
        }
      })
      .default({}),

    // SOA queries: one UDP try per primary takes at most this long, then the next try or primary.
    BACKSTOP_SOA_TIMEOUT_MS: int(50, 60_000).default(2_000),
    BACKSTOP_SOA_TRIES: int(1, 10).default(2),
    /**
     * Refresh attempts (each begins with an SOA query) started per second across all zones (BIND's
     * `serial-query-rate`, default 20): a restart with many zones due spreads its checks. 0: no limit.
     */
    BACKSTOP_SERIAL_QUERY_RATE: int(0, 100_000).default(20),

    // Transfers in (BIND: max-transfer-idle-in 60 min, max-transfer-time-in 120 min).
    BACKSTOP_XFR_CONNECT_TIMEOUT_MS: int(50, 120_000).default(10_000),
    BACKSTOP_XFR_IDLE_TIMEOUT_S: seconds(1, 86_400).default(3_600),
    // Until the first octets of the answer (capped by the idle timeout): a new zone's bootstrap AXFR is the
    // first thing a primary is asked, with no SOA query before it to show that it answers (Knot: 5 s).
    BACKSTOP_XFR_FIRST_MESSAGE_TIMEOUT_MS: int(100, 3_600_000).default(30_000),
    BACKSTOP_XFR_TOTAL_TIMEOUT_S: seconds(1, 172_800).default(7_200),
    // Per transfer; a zone's own `maxRecords` / `maxBytes` (set through the API) win. 1 GiB, not the 16 GiB
    // this once was: D1 holds 10 GB in all, and PowerDNS caps a transfer at 100 MB (CVE-2016-6172); a
    // 1M-record zone is about 40 MB on the wire, so 1 GiB leaves room for ~20M records.
    BACKSTOP_XFR_MAX_RECORDS: int(1, 1_000_000_000).default(50_000_000),
    BACKSTOP_XFR_MAX_BYTES: int(1, Number.MAX_SAFE_INTEGER).default(1024 ** 3),
    /** BIND 9.18.28's per-name guards (CVE-2024-1737): records in one RRset, RRset types at one name. */
    BACKSTOP_XFR_MAX_RECORDS_PER_TYPE: int(1, 1_000_000).default(100),
    BACKSTOP_XFR_MAX_TYPES_PER_NAME: int(1, 65_536).default(100),
    /**
     * The share of D1's 10 GB the service may fill: a full transfer whose octets would take the database past
     * it is refused (the Worker reports the size when an ingest begins). 0 turns the guard off.
     */
    BACKSTOP_D1_MAX_BYTES: int(0, Number.MAX_SAFE_INTEGER).default(9_000_000_000),
    /** Records handed to the ingest sink per chunk (bounded memory; D1 statements are small). */
    BACKSTOP_XFR_CHUNK_RECORDS: int(1, 100_000).default(2_000),
    /**
     * Issue 28: who cuts a full transfer's chunks into D1 blocks: the Worker (`worker`: chunks go as record
     * streams) or this service (`service`: the Worker only checks and binds them, ~20–25% less Worker CPU, at
     * ~0.6–1.0 s more service CPU per million records). `worker` by default: on a machine where the service
     * and workerd share the cores, as in `npm run bench`, it was as fast or faster (docs/benchmarks.md,
     * session 7); `service` is for a service with cores of its own and a Worker whose CPU is billed.
     */
    BACKSTOP_INGEST_CUT: z.enum(["service", "worker"]).default("worker"),
    BACKSTOP_MAX_CONCURRENT_TRANSFERS: int(1, 1_000).default(8),
    /** Issue 19: transfers from one primary (address and port) at once, BIND's `transfers-per-ns`. 0: no limit. */
    BACKSTOP_TRANSFERS_PER_PRIMARY: int(0, 1_000).default(2),
    /** Where transfers spool messages the Worker has not taken yet (default: the OS temp dir). */
    BACKSTOP_XFR_SPOOL_DIR: z.string().min(1).optional(),

    // SOA timer clamps, seconds.
    BACKSTOP_MIN_REFRESH_S: seconds(1, 2 ** 31 - 1).default(300),
    BACKSTOP_MAX_REFRESH_S: seconds(1, 2 ** 31 - 1).default(2_419_200),
    BACKSTOP_MIN_RETRY_S: seconds(1, 2 ** 31 - 1).default(500),
    BACKSTOP_MAX_RETRY_S: seconds(1, 2 ** 31 - 1).default(1_209_600),
    BACKSTOP_MIN_EXPIRE_S: seconds(1, 2 ** 31 - 1).default(3_600),
    BACKSTOP_MAX_EXPIRE_S: seconds(1, 2 ** 31 - 1).default(14_515_200),

    /** Per-primary backoff after a failure: doubles from the base up to the max. */
    BACKSTOP_PRIMARY_BACKOFF_BASE_S: seconds(1, 86_400).default(10),
    BACKSTOP_PRIMARY_BACKOFF_MAX_S: seconds(1, 86_400).default(3_600),

    // Worker signals and leases.
    BACKSTOP_POLL_INTERVAL_S: seconds(1, 3_600).default(5),
    BACKSTOP_LEASE_TTL_S: seconds(5, 86_400).default(120),
    BACKSTOP_WORKER_TIMEOUT_MS: int(100, 600_000).default(30_000),
    /** Grace for in-flight work on SIGTERM before the process exits anyway. */
    BACKSTOP_SHUTDOWN_GRACE_MS: int(0, 600_000).default(10_000),
  })
  .superRefine((env, ctx) => {
    const pairs: Array<[keyof typeof env, keyof typeof env]> = [
      ["BACKSTOP_MIN_REFRESH_S", "BACKSTOP_MAX_REFRESH_S"],
      ["BACKSTOP_MIN_RETRY_S", "BACKSTOP_MAX_RETRY_S"],
      ["BACKSTOP_MIN_EXPIRE_S", "BACKSTOP_MAX_EXPIRE_S"],
      ["BACKSTOP_PRIMARY_BACKOFF_BASE_S", "BACKSTOP_PRIMARY_BACKOFF_MAX_S"],
      ["BACKSTOP_XFR_IDLE_TIMEOUT_S", "BACKSTOP_XFR_TOTAL_TIMEOUT_S"],
    ];
    for (const [lo, hi] of pairs) {
      if ((env[lo] as number) > (env[hi] as number)) {
        ctx.addIssue({ code: "custom", path: [lo], message: `${lo} is above ${hi}` });
      }
    }
    if (env.BACKSTOP_COOKIE_SECRET_PREVIOUS !== undefined && env.BACKSTOP_COOKIE_SECRET === undefined) {
      ctx.addIssue({ code: "custom", path: ["BACKSTOP_COOKIE_SECRET_PREVIOUS"], message: "BACKSTOP_COOKIE_SECRET_PREVIOUS needs BACKSTOP_COOKIE_SECRET (the secret it was rotated to)" });
    }
    if ((env.BACKSTOP_DOH_TLS_CERT === undefined) !== (env.BACKSTOP_DOH_TLS_KEY === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: ["BACKSTOP_DOH_TLS_CERT"],
        message: "BACKSTOP_DOH_TLS_CERT and BACKSTOP_DOH_TLS_KEY go together: set both, or neither for a self-signed pair",
      });
    }
  });

export interface Config {
  workerUrl: string;
  /** Bearer token for the Worker's /internal/v1 and our own /control. Never logged (see log.ts). */
  internalToken: string;
  instanceId: string;
  dnsListen: ListenAddress[];
  httpListen: ListenAddress;
  /**
   * The HTTP/2 DoH front for local use: TLS listener (undefined = off, the default), optional h2c port on the
   * same host, and the certificate (a self-signed one is generated when absent).
   */
  doh: { listen: ListenAddress | undefined; h2cPort: number | undefined; tls: { certPath: string; keyPath: string } | undefined };
  logLevel: string;
  /** `/metrics`: its bearer token (never logged), and whether zone names go into labels. */
  metrics: { token: string | undefined; zoneLabels: boolean };
  tcp: {
    idleTimeoutMs: number;
    maxConnections: number;
    ioTimeoutMs: number;
    initialTimeoutMs: number;
    maxPerPrefix: number;
    maxUnsentBytes: number;
    writeTimeoutMs: number;
  };
  /** The port-53 front (forward, response cache) and its rate limiting. */
  front: { timeoutMs: number; maxInFlight: number; connections: number; cacheEntries: number; cacheTtlMs: number; nsid: Uint8Array | undefined; processes: number };
  /** Issue 27: the front's replica; `maxBytes` 0 is off. */
  replica: { maxRecords: number; maxBytes: number; pollMs: number };
  /** DNS Cookies: the server secret (16 octets; undefined: the service makes a random one) and the previous one. Never logged. */
  cookies: { secret: Uint8Array | undefined; previous: Uint8Array | undefined };
  rrl: {
    rates: RrlRates;
    logOnly: boolean;
    windowS: number;
    slip: number;
    ipv4PrefixLength: number;
    ipv6PrefixLength: number;
    tableSize: number;
    exempt: string[];
  };
  /** Verify (issue 24): nameserver name → addresses to ask it at. */
  verify: { nameservers: NameserverMap };
  /** SOA queries: per-try timeout, tries, and refresh attempts started per second (0: no limit). */
  soa: { timeoutMs: number; tries: number; serialQueryRate: number };
  /**
   * The transfer client's limits (the service's defaults: a zone's own win), how many transfers run at
   * once, where they spool, and the D1 size guard (0: off).
   */
  xfr: XfrLimits & { maxConcurrent: number; spoolDir: string | undefined; d1MaxBytes: number; perPrimary: number };
  clamps: TimerClamps;
  backoff: { baseMs: number; maxMs: number };
  pollIntervalMs: number;
  leaseTtlMs: number;
  workerTimeoutMs: number;
  /** Issue 28: who cuts full-transfer chunks into D1 blocks (`BACKSTOP_INGEST_CUT`). */
  ingestCut: "service" | "worker";
  shutdownGraceMs: number;
}

/** A configuration that cannot be used; `issues` says which variable and why (values are never echoed). */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(readonly issues: string[]) {
    super(`invalid configuration:\n  ${issues.join("\n  ")}`);
  }
}

/**
 * Reads the configuration from `env` (normally `process.env`).
 * @throws ConfigError listing every bad variable.
 */
export function loadConfig(env: Record<string, string | undefined>, defaultInstanceId = "backstop"): Config {
  // Empty strings count as unset, so `FOO=` in an env file means "use the default".
  const cleaned: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (k.startsWith("BACKSTOP_") && v !== undefined && v !== "") cleaned[k] = v;
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join(".") || "env"}: ${i.message}`));
  }
  const e = parsed.data;
  return {
    workerUrl: e.BACKSTOP_WORKER_URL.replace(/\/+$/, ""),
    internalToken: e.BACKSTOP_INTERNAL_TOKEN,
    instanceId: e.BACKSTOP_INSTANCE_ID ?? defaultInstanceId,
    dnsListen: e.BACKSTOP_DNS_LISTEN,
    httpListen: e.BACKSTOP_HTTP_LISTEN,
    doh: {
      listen: e.BACKSTOP_DOH_LISTEN,
      h2cPort: e.BACKSTOP_DOH_H2C_PORT,
      tls: e.BACKSTOP_DOH_TLS_CERT !== undefined && e.BACKSTOP_DOH_TLS_KEY !== undefined
        ? { certPath: e.BACKSTOP_DOH_TLS_CERT, keyPath: e.BACKSTOP_DOH_TLS_KEY }
        : undefined,
    },
    logLevel: e.BACKSTOP_LOG_LEVEL,
    metrics: { token: e.BACKSTOP_METRICS_TOKEN, zoneLabels: e.BACKSTOP_METRICS_ZONE_LABELS },
    tcp: {
      idleTimeoutMs: e.BACKSTOP_TCP_IDLE_TIMEOUT_MS,
      maxConnections: e.BACKSTOP_TCP_MAX_CONNECTIONS,
      ioTimeoutMs: e.BACKSTOP_TCP_IO_TIMEOUT_MS,
      initialTimeoutMs: e.BACKSTOP_TCP_INITIAL_TIMEOUT_MS,
      maxPerPrefix: e.BACKSTOP_TCP_MAX_PER_PREFIX,
      maxUnsentBytes: e.BACKSTOP_TCP_MAX_UNSENT_BYTES,
      writeTimeoutMs: e.BACKSTOP_TCP_WRITE_TIMEOUT_MS,
    },
    front: {
      timeoutMs: e.BACKSTOP_FRONT_TIMEOUT_MS,
      maxInFlight: e.BACKSTOP_FRONT_MAX_IN_FLIGHT,
      connections: e.BACKSTOP_FRONT_CONNECTIONS,
      cacheEntries: e.BACKSTOP_FRONT_CACHE_ENTRIES,
      cacheTtlMs: e.BACKSTOP_FRONT_CACHE_TTL_MS,
      nsid: e.BACKSTOP_NSID === "" ? undefined : new TextEncoder().encode(e.BACKSTOP_NSID),
      processes: e.BACKSTOP_FRONT_PROCESSES,
    },
    replica: { maxRecords: e.BACKSTOP_REPLICA_MAX_RECORDS, maxBytes: e.BACKSTOP_REPLICA_MAX_BYTES, pollMs: e.BACKSTOP_REPLICA_POLL_MS },
    cookies: {
      secret: e.BACKSTOP_COOKIE_SECRET === undefined ? undefined : new Uint8Array(Buffer.from(e.BACKSTOP_COOKIE_SECRET, "hex")),
      previous: e.BACKSTOP_COOKIE_SECRET_PREVIOUS === undefined ? undefined : new Uint8Array(Buffer.from(e.BACKSTOP_COOKIE_SECRET_PREVIOUS, "hex")),
    },
    rrl: {
      rates: {
        responses: e.BACKSTOP_RRL_RESPONSES_PER_SECOND,
        nxdomains: e.BACKSTOP_RRL_NXDOMAINS_PER_SECOND ?? e.BACKSTOP_RRL_RESPONSES_PER_SECOND,
        nodata: e.BACKSTOP_RRL_NODATA_PER_SECOND ?? e.BACKSTOP_RRL_RESPONSES_PER_SECOND,
        referrals: e.BACKSTOP_RRL_REFERRALS_PER_SECOND ?? e.BACKSTOP_RRL_RESPONSES_PER_SECOND,
        errors: e.BACKSTOP_RRL_ERRORS_PER_SECOND ?? e.BACKSTOP_RRL_RESPONSES_PER_SECOND,
        all: e.BACKSTOP_RRL_ALL_PER_SECOND,
      },
      logOnly: e.BACKSTOP_RRL_LOG_ONLY,
      windowS: e.BACKSTOP_RRL_WINDOW_S,
      slip: e.BACKSTOP_RRL_SLIP,
      ipv4PrefixLength: e.BACKSTOP_RRL_IPV4_PREFIX,
      ipv6PrefixLength: e.BACKSTOP_RRL_IPV6_PREFIX,
      tableSize: e.BACKSTOP_RRL_TABLE_SIZE,
      exempt: e.BACKSTOP_RRL_EXEMPT,
    },
    verify: { nameservers: e.BACKSTOP_VERIFY_NAMESERVERS },
    soa: { timeoutMs: e.BACKSTOP_SOA_TIMEOUT_MS, tries: e.BACKSTOP_SOA_TRIES, serialQueryRate: e.BACKSTOP_SERIAL_QUERY_RATE },
    xfr: {
      connectTimeoutMs: e.BACKSTOP_XFR_CONNECT_TIMEOUT_MS,
      idleTimeoutMs: e.BACKSTOP_XFR_IDLE_TIMEOUT_S * 1000,
      firstMessageTimeoutMs: e.BACKSTOP_XFR_FIRST_MESSAGE_TIMEOUT_MS,
      totalTimeoutMs: e.BACKSTOP_XFR_TOTAL_TIMEOUT_S * 1000,
      maxRecords: e.BACKSTOP_XFR_MAX_RECORDS,
      maxBytes: e.BACKSTOP_XFR_MAX_BYTES,
      maxRecordsPerType: e.BACKSTOP_XFR_MAX_RECORDS_PER_TYPE,
      maxTypesPerName: e.BACKSTOP_XFR_MAX_TYPES_PER_NAME,
      d1MaxBytes: e.BACKSTOP_D1_MAX_BYTES,
      chunkRecords: e.BACKSTOP_XFR_CHUNK_RECORDS,
      maxConcurrent: e.BACKSTOP_MAX_CONCURRENT_TRANSFERS,
      perPrimary: e.BACKSTOP_TRANSFERS_PER_PRIMARY,
      spoolDir: e.BACKSTOP_XFR_SPOOL_DIR,
    },
    clamps: {
      refresh: { min: e.BACKSTOP_MIN_REFRESH_S, max: e.BACKSTOP_MAX_REFRESH_S },
      retry: { min: e.BACKSTOP_MIN_RETRY_S, max: e.BACKSTOP_MAX_RETRY_S },
      expire: { min: e.BACKSTOP_MIN_EXPIRE_S, max: e.BACKSTOP_MAX_EXPIRE_S },
    },
    backoff: { baseMs: e.BACKSTOP_PRIMARY_BACKOFF_BASE_S * 1000, maxMs: e.BACKSTOP_PRIMARY_BACKOFF_MAX_S * 1000 },
    pollIntervalMs: e.BACKSTOP_POLL_INTERVAL_S * 1000,
    leaseTtlMs: e.BACKSTOP_LEASE_TTL_S * 1000,
    workerTimeoutMs: e.BACKSTOP_WORKER_TIMEOUT_MS,
    ingestCut: e.BACKSTOP_INGEST_CUT,
    shutdownGraceMs: e.BACKSTOP_SHUTDOWN_GRACE_MS,
  };
}

/** The configuration as it may be logged: everything but the tokens and the cookie secrets. */
export function describeConfig(config: Config): Omit<Config, "internalToken" | "cookies"> & { cookies: { secret: string; previous: string | undefined } } {
  const { internalToken: _secret, ...rest } = config;
  return {
    ...rest,
    metrics: { token: config.metrics.token === undefined ? undefined : "[set]", zoneLabels: config.metrics.zoneLabels },
    cookies: { secret: config.cookies.secret === undefined ? "[random per process]" : "[set]", previous: config.cookies.previous === undefined ? undefined : "[set]" },
  };
}
