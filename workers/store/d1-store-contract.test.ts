/**
 * The ZoneStore contract (`testing/store-contract.ts`) against the D1 store of `workers/store/`, with its
 * zones ingested into real local D1 the way the transfer-service ships them: the engine's two stores answer
 * every lookup the same way.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { storedZone } from "./testing/stored-zone.ts";
import { Name } from "../../dns/name.ts";
import { D1ZoneStore } from "./d1-zone-store.ts";
import { zoneRecords } from "../../answer/testing/load-zone.ts";
import { CONTRACT_CASES, CONTRACT_ZONES, runContractCase } from "../../answer/testing/store-contract.ts";

describe("D1ZoneStore meets the ZoneStore contract", () => {
  const store = new D1ZoneStore(env.DB);
  beforeAll(async () => {
    for (const z of CONTRACT_ZONES) {
      const apex = Name.parse(z.apex);
      await storedZone(env.DB, apex, zoneRecords(z.text, apex), { owner: "contract", commit: { serial: 1 } });
    }
  });

  it.each(CONTRACT_CASES)("$op: $why", async (c) => {
    expect(await runContractCase(store, c)).toEqual(c.expect);
  });
});
