/**
 * @module `/metrics` on the service's HTTP port, over real HTTP on loopback: a bearer token when one is
 * configured (Prometheus's `authorization` setting), open without one only on a loopback listener, and zone
 * names in labels only when asked for (issue 20: /metrics on 9153 needed no credential and listed hidden
 * zones' names). A non-loopback listener is never bound here (no test listens beyond loopback): its
 * refusal is the pure `metricsAccess` decision, tested on its own.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "./log.ts";
import { Metrics } from "./metrics.ts";
import { isLoopback, metricsAccess, startHttpServer, type HttpServer } from "./control-http.ts";

const log = createLogger({ level: "silent" });
const INTERNAL = "internal-token-0123456789";
const SCRAPE = "scrape-token-0123456789abcdef";

const zones = {
  zoneStates: () => [
    { zone: "hidden.example", serial: 7, lastCheckAt: Date.now() - 30_000 },
    { zone: "public.example", serial: 3, lastCheckAt: Date.now() - 5_000 },
  ],
};

let server: HttpServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(opts: { metricsToken?: string; zoneLabels?: boolean; host?: string }): Promise<string> {
  const metrics = new Metrics({ defaultMetrics: false });
  metrics.watchZones(zones, { zoneLabels: opts.zoneLabels });
  server = await startHttpServer({
    listen: { host: opts.host ?? "127.0.0.1", port: 0 },
    token: INTERNAL,
    metricsToken: opts.metricsToken,
    handler: { healthy: () => ({ ok: true }), refresh: () => true },
    metrics,
    log,
  });
  const host = server.address.host.includes(":") ? `[${server.address.host}]` : server.address.host;
  return `http://${host}:${server.address.port}/metrics`;
}

describe("/metrics with BACKSTOP_METRICS_TOKEN", () => {
  it("answers 401 without the token or with a wrong one (the internal token included), 200 with it", async () => {
    const url = await start({ metricsToken: SCRAPE });
    const none = await fetch(url);
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toMatch(/^Bearer /);
    expect(((await none.json()) as { error: string }).error).toMatch(/BACKSTOP_METRICS_TOKEN/);
    expect((await fetch(url, { headers: { authorization: "Bearer wrong-token-0123456789" } })).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: `Bearer ${INTERNAL}` } })).status).toBe(401);
    const ok = await fetch(url, { headers: { authorization: `Bearer ${SCRAPE}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toMatch(/^backstop_zones 2$/m);
  });
});

describe("/metrics without a token", () => {
  it.each(["127.0.0.1", "::1"])("is served on a loopback listener (%s)", async (host) => {
    const res = await fetch(await start({ host }));
    expect(res.status).toBe(200);
  });

  it("is refused on any other listener, in words; loopback and tokens decide as documented", () => {
    expect(metricsAccess("0.0.0.0", undefined)).toBe("refuse");
    expect(metricsAccess("::", undefined)).toBe("refuse");
    expect(metricsAccess("192.0.2.10", undefined)).toBe("refuse");
    expect(metricsAccess("0.0.0.0", SCRAPE)).toBe("token");
    expect(metricsAccess("127.0.0.1", SCRAPE)).toBe("token");
    expect(metricsAccess("127.0.0.1", undefined)).toBe("open");
    expect(metricsAccess("127.5.6.7", undefined)).toBe("open");
    expect(metricsAccess("::ffff:127.0.0.1", undefined)).toBe("open");
    expect(isLoopback("::1")).toBe(true);
    expect(isLoopback("localhost")).toBe(true);
    expect(isLoopback("10.0.0.1")).toBe(false);
  });
});

describe("zone names in labels", () => {
  it("are left out by default: no zone's name in the scrape, the totals instead", async () => {
    const text = await (await fetch(await start({}))).text();
    expect(text).not.toContain("hidden.example");
    expect(text).not.toContain("public.example");
    expect(text).not.toMatch(/zone="/);
    expect(text).toMatch(/^backstop_zones 2$/m);
    const max = /^backstop_zones_max_seconds_since_last_check ([\d.]+)$/m.exec(text);
    expect(Number(max?.[1])).toBeGreaterThanOrEqual(30);
  });

  it("are there with BACKSTOP_METRICS_ZONE_LABELS=true", async () => {
    const text = await (await fetch(await start({ zoneLabels: true }))).text();
    expect(text).toMatch(/^backstop_zone_serial\{zone="hidden\.example"\} 7$/m);
    expect(text).toMatch(/^backstop_zone_seconds_since_last_check\{zone="public\.example"\} [\d.]+$/m);
  });
});
