/**
 * The ZoneStore contract (`testing/store-contract.ts`) against the D1 store of `workers/store/`, with its
 * zones ingested into real local D1 the way the transfer-service ships them: the engine's two stores answer
 * every lookup the same way.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { Name } from "../../dns/name.ts";
import { D1ZoneStore } from "./d1-zone-store.ts";
import { appendChunk, beginIngest, commitIngest } from "./full-ingest.ts";
import { acquireLease } from "./lease.ts";
import { encodeRecordStream } from "./record-stream.ts";
import { Budget } from "./statement-budget.ts";
import { zoneRecords } from "../../answer/testing/load-zone.ts";
import { CONTRACT_CASES, CONTRACT_ZONES, runContractCase } from "../../answer/testing/store-contract.ts";

describe("D1ZoneStore meets the ZoneStore contract", () => {
  const store = new D1ZoneStore(env.DB);
  beforeAll(async () => {
    const budget = new Budget(env.DB);
    for (const z of CONTRACT_ZONES) {
      const row = await env.DB.prepare("INSERT INTO zones (name, webhook_secret_hash) VALUES (?1, 'x') RETURNING id")
        .bind(z.apex.slice(0, -1))
        .first<{ id: number }>();
      const zone = { id: row!.id, name: Name.parse(z.apex) };
      expect(await acquireLease(budget, zone.id, "contract", 600_000)).not.toBeNull();
      const version = await beginIngest(budget, zone, "contract");
      await appendChunk(budget, zone, version, 0, encodeRecordStream(zoneRecords(z.text, zone.name)), "contract");
      await commitIngest(budget, zone, version, "contract", { serial: 1 });
    }
  });

  it.each(CONTRACT_CASES)("$op: $why", async (c) => {
    expect(await runContractCase(store, c)).toEqual(c.expect);
  });
});
