/**
 * @module The seven rules as a table (`rules.ts`): each kind fires on its condition and not beside it, with
 * the default thresholds and with overrides. The real faults that cause them are in `test/alerts/`.
 */
import { describe, expect, it } from "vitest";
import { clampedTimers, conditionsOf, serialAhead, type ZoneFacts } from "./rules.ts";
import { DEFAULT_THRESHOLDS, mergeThresholds } from "./thresholds.ts";

const NOW = Date.parse("2026-12-07T08:00:00Z");
const H = 3_600_000;

function zone(over: Partial<ZoneFacts> = {}): ZoneFacts {
  return {
    name: "example.com",
    model: "secondary",
    status: "active",
    statusDetail: "up to date at serial 5",
    serial: 5,
    primarySerial: 5,
    expiresAt: NOW + 7 * 24 * H,
    rrsigExpiresAt: null,
    nextRefreshAt: NOW + H,
    timers: { refresh: 3600, retry: 600, expire: 7 * 86_400 },
    failures: { count: 0, oldestAt: NOW, lastError: null },
    apexNs: ["ns1.backstop.example", "ns2.backstop.example"],
    ...over,
  };
}

const OURS = ["ns1.backstop.example", "ns2.backstop.example"];
const kinds = (z: ZoneFacts, t = DEFAULT_THRESHOLDS, ns = OURS) => conditionsOf(z, t, ns, NOW).map((c) => c.kind);

describe("alert rules", () => {
  it("a healthy zone has none", () => {
    expect(kinds(zone())).toEqual([]);
  });

  const table: [string, Partial<ZoneFacts>, string[]][] = [
    ["failing: 3 failures in a row", { failures: { count: 3, oldestAt: NOW - 20 * 60_000, lastError: "connection refused by 192.0.2.1" } }, ["failing"]],
    ["failing: 2 are not enough", { failures: { count: 2, oldestAt: NOW - 60_000, lastError: "timeout" } }, []],
    ["stale: primary ahead", { primarySerial: 6 }, ["stale"]],
    ["stale: RFC 1982 wrap, primary ahead", { serial: 4294967295, primarySerial: 2 }, ["stale"]],
    ["stale: primary behind is not stale", { primarySerial: 4 }, []],
    ["expiring: under 10 % of EXPIRE", { expiresAt: NOW + 0.09 * 7 * 24 * H }, ["expiring"]],
    ["expiring: 11 % left is fine", { expiresAt: NOW + 0.11 * 7 * 24 * H }, []],
    ["expired", { expiresAt: NOW - 1 }, ["expired"]],
    ["rrsig-expiring: before next refresh + 2 days", { rrsigExpiresAt: NOW + H + 47 * H }, ["rrsig-expiring"]],
    ["rrsig-expiring: 3 days ahead is fine", { rrsigExpiresAt: NOW + 72 * H + H }, []],
    ["ns-mismatch: live zone without ours", { apexNs: ["ns1.other.example", "ns2.backstop.example"] }, ["ns-mismatch"]],
    ["ns-mismatch: dark zone with ours", { model: "hidden" }, ["ns-mismatch"]],
    ["ns-mismatch: dark zone without ours", { model: "hidden", apexNs: ["ns.hidden-primary.example"] }, []],
    ["serial-regressed", { status: "serial-regressed", statusDetail: "primary 192.0.2.1 answered serial 3, older than our 5" }, ["serial-regressed"]],
    ["a primary zone is not judged", { model: "primary", expiresAt: NOW - 1 }, []],
  ];
  for (const [what, over, expected] of table) {
    it(what, () => expect(kinds(zone(over))).toEqual(expected));
  }

  it("ns-mismatch is not checked without BACKSTOP_NAMESERVERS", () => {
    expect(kinds(zone({ apexNs: ["ns1.other.example"] }), DEFAULT_THRESHOLDS, [])).toEqual([]);
  });

  it("thresholds are overridden per layer: a zone's failingChecks 1 over the deployment's 5", () => {
    const t = mergeThresholds({ failingChecks: 5 }, { failingChecks: 1 });
    expect(kinds(zone({ failures: { count: 1, oldestAt: NOW, lastError: "x" } }), t)).toEqual(["failing"]);
    expect(kinds(zone({ failures: { count: 4, oldestAt: NOW, lastError: "x" } }), mergeThresholds({ failingChecks: 5 }))).toEqual([]);
  });

  it("a stored layer with a bad field keeps the rest", () => {
    expect(mergeThresholds({ failingChecks: "many", expiringFraction: 0.5 })).toMatchObject({ failingChecks: 3, expiringFraction: 0.5 });
  });

  it("damping: one check interval (RETRY) by default; stale holds for 2 × REFRESH", () => {
    const [failing] = conditionsOf(zone({ failures: { count: 3, oldestAt: NOW, lastError: "x" } }), DEFAULT_THRESHOLDS, OURS, NOW);
    expect(failing!.holdMs).toBe(600_000);
    const [stale] = conditionsOf(zone({ primarySerial: 6 }), DEFAULT_THRESHOLDS, OURS, NOW);
    expect(stale!.holdMs).toBe(2 * 3600_000);
  });

  it("messages say what and why: the cause of failing, the override for serial-regressed, the RRSIG record and time", () => {
    const t = DEFAULT_THRESHOLDS;
    const [failing] = conditionsOf(zone({ failures: { count: 3, oldestAt: NOW - 60_000, lastError: "AXFR refused: NOTAUTH" } }), t, OURS, NOW);
    expect(failing!.message).toMatch(/^3 failed checks or transfers in a row since 2026-12-07T07:59:00.000Z; last: AXFR refused: NOTAUTH$/);
    const [regressed] = conditionsOf(zone({ status: "serial-regressed", statusDetail: "serial 3 < 5" }), t, OURS, NOW);
    expect(regressed!.message).toContain('POST /api/v1/zones/example.com/refresh {"force":"axfr","acceptLowerSerial":true}');
    const [rrsig] = conditionsOf(zone({ rrsigExpiresAt: NOW + 24 * H, rrsigRecord: "www.example.com. RRSIG A" }), t, OURS, NOW);
    expect(rrsig!.message).toContain("www.example.com. RRSIG A in serial 5 expires at 2026-12-08T08:00:00.000Z");
  });

  it("serial arithmetic and the timer clamps", () => {
    expect(serialAhead(1, 0)).toBe(true);
    expect(serialAhead(0, 2 ** 31 + 1)).toBe(true);
    expect(serialAhead(5, 5)).toBe(false);
    const clamps = { minRefresh: 60, maxRefresh: 86_400, minRetry: 10, maxRetry: 3600, minExpire: 3600, maxExpire: 2_419_200 };
    expect(clampedTimers({ soaRefresh: 1, soaRetry: 1, soaExpire: 1, ...clamps })).toEqual({ refresh: 60, retry: 10, expire: 3600 });
    expect(clampedTimers({ soaRefresh: null, soaRetry: 1, soaExpire: 1, ...clamps })).toBeNull();
  });
});
