/**
 * Real DNS clients against the answer engine (through the test-only UDP/TCP bridge): `kdig` and `dig` parse
 * Backstop's wire format independently of our own decoder. A UDP answer too big for 512 octets comes back
 * with TC, and both clients retry over TCP and get the whole RRset (RFC 7766 §5).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Name } from "../../dns/name.ts";
import { MemoryZoneStore } from "../../answer/store/memory-zone-store.ts";
import { zoneRecords } from "../../answer/testing/load-zone.ts";
import { kdig } from "../peers/kdig.ts";
import { runTool } from "../peers/run-tool.ts";
import { type Bridge, startBridge } from "./engine-bridge.ts";
import { PARENT_APEX, PARENT_ZONE } from "./zones.ts";

describe("kdig and dig against the engine", () => {
  let bridge: Bridge;
  beforeAll(async () => {
    const apex = Name.parse(PARENT_APEX);
    const store = new MemoryZoneStore([{ info: { id: 1, name: apex, model: "secondary", version: 1, expiresAt: null, answerAllow: [] }, records: zoneRecords(PARENT_ZONE, apex) }]);
    bridge = await startBridge(store);
  });
  afterAll(async () => {
    await bridge?.close();
  });

  it.each([
    { name: "www.diff.test.", type: "A", status: "NOERROR", records: ["www.diff.test. 600 A 192.0.2.80"], aa: true },
    { name: "nothere.diff.test.", type: "TXT", status: "NOERROR", records: ['nothere.diff.test. 3600 TXT "wild"'], aa: true },
    { name: "nope.www.diff.test.", type: "A", status: "NXDOMAIN", records: [], aa: true },
    { name: "www.example.com.", type: "A", status: "REFUSED", records: [], aa: false },
  ])("kdig $name $type → $status", async ({ name, type, status, records, aa }) => {
    const res = await kdig({ port: bridge.port, zone: name, type, extra: ["+notcp"], timeoutMs: 10_000 });
    expect(res.status).toBe(status);
    expect(res.flags.includes("aa")).toBe(aa);
    expect(res.records.map((r) => `${r.owner} ${r.ttl} ${r.type} ${r.data}`)).toEqual(records);
  });

  it("kdig: a TXT RRset over 512 octets is truncated over UDP, then whole over TCP", async () => {
    const udp = await kdig({ port: bridge.port, zone: "big.diff.test.", type: "TXT", extra: ["+notcp", "+noedns", "+ignore"], timeoutMs: 10_000 });
    expect(udp.flags).toContain("tc");
    expect(udp.records).toHaveLength(0);
    const retried = await kdig({ port: bridge.port, zone: "big.diff.test.", type: "TXT", extra: ["+noedns"], timeoutMs: 10_000 });
    expect(retried.flags).not.toContain("tc");
    expect(retried.records).toHaveLength(30);
  });

  it("dig over TCP gets the whole RRset and the query's case back", async () => {
    const res = await runTool("dig", ["@127.0.0.1", "-p", String(bridge.port), "+tcp", "+norec", "+noall", "+answer", "BiG.DiFF.test.", "TXT"], { timeoutMs: 10_000 });
    const lines = res.stdout.trim().split("\n").filter(Boolean);
    expect(lines).toHaveLength(30);
    for (const line of lines) expect(line.startsWith("BiG.DiFF.test.")).toBe(true);
  });
});
