/** The ZoneStore contract (`answer/testing/store-contract.ts`) against the in-memory store, plus its load checks. */
import { describe, expect, it } from "vitest";
import { Name } from "../../dns/name.ts";
import { storeOf } from "../testing/load-zone.ts";
import { CONTRACT_CASES, CONTRACT_ZONES, runContractCase } from "../testing/store-contract.ts";
import { MemoryStoreError, MemoryZoneStore } from "./memory-zone-store.ts";

const store = storeOf(...CONTRACT_ZONES);

describe("MemoryZoneStore meets the ZoneStore contract", () => {
  it.each(CONTRACT_CASES)("$op: $why", async (c) => {
    expect(await runContractCase(store, c)).toEqual(c.expect);
  });
});

describe("MemoryZoneStore loading", () => {
  const info = { id: 1, name: Name.parse("example.org."), model: "secondary" as const, version: 1, expiresAt: null, answerAllow: [] };
  it("refuses a record outside its zone", () => {
    const record = { name: Name.parse("www.example.net."), type: 1, class: 1, ttl: 60, rdata: new Uint8Array(4) };
    expect(() => new MemoryZoneStore([{ info, records: [record] }])).toThrow(MemoryStoreError);
  });
  it("refuses the same apex twice", () => {
    expect(() => new MemoryZoneStore([{ info, records: [] }, { info, records: [] }])).toThrow(MemoryStoreError);
  });
});
