/**
 * @module Loading a zone into the real Worker the way the transfer-service does after an AXFR: created
 * through `/api/v1`, then a lease and a full ingest through `/internal/v1` with the service's own
 * `WorkerClient` (or any `WorkerApi`, e.g. one whose commits the port-53 front's cache hears of).
 */
import { RRType } from "../../dns/constants.ts";
import { Name } from "../../dns/name.ts";
import { parseZoneText } from "../../dns/zonefile/parser.ts";
import type { WorkerApi } from "../../transfer-service/worker/worker-api.ts";
import { WorkerClient } from "../../transfer-service/worker/worker-client.ts";

export interface StackTokens {
  /** The Worker's base URL. */
  base: string;
  admin: string;
  internal: string;
}

/** Creates the zone (`answerAllow` and `model` as given) through /api/v1. */
export async function createZone(stack: StackTokens, apex: string, answerAllow: string[] = [], model: "secondary" | "hidden" = "secondary"): Promise<void> {
  const res = await fetch(`${stack.base}/api/v1/zones`, {
    method: "POST",
    headers: { authorization: `Bearer ${stack.admin}`, "content-type": "application/json" },
    body: JSON.stringify({ name: apex.replace(/\.$/, ""), model, primaries: [{ address: "127.0.0.1", port: 53 }], answerAllow }),
  });
  if (res.status !== 201) throw new Error(`creating ${apex}: HTTP ${res.status} ${await res.text()}`);
}

/**
 * Commits `text` as the zone's new full version through `api` (which must hold, or be able to take, the
 * lease as `owner`); resolves to the committed version.
 */
export async function ingestZoneText(api: WorkerApi, apex: string, text: string, owner: string): Promise<number> {
  const zone = apex.replace(/\.$/, "");
  const records = parseZoneText(text, { origin: Name.parse(apex), defaultTtl: 3600 });
  const soa = records.find((r) => r.type === RRType.SOA);
  if (!soa) throw new Error(`${apex}: no SOA in the zone text`);
  if (!(await api.acquireLease(zone, owner, 60_000))) throw new Error(`${apex}: lease held by someone else`);
  const ingest = await api.beginIngest(zone, owner, "axfr", 0);
  await ingest.beginFull(soa);
  await ingest.records(records.filter((r) => r !== soa));
  await ingest.end();
  return (await ingest.commit()).version;
}

/** Creates the zone and loads `text` as its first version. */
export async function loadZone(stack: StackTokens, apex: string, text: string, answerAllow: string[] = [], model: "secondary" | "hidden" = "secondary"): Promise<void> {
  await createZone(stack, apex, answerAllow, model);
  const client = new WorkerClient({ baseUrl: stack.base, token: stack.internal, timeoutMs: 30_000 });
  try {
    await ingestZoneText(client, apex, text, "zone-load");
    await client.releaseLease(apex.replace(/\.$/, ""), "zone-load");
  } finally {
    await client.close();
  }
}

/** Changes a zone through `PATCH /api/v1/zones/:name` (model, answerAllow, …). */
export async function patchZone(stack: StackTokens, apex: string, patch: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${stack.base}/api/v1/zones/${apex.replace(/\.$/, "")}`, {
    method: "PATCH",
    headers: { authorization: `Bearer ${stack.admin}`, "content-type": "application/json" },
    body: JSON.stringify(patch),
  });
  if (res.status !== 200) throw new Error(`patching ${apex}: HTTP ${res.status} ${await res.text()}`);
}
