/**
 * @module Configuration from the environment: defaults, parsing of listen addresses, bounds, clamps, and
 * errors that name the variable without echoing its value.
 */
import { availableParallelism } from "node:os";
import { describe, expect, it } from "vitest";
import { ConfigError, describeConfig, loadConfig } from "./config.ts";

const TOKEN = "a-long-enough-internal-token";

describe("loadConfig", () => {
  it("gives the documented defaults", () => {
    const c = loadConfig({ BACKSTOP_INTERNAL_TOKEN: TOKEN }, "host-1");
    expect(c.dnsListen).toEqual([
      { host: "127.0.0.1", port: 5053 },
      { host: "::1", port: 5053 },
    ]);
    expect(c.httpListen).toEqual({ host: "127.0.0.1", port: 9153 });
    expect(c.workerUrl).toBe("http://127.0.0.1:8787");
    expect(c.instanceId).toBe("host-1");
    // BIND's max-transfer-idle-in / max-transfer-time-in, min-/max-refresh-time, min-/max-retry-time.
    expect(c.xfr.idleTimeoutMs).toBe(60 * 60 * 1000);
    expect(c.xfr.totalTimeoutMs).toBe(120 * 60 * 1000);
    // Transfer limits (issue 20): 1 GiB a transfer, BIND 9.18.28's per-name guards, 90 % of D1's 10 GB.
    expect(c.xfr).toMatchObject({ maxRecords: 50_000_000, maxBytes: 1024 ** 3, maxRecordsPerType: 100, maxTypesPerName: 100, d1MaxBytes: 9_000_000_000 });
    // BIND's serial-query-rate.
    expect(c.soa.serialQueryRate).toBe(20);
    expect(c.clamps.refresh).toEqual({ min: 300, max: 2_419_200 });
    expect(c.clamps.retry).toEqual({ min: 500, max: 1_209_600 });
    // The port-53 front: a second of cache at most; RRL 20 identical answers a second (every category at
    // the responses rate, all-per-second off, as BIND), BIND's window 15, slip 2, /24 and /56.
    // One query process per core (issue 18), beside the owner process.
    expect(c.front).toEqual({ timeoutMs: 1_500, maxInFlight: 2_048, connections: 32, cacheEntries: 100_000, cacheTtlMs: 1_000, processes: availableParallelism() });
    expect(c.rrl).toEqual({
      rates: { responses: 20, nxdomains: 20, nodata: 20, referrals: 20, errors: 20, all: 0 },
      logOnly: false,
      windowS: 15,
      slip: 2,
      ipv4PrefixLength: 24,
      ipv6PrefixLength: 56,
      tableSize: 20_000,
      exempt: [],
    });
    // TCP: Knot's 500 ms per message, BIND's smallest initial timeout, 64 per prefix, 256 KiB unsent for 5 s.
    expect(c.tcp).toEqual({
      idleTimeoutMs: 10_000,
      maxConnections: 512,
      ioTimeoutMs: 500,
      initialTimeoutMs: 2_500,
      maxPerPrefix: 64,
      maxUnsentBytes: 256 * 1024,
      writeTimeoutMs: 5_000,
    });
  });

  it.each([
    { env: { BACKSTOP_DNS_LISTEN: "0.0.0.0:53,[::]:53" }, pick: (c: ReturnType<typeof loadConfig>) => c.dnsListen, want: [{ host: "0.0.0.0", port: 53 }, { host: "::", port: 53 }] },
    { env: { BACKSTOP_HTTP_LISTEN: "[::1]:9000" }, pick: (c: ReturnType<typeof loadConfig>) => c.httpListen, want: { host: "::1", port: 9000 } },
    { env: { BACKSTOP_WORKER_URL: "https://backstop.example.workers.dev/" }, pick: (c: ReturnType<typeof loadConfig>) => c.workerUrl, want: "https://backstop.example.workers.dev" },
    { env: { BACKSTOP_XFR_IDLE_TIMEOUT_S: "30" }, pick: (c: ReturnType<typeof loadConfig>) => c.xfr.idleTimeoutMs, want: 30_000 },
    { env: {}, pick: (c: ReturnType<typeof loadConfig>) => c.xfr.firstMessageTimeoutMs, want: 30_000 },
    { env: { BACKSTOP_XFR_FIRST_MESSAGE_TIMEOUT_MS: "1000" }, pick: (c: ReturnType<typeof loadConfig>) => c.xfr.firstMessageTimeoutMs, want: 1_000 },
    { env: { BACKSTOP_DNS_LISTEN: "" }, pick: (c: ReturnType<typeof loadConfig>) => c.dnsListen.length, want: 2 },
    { env: {}, pick: (c: ReturnType<typeof loadConfig>) => c.doh.listen, want: undefined },
    { env: { BACKSTOP_DOH_LISTEN: "127.0.0.1:8443", BACKSTOP_DOH_H2C_PORT: "8080" }, pick: (c: ReturnType<typeof loadConfig>) => c.doh, want: { listen: { host: "127.0.0.1", port: 8443 }, h2cPort: 8080, tls: undefined } },
    { env: { BACKSTOP_DOH_LISTEN: "off" }, pick: (c: ReturnType<typeof loadConfig>) => c.doh.listen, want: undefined },
    { env: { BACKSTOP_DOH_LISTEN: "[::1]:443", BACKSTOP_DOH_TLS_CERT: "/c.pem", BACKSTOP_DOH_TLS_KEY: "/k.pem" }, pick: (c: ReturnType<typeof loadConfig>) => c.doh.tls, want: { certPath: "/c.pem", keyPath: "/k.pem" } },
    { env: { BACKSTOP_RRL_EXEMPT: "192.0.2.0/24, 2001:db8::53 ,::ffff:198.51.100.0/120" }, pick: (c: ReturnType<typeof loadConfig>) => c.rrl.exempt, want: ["192.0.2.0/24", "2001:db8::53", "::ffff:198.51.100.0/120"] },
    { env: { BACKSTOP_RRL_RESPONSES_PER_SECOND: "0", BACKSTOP_FRONT_CACHE_ENTRIES: "0" }, pick: (c: ReturnType<typeof loadConfig>) => [c.rrl.rates.responses, c.rrl.rates.errors, c.front.cacheEntries], want: [0, 0, 0] },
    {
      env: { BACKSTOP_RRL_RESPONSES_PER_SECOND: "10", BACKSTOP_RRL_NXDOMAINS_PER_SECOND: "3", BACKSTOP_RRL_ERRORS_PER_SECOND: "0", BACKSTOP_RRL_ALL_PER_SECOND: "100" },
      pick: (c: ReturnType<typeof loadConfig>) => c.rrl.rates,
      want: { responses: 10, nxdomains: 3, nodata: 10, referrals: 10, errors: 0, all: 100 },
    },
    { env: { BACKSTOP_RRL_LOG_ONLY: "true" }, pick: (c: ReturnType<typeof loadConfig>) => c.rrl.logOnly, want: true },
    {
      env: { BACKSTOP_TCP_IO_TIMEOUT_MS: "250", BACKSTOP_TCP_INITIAL_TIMEOUT_MS: "1000", BACKSTOP_TCP_MAX_PER_PREFIX: "0", BACKSTOP_TCP_MAX_UNSENT_BYTES: "65536", BACKSTOP_TCP_WRITE_TIMEOUT_MS: "2000" },
      pick: (c: ReturnType<typeof loadConfig>) => [c.tcp.ioTimeoutMs, c.tcp.initialTimeoutMs, c.tcp.maxPerPrefix, c.tcp.maxUnsentBytes, c.tcp.writeTimeoutMs],
      want: [250, 1_000, 0, 65_536, 2_000],
    },
  ])("reads $env", ({ env, pick, want }) => {
    expect(pick(loadConfig({ BACKSTOP_INTERNAL_TOKEN: TOKEN, ...env }))).toEqual(want);
  });

  it.each([
    { env: {}, variable: "BACKSTOP_INTERNAL_TOKEN" },
    { env: { BACKSTOP_INTERNAL_TOKEN: "short" }, variable: "BACKSTOP_INTERNAL_TOKEN" },
    { env: { BACKSTOP_INTERNAL_TOKEN: TOKEN, BACKSTOP_DNS_LISTEN: "localhost" }, variable: "BACKSTOP_DNS_LISTEN" },
    { env: { BACKSTOP_INTERNAL_TOKEN: TOKEN, BACKSTOP_DNS_LISTEN: "127.0.0.1:70000" }, variable: "BACKSTOP_DNS_LISTEN" },
    { env: { BACKSTOP_INTERNAL_TOKEN: TOKEN, BACKSTOP_WORKER_URL: "ftp://x" }, variable: "BACKSTOP_WORKER_URL" },
    { env: { BACKSTOP_INTERNAL_TOKEN: TOKEN, BACKSTOP_MIN_REFRESH_S: "900", BACKSTOP_MAX_REFRESH_S: "600" }, variable: "BACKSTOP_MIN_REFRESH_S" },
    { env: { BACKSTOP_INTERNAL_TOKEN: TOKEN, BACKSTOP_SOA_TRIES: "zero" }, variable: "BACKSTOP_SOA_TRIES" },
    { env: { BACKSTOP_INTERNAL_TOKEN: TOKEN, BACKSTOP_LOG_LEVEL: "loud" }, variable: "BACKSTOP_LOG_LEVEL" },
    { env: { BACKSTOP_INTERNAL_TOKEN: TOKEN, BACKSTOP_DOH_LISTEN: "8443" }, variable: "BACKSTOP_DOH_LISTEN" },
    { env: { BACKSTOP_INTERNAL_TOKEN: TOKEN, BACKSTOP_DOH_TLS_CERT: "/c.pem" }, variable: "BACKSTOP_DOH_TLS_KEY" },
    { env: { BACKSTOP_INTERNAL_TOKEN: TOKEN, BACKSTOP_FRONT_CACHE_TTL_MS: "1001" }, variable: "BACKSTOP_FRONT_CACHE_TTL_MS" },
    { env: { BACKSTOP_INTERNAL_TOKEN: TOKEN, BACKSTOP_RRL_EXEMPT: "192.0.2.0/24,not-a-prefix" }, variable: "BACKSTOP_RRL_EXEMPT" },
    { env: { BACKSTOP_INTERNAL_TOKEN: TOKEN, BACKSTOP_RRL_IPV4_PREFIX: "33" }, variable: "BACKSTOP_RRL_IPV4_PREFIX" },
    { env: { BACKSTOP_INTERNAL_TOKEN: TOKEN, BACKSTOP_RRL_LOG_ONLY: "maybe" }, variable: "BACKSTOP_RRL_LOG_ONLY" },
    { env: { BACKSTOP_INTERNAL_TOKEN: TOKEN, BACKSTOP_TCP_IO_TIMEOUT_MS: "0" }, variable: "BACKSTOP_TCP_IO_TIMEOUT_MS" },
    { env: { BACKSTOP_INTERNAL_TOKEN: TOKEN, BACKSTOP_TCP_MAX_UNSENT_BYTES: "1024" }, variable: "BACKSTOP_TCP_MAX_UNSENT_BYTES" },
    { env: { BACKSTOP_INTERNAL_TOKEN: TOKEN, BACKSTOP_TCP_MAX_PER_PREFIX: "-1" }, variable: "BACKSTOP_TCP_MAX_PER_PREFIX" },
  ])("rejects a bad $variable, naming it", ({ env, variable }) => {
    let error: unknown;
    try {
      loadConfig(env);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain(variable);
  });

  it("reads the metrics token and zone labels; describeConfig never shows the token", () => {
    const scrape = "scrape-token-never-logged-0123";
    const c = loadConfig({ BACKSTOP_INTERNAL_TOKEN: TOKEN, BACKSTOP_METRICS_TOKEN: scrape, BACKSTOP_METRICS_ZONE_LABELS: "true" });
    expect(c.metrics).toEqual({ token: scrape, zoneLabels: true });
    expect(JSON.stringify(describeConfig(c))).not.toContain(scrape);
    expect(loadConfig({ BACKSTOP_INTERNAL_TOKEN: TOKEN }).metrics).toEqual({ token: undefined, zoneLabels: false });
    expect(() => loadConfig({ BACKSTOP_INTERNAL_TOKEN: TOKEN, BACKSTOP_METRICS_TOKEN: "short" })).toThrow(/BACKSTOP_METRICS_TOKEN/);
  });

  it("never echoes the token, and describeConfig leaves it out", () => {
    const secret = "s3cr3t-value-that-is-too-long-for-nothing";
    const c = loadConfig({ BACKSTOP_INTERNAL_TOKEN: secret });
    expect(JSON.stringify(describeConfig(c))).not.toContain(secret);
    try {
      loadConfig({ BACKSTOP_INTERNAL_TOKEN: secret, BACKSTOP_SOA_TRIES: "x" });
    } catch (err) {
      expect((err as Error).message).not.toContain(secret);
    }
  });
});

describe("BACKSTOP_NSID (RFC 5001)", () => {
  it("is off by default, and its text is the identity's octets", () => {
    expect(loadConfig({ BACKSTOP_INTERNAL_TOKEN: TOKEN, BACKSTOP_FRONT_PROCESSES: "1" }).front.processes).toBe(1);
    expect(() => loadConfig({ BACKSTOP_INTERNAL_TOKEN: TOKEN, BACKSTOP_FRONT_PROCESSES: "0" })).toThrow(/BACKSTOP_FRONT_PROCESSES/);
    expect(loadConfig({ BACKSTOP_INTERNAL_TOKEN: TOKEN }).front.nsid).toBeUndefined();
    expect(loadConfig({ BACKSTOP_INTERNAL_TOKEN: TOKEN, BACKSTOP_NSID: "" }).front.nsid).toBeUndefined();
    expect(loadConfig({ BACKSTOP_INTERNAL_TOKEN: TOKEN, BACKSTOP_NSID: "fra-1.backstop" }).front.nsid).toEqual(new TextEncoder().encode("fra-1.backstop"));
  });

  it.each(["two words", "é", "x".repeat(129)])("%j is refused, naming the variable", (value) => {
    expect(() => loadConfig({ BACKSTOP_INTERNAL_TOKEN: TOKEN, BACKSTOP_NSID: value })).toThrow(/BACKSTOP_NSID/);
  });
});

describe("BACKSTOP_COOKIE_SECRET and BACKSTOP_COOKIE_SECRET_PREVIOUS (DNS Cookies)", () => {
  const SECRET = "e5e973e5a6b2a43f48e7dc849e37bfcf";
  const PREVIOUS = "DD3BDF9344B678B185A6F5CB60FCA715";

  it("are unset by default (the service then makes a random secret) and read as 16 octets", () => {
    expect(loadConfig({ BACKSTOP_INTERNAL_TOKEN: TOKEN }).cookies).toEqual({ secret: undefined, previous: undefined });
    const c = loadConfig({ BACKSTOP_INTERNAL_TOKEN: TOKEN, BACKSTOP_COOKIE_SECRET: SECRET, BACKSTOP_COOKIE_SECRET_PREVIOUS: PREVIOUS });
    expect(Buffer.from(c.cookies.secret!).toString("hex")).toBe(SECRET);
    expect(Buffer.from(c.cookies.previous!).toString("hex")).toBe(PREVIOUS.toLowerCase());
  });

  it("are never in describeConfig", () => {
    const c = loadConfig({ BACKSTOP_INTERNAL_TOKEN: TOKEN, BACKSTOP_COOKIE_SECRET: SECRET, BACKSTOP_COOKIE_SECRET_PREVIOUS: PREVIOUS });
    const shown = JSON.stringify(describeConfig(c));
    expect(shown).not.toContain(SECRET);
    expect(shown.toLowerCase()).not.toContain(PREVIOUS.toLowerCase());
    expect(describeConfig(c).cookies).toEqual({ secret: "[set]", previous: "[set]" });
  });

  it.each([
    ["BACKSTOP_COOKIE_SECRET", SECRET.slice(2)],
    ["BACKSTOP_COOKIE_SECRET", `${SECRET}00`],
    ["BACKSTOP_COOKIE_SECRET", `${SECRET.slice(1)}g`],
    ["BACKSTOP_COOKIE_SECRET_PREVIOUS", "not hex at all, thirty-two chars"],
  ])("%s=%j is refused, naming the variable and never echoing the value", (name, value) => {
    const env = { BACKSTOP_INTERNAL_TOKEN: TOKEN, BACKSTOP_COOKIE_SECRET: SECRET, [name]: value };
    expect(() => loadConfig(env)).toThrow(new RegExp(`${name} must be 32 hex digits`));
    try {
      loadConfig(env);
    } catch (err) {
      expect((err as Error).message).not.toContain(value);
    }
  });

  it("refuses a previous secret without a current one", () => {
    expect(() => loadConfig({ BACKSTOP_INTERNAL_TOKEN: TOKEN, BACKSTOP_COOKIE_SECRET_PREVIOUS: PREVIOUS })).toThrow(/BACKSTOP_COOKIE_SECRET_PREVIOUS needs BACKSTOP_COOKIE_SECRET/);
  });
});
