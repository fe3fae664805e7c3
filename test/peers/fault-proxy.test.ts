/**
 * @module The fault proxy breaks a real knotd's AXFR exactly as asked, seen by a real kdig: faithful
 * relay, a stream cut after N bytes, a reset, a stall, and a primary that never answers; UDP SOA
 * queries pass through.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { generateZone } from "../zones/generate.ts";
import { type Fault, type FaultProxy, startFaultProxy } from "./fault-proxy.ts";
import { kdig } from "./kdig.ts";
import { startKnotd } from "./knotd.ts";
import type { PeerHandle } from "./types.ts";

const ZONE = "proxied.test.";
const RECORDS = 3000; // several 64 KB messages
let peer: PeerHandle;
let proxy: FaultProxy;

beforeAll(async () => {
  peer = await startKnotd({ zones: [{ name: ZONE, text: generateZone({ origin: ZONE, records: RECORDS, seed: 8 }) }] });
  proxy = await startFaultProxy({ target: peer });
});
afterAll(async () => {
  await proxy?.close();
  await peer?.stop();
});

describe("fault proxy", () => {
  test("relays AXFR over TCP and SOA over UDP faithfully", async () => {
    proxy.fault = { kind: "none" };
    const axfr = await kdig({ port: proxy.port, zone: ZONE, type: "AXFR" });
    expect(axfr.errors).toEqual([]);
    expect(axfr.records.length).toBe(RECORDS + 1);
    const soa = await kdig({ port: proxy.port, zone: ZONE, type: "SOA" });
    expect(soa.flags).toContain("aa");
    expect(soa.records.map((r) => r.type)).toEqual(["SOA"]);
  });

  test.each<[string, Fault]>([
    ["truncated after 10 000 bytes", { kind: "truncate", afterBytes: 10_000 }],
    ["reset after 10 000 bytes", { kind: "reset", afterBytes: 10_000 }],
    ["stalled after 10 000 bytes", { kind: "stall", afterBytes: 10_000 }],
    ["black-holed", { kind: "blackhole" }],
  ])("AXFR %s fails in kdig's hands, never completes", async (_label, fault) => {
    proxy.fault = fault;
    const before = proxy.connections;
    const axfr = await kdig({ port: proxy.port, zone: ZONE, type: "AXFR", timeoutMs: 1000 });
    expect(proxy.connections).toBe(before + 1);
    expect(axfr.code).not.toBe(0);
    expect(axfr.records.length).toBeLessThan(RECORDS + 1);
    expect(axfr.errors.length).toBeGreaterThan(0);
  });

  test("black-holed UDP goes unanswered", async () => {
    proxy.fault = { kind: "blackhole" };
    const soa = await kdig({ port: proxy.port, zone: ZONE, type: "SOA", timeoutMs: 500 });
    expect(soa.code).not.toBe(0);
    expect(soa.records).toEqual([]);
  });
});
