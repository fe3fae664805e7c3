/**
 * @module A zone's row as the Worker's `/internal/v1` feed sends it (`contract/internal-v1.ts` `ZoneConfig`), for
 * tests and benches that stand in for the Worker: an active, loaded secondary with no primaries, ACLs, lease,
 * limits or SOA timers, to which the caller adds what it is about (name, version, serial, answerAllow…).
 */
import type { ZoneConfig } from "../../contract/internal-v1.ts";

export function servedZoneConfig(fields: Pick<ZoneConfig, "id" | "name"> & Partial<ZoneConfig>): ZoneConfig {
  return {
    model: "secondary",
    primaries: [],
    tsigKey: null,
    notifyAllow: [],
    transferAllow: [],
    alsoNotify: [],
    answerAllow: [],
    updateAllow: [],
    status: "active",
    statusDetail: "",
    currentVersion: 1,
    serial: 1,
    primarySerial: null,
    recordCount: 0,
    expiresAt: null,
    lastCheckAt: null,
    nextRefreshAt: null,
    timers: { refresh: null, retry: null, expire: null, minimum: null, minRefresh: 0, maxRefresh: 0, minRetry: 0, maxRetry: 0, minExpire: 0, maxExpire: 0 },
    limits: { maxRecords: null, maxBytes: null },
    lease: null,
    refresh: null,
    ...fields,
  };
}
