/**
 * @module The shown status: a table of stored rows at a fixed instant, then the same rule through `/api/v1`
 * with real D1 (a service reports `refreshing` under its lease; once the lease is gone the zone no longer
 * shows it).
 */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { shownStatus, type StatusFacts } from "./zone-status.ts";

const NOW = Date.UTC(2026, 10, 26, 12, 0, 0);
const SEC = 1000;
const at = (ms: number) => new Date(ms).toISOString();

const row = (facts: Partial<StatusFacts>): StatusFacts => ({
  status: "active",
  statusDetail: "up to date at serial 5",
  serial: 5,
  expiresAt: NOW + 3600 * SEC,
  leaseUntil: null,
  ...facts,
});

describe("shownStatus", () => {
  it.each<[string, Partial<StatusFacts>, string, string | RegExp]>([
    ["active before expiry", {}, "active", "up to date at serial 5"],
    ["active, never expiring (no check yet)", { expiresAt: null }, "active", "up to date at serial 5"],
    ["active past expiry (no service reported since)", { expiresAt: NOW - SEC }, "expired", `expired at ${at(NOW - SEC)} with no successful check since; last report: up to date at serial 5`],
    ["failing past expiry", { status: "failing", statusDetail: "timeout", expiresAt: NOW - SEC }, "expired", /^expired at .* last report: timeout$/],
    ["expired keeps its own words", { status: "expired", statusDetail: "expired at X; timeout", expiresAt: NOW - SEC }, "expired", "expired at X; timeout"],
    ["at the expiry instant, still served", { expiresAt: NOW }, "active", "up to date at serial 5"],
    ["serial-regressed", { status: "serial-regressed", statusDetail: "older" }, "serial-regressed", "older"],
    ["pending", { status: "pending", statusDetail: "waiting", serial: null, expiresAt: null }, "pending", "waiting"],
    ["refreshing under a live lease", { status: "refreshing", statusDetail: "transferring serial 6", leaseUntil: NOW + 60 * SEC }, "refreshing", "transferring serial 6"],
    ["refreshing under a live lease, past expiry", { status: "refreshing", statusDetail: "transferring (the zone expired)", leaseUntil: NOW + SEC, expiresAt: NOW - SEC }, "refreshing", "transferring (the zone expired)"],
    [
      "refreshing, lease ran out",
      { status: "refreshing", statusDetail: "transferring serial 6", leaseUntil: NOW - SEC },
      "failing",
      `a transfer stopped without a report (the instance running it stopped or lost the Worker; its lease ran out at ${at(NOW - SEC)}); it was transferring serial 6`,
    ],
    ["refreshing, lease gone", { status: "refreshing", statusDetail: "transferring serial 6", leaseUntil: null }, "failing", /^a transfer stopped without a report \(.*Worker\); it was transferring serial 6$/],
    ["refreshing, lease at its last instant", { status: "refreshing", statusDetail: "t", leaseUntil: NOW }, "failing", /stopped without a report/],
    ["refreshing, lease ran out, nothing served", { status: "refreshing", statusDetail: "t", serial: null, expiresAt: null, leaseUntil: NOW - SEC }, "pending", /^no transfer yet: a transfer stopped/],
    ["refreshing, lease ran out, past expiry", { status: "refreshing", statusDetail: "t", leaseUntil: NOW - SEC, expiresAt: NOW - 2 * SEC }, "expired", /^expired at .*; a transfer stopped without a report/],
  ])("%s", (_what, facts, status, detail) => {
    const shown = shownStatus(row(facts), NOW);
    expect(shown.status).toBe(status);
    if (typeof detail === "string") expect(shown.statusDetail).toBe(detail);
    else expect(shown.statusDetail).toMatch(detail);
  });
});

describe("through /api/v1", () => {
  async function call(method: string, path: string, body?: unknown): Promise<Response> {
    const token = path.startsWith("/internal/") ? "test-internal-token" : "test-admin-token";
    return exports.default.fetch(`http://backstop.test${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }
  const view = async () => (await (await call("GET", "/api/v1/zones/status.test")).json()) as { status: string; statusDetail: string };

  it("shows refreshing while the reporting instance holds the lease, and not after", async () => {
    expect((await call("POST", "/api/v1/zones", { name: "status.test", primaries: [{ address: "192.0.2.1" }] })).status).toBe(201);
    expect((await call("POST", "/internal/v1/zones/status.test/lease", { owner: "svc", ttlMs: 60_000 })).status).toBe(200);
    expect((await call("PUT", "/internal/v1/zones/status.test/timers", { owner: "svc", status: "refreshing", statusDetail: "transferring serial 1" })).status).toBe(200);
    expect(await view()).toMatchObject({ status: "refreshing", statusDetail: "transferring serial 1" });
    const list = (await (await call("GET", "/api/v1/zones")).json()) as { zones: { name: string; status: string }[] };
    expect(list.zones.find((z) => z.name === "status.test")?.status).toBe("refreshing");

    // The instance goes away without its final report.
    expect((await call("POST", "/internal/v1/zones/status.test/lease/release", { owner: "svc" })).status).toBe(200);
    const after = await view();
    expect(after.status).toBe("pending");
    expect(after.statusDetail).toMatch(/^no transfer yet: a transfer stopped without a report .*; it was transferring serial 1$/);
  });
});
