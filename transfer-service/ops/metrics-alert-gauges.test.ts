/**
 * @module Issue 25's per-zone gauges (`metrics.ts`): computed at scrape time from the zones' state, with the
 * zone's name only under BACKSTOP_METRICS_ZONE_LABELS (none at all without it), RFC 1982 for "serial behind".
 * The real faults behind them are in test/alerts/alerts.test.ts.
 */
import { describe, expect, it } from "vitest";
import { Metrics, type ZoneGaugeState } from "./metrics.ts";

const NOW = 1_800_000_000_000;
const zones: ZoneGaugeState[] = [
  { zone: "behind.example", serial: 4294967295, lastCheckAt: NOW, primarySerial: 1, expiresAt: NOW + 90_000, rrsigExpiresAt: NOW + 3_600_000, consecutiveFailures: 4, expireSeconds: 600 },
  { zone: "ahead.example", serial: 10, lastCheckAt: NOW, primarySerial: 9, expiresAt: NOW - 5_000, rrsigExpiresAt: null, consecutiveFailures: 0, expireSeconds: 600 },
  { zone: "new.example", serial: null, lastCheckAt: null, primarySerial: null, expiresAt: null, rrsigExpiresAt: null, consecutiveFailures: 2, expireSeconds: null },
];

function scrape(text: string, name: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of text.matchAll(new RegExp(`^${name}\\{zone="([^"]+)"\\} (\\S+)$`, "gm"))) out[m[1]!] = Number(m[2]);
  return out;
}

describe("alert gauges", () => {
  it("with zone labels: serial behind (RFC 1982), expires in, EXPIRE, RRSIG expires in, consecutive failures", async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    metrics.watchZones({ zoneStates: () => zones }, { now: () => NOW, zoneLabels: true });
    const { body } = await metrics.render();
    expect(scrape(body, "backstop_zone_serial_behind")).toEqual({ "behind.example": 2, "ahead.example": 0 });
    expect(scrape(body, "backstop_zone_expires_in_seconds")).toEqual({ "behind.example": 90, "ahead.example": -5 });
    expect(scrape(body, "backstop_zone_expire_seconds")).toEqual({ "behind.example": 600, "ahead.example": 600 });
    expect(scrape(body, "backstop_zone_rrsig_expires_in_seconds")).toEqual({ "behind.example": 3600 });
    expect(scrape(body, "backstop_zone_consecutive_failures")).toEqual({ "behind.example": 4, "ahead.example": 0, "new.example": 2 });
  });

  it("without zone labels: no per-zone sample at all", async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    metrics.watchZones({ zoneStates: () => zones }, { now: () => NOW });
    const { body } = await metrics.render();
    expect(body).not.toMatch(/zone="/);
  });
});
