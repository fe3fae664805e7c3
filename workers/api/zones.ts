/**
 * @module `/api/v1/zones`: CRUD, refresh, the HTTP NOTIFY webhook and its secret, the transfer log, and
 * reading the served version (export as a zone file, records query).
 */
import { asc, desc, eq, inArray } from "drizzle-orm";
import { Hono } from "hono";
import type { Context } from "hono";
import { typeFromString, classToString, typeToString } from "../../dns/constants.ts";
import { Name } from "../../dns/name.ts";
import { genericToText } from "../../dns/rdata/generic.ts";
import { hasCodec, rdataToText } from "../../dns/rdata/index.ts";
import { recordToText } from "../../dns/zonefile/printer.ts";
import { drizzleOf } from "../db/d1-queryable.ts";
import { transferLog, tsigKeys, zones } from "../db/schema.ts";
import { D1ZoneStore } from "../store/d1-zone-store.ts";
import { TREE_MAIN, TREE_NSEC3 } from "../store/stored-node.ts";
import { versionNodes } from "../store/version-stream.ts";
import type { StoredNode, Tree } from "../store/stored-node.ts";
import { bearerToken, hashSecret, newWebhookSecret, secretMatchesHash, tokenMatches } from "./bearer-token.ts";
import type { SessionEnv } from "./d1-session.ts";
import { dnsName } from "./dns-name-input.ts";
import { ApiError, jsonBody, validate } from "./errors.ts";
import { pushRefresh, recordRefreshRequest } from "./refresh-signal.ts";
import type { Signal } from "../internal/contract.ts";
import type { RefreshOptions } from "./refresh-signal.ts";
import { RecordsQuery, RefreshRequest, TransfersQuery, ZoneCreate, ZonePatch } from "./schemas.ts";
import { transferView, zoneView } from "./zone-view.ts";

type AppContext = Context<SessionEnv>;

/** The admin-token check, applied to every zone route except the webhook (which also takes its secret). */
export async function requireAdmin(c: AppContext): Promise<void> {
  if (!c.env.ADMIN_TOKEN) throw new ApiError(503, "not-configured", "ADMIN_TOKEN is not set on this Worker");
  const token = bearerToken(c);
  if (!token) throw new ApiError(401, "unauthorized", "send Authorization: Bearer <admin token>");
  if (!(await tokenMatches(token, c.env.ADMIN_TOKEN))) throw new ApiError(403, "forbidden", "the token is not valid here");
}

export const zoneRoutes = new Hono<SessionEnv>();

zoneRoutes.use("*", async (c, next) => {
  // The webhook authenticates itself (admin token or the zone's webhook secret).
  if (!(c.req.method === "POST" && /\/notify\/?$/.test(c.req.path))) await requireAdmin(c);
  await next();
});

async function loadZone(c: AppContext) {
  const name = validate(dnsName, decodeURIComponent(c.req.param("name") ?? ""), "name");
  const zone = await drizzleOf(c.var.db).select().from(zones).where(eq(zones.name, name)).get();
  if (!zone) throw new ApiError(404, "not-found", `no zone named ${name}`);
  return zone;
}

/** Every TSIG key name a zone body refers to must exist. */
async function checkKeys(c: AppContext, body: { tsigKey?: string | null | undefined; primaries?: { tsigKey?: string | undefined }[]; transferAllow?: { tsigKey?: string | undefined }[] }) {
  const wanted = new Map<string, string>();
  if (body.tsigKey) wanted.set(body.tsigKey, "tsigKey");
  body.primaries?.forEach((p, i) => p.tsigKey && wanted.set(p.tsigKey, `primaries.${i}.tsigKey`));
  body.transferAllow?.forEach((t, i) => t.tsigKey && wanted.set(t.tsigKey, `transferAllow.${i}.tsigKey`));
  if (wanted.size === 0) return;
  const found = await drizzleOf(c.var.db)
    .select({ name: tsigKeys.name })
    .from(tsigKeys)
    .where(inArray(tsigKeys.name, [...wanted.keys()]));
  const have = new Set(found.map((k) => k.name));
  for (const [name, field] of wanted) {
    if (!have.has(name)) throw new ApiError(400, "unknown-key", `${field}: no TSIG key named ${name} (create it first)`, field);
  }
}

async function lastTransfers(c: AppContext, zoneIds: number[]) {
  if (zoneIds.length === 0) return new Map<number, typeof transferLog.$inferSelect>();
  const rows = await c.var.db.prepare(
    `SELECT t.* FROM transfer_log t JOIN (SELECT zone_id, MAX(id) AS id FROM transfer_log GROUP BY zone_id) m ON m.id = t.id`,
  ).all<Record<string, unknown>>();
  const out = new Map<number, typeof transferLog.$inferSelect>();
  for (const r of rows.results) {
    out.set(r.zone_id as number, {
      id: r.id as number,
      zoneId: r.zone_id as number,
      at: r.at as number,
      kind: r.kind as "soa",
      result: r.result as "ok",
      primary: r.primary as string | null,
      fromSerial: r.from_serial as number | null,
      toSerial: r.to_serial as number | null,
      records: r.records as number | null,
      bytes: r.bytes as number | null,
      durationMs: r.duration_ms as number | null,
      error: r.error as string | null,
      instance: r.instance as string | null,
    });
  }
  return out;
}

zoneRoutes.post("/", async (c) => {
  const body = await jsonBody(c, ZoneCreate);
  await checkKeys(c, body);
  const secret = newWebhookSecret();
  const { name, ...rest } = body;
  // The first refresh is requested in the row itself (no UPDATE after the INSERT): the push starts one
  // D1 round trip sooner, and a service that misses it still finds the request when it polls.
  const requestedAt = Date.now();
  const inserted = await drizzleOf(c.var.db)
    .insert(zones)
    .values({ name, ...rest, tsigKey: rest.tsigKey ?? null, webhookSecretHash: await hashSecret(secret), refreshRequestedAt: requestedAt })
    .onConflictDoNothing()
    .returning();
  if (inserted.length === 0) throw new ApiError(409, "exists", `a zone named ${name} exists already`, "name");
  const zone = inserted[0]!;
  pushInBackground(c, { zone: zone.name, requestedAt, force: null, acceptLowerSerial: false });
  // The webhook secret is shown this once; only its hash is kept.
  return c.json({ ...zoneView(zone, undefined), webhookSecret: secret }, 201);
});

zoneRoutes.get("/", async (c) => {
  const rows = await drizzleOf(c.var.db).select().from(zones).orderBy(asc(zones.name));
  const last = await lastTransfers(c, rows.map((z) => z.id));
  return c.json({ zones: rows.map((z) => zoneView(z, last.get(z.id))) });
});

zoneRoutes.get("/:name", async (c) => {
  const zone = await loadZone(c);
  const last = await drizzleOf(c.var.db)
    .select()
    .from(transferLog)
    .where(eq(transferLog.zoneId, zone.id))
    .orderBy(desc(transferLog.id))
    .limit(1)
    .get();
  return c.json(zoneView(zone, last));
});

zoneRoutes.patch("/:name", async (c) => {
  const zone = await loadZone(c);
  const body = await jsonBody(c, ZonePatch);
  const model = body.model ?? zone.model;
  const primaries = body.primaries ?? zone.primaries;
  if ((model === "secondary" || model === "hidden") && primaries.length === 0) {
    throw new ApiError(400, "invalid", `primaries: a ${model} zone needs at least one primary`, "primaries");
  }
  await checkKeys(c, body);
  const [updated] = await drizzleOf(c.var.db)
    .update(zones)
    .set({ ...body, updatedAt: Date.now() })
    .where(eq(zones.id, zone.id))
    .returning();
  // Primaries or keys may have changed: let the service re-read the zone now.
  await signalRefresh(c, zone.id, {});
  return c.json(zoneView(updated!, undefined));
});

zoneRoutes.delete("/:name", async (c) => {
  const zone = await loadZone(c);
  // Foreign keys cascade to versions, blocks, staging, journal and log.
  await drizzleOf(c.var.db).delete(zones).where(eq(zones.id, zone.id));
  return c.body(null, 204);
});

async function signalRefresh(c: AppContext, zoneId: number, options: RefreshOptions): Promise<void> {
  const signal = await recordRefreshRequest(c.var.db, zoneId, options);
  if (signal) pushInBackground(c, signal);
}

/** Pushes a recorded signal to the service instances after the response (the poll is the fallback). */
function pushInBackground(c: AppContext, signal: Signal): void {
  const push = pushRefresh(c.env, signal);
  try {
    c.executionCtx.waitUntil(push);
  } catch {
    // No execution context (a direct app.request in a test): the push still runs, unawaited.
    void push;
  }
}

zoneRoutes.post("/:name/refresh", async (c) => {
  const zone = await loadZone(c);
  const body = await jsonBody(c, RefreshRequest);
  await signalRefresh(c, zone.id, body);
  return c.json({ accepted: true, zone: zone.name }, 202);
});

zoneRoutes.post("/:name/notify", async (c) => {
  const token = bearerToken(c);
  if (!token) throw new ApiError(401, "unauthorized", "send Authorization: Bearer <admin token or the zone's webhook secret>");
  const zone = await loadZone(c);
  const admin = await tokenMatches(token, c.env.ADMIN_TOKEN);
  if (!admin && !(await secretMatchesHash(token, zone.webhookSecretHash))) {
    throw new ApiError(403, "forbidden", "the token is neither the admin token nor this zone's webhook secret");
  }
  await signalRefresh(c, zone.id, {});
  return c.json({ accepted: true, zone: zone.name }, 202);
});

zoneRoutes.post("/:name/webhook-secret", async (c) => {
  const zone = await loadZone(c);
  const secret = newWebhookSecret();
  await drizzleOf(c.var.db)
    .update(zones)
    .set({ webhookSecretHash: await hashSecret(secret), updatedAt: Date.now() })
    .where(eq(zones.id, zone.id));
  return c.json({ zone: zone.name, webhookSecret: secret });
});

zoneRoutes.get("/:name/transfers", async (c) => {
  const zone = await loadZone(c);
  const query = validate(TransfersQuery, c.req.query());
  const rows = await drizzleOf(c.var.db)
    .select()
    .from(transferLog)
    .where(eq(transferLog.zoneId, zone.id))
    .orderBy(desc(transferLog.id))
    .limit(query.limit ?? 100);
  return c.json({ zone: zone.name, transfers: rows.map(transferView) });
});

zoneRoutes.get("/:name/export", async (c) => {
  const zone = await loadZone(c);
  if (zone.currentVersion === null) throw new ApiError(409, "no-data", `${zone.name} has not been transferred yet`);
  const nodes = versionNodes(c.var.db, zone.id, zone.currentVersion);
  const encoder = new TextEncoder();
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await nodes.next();
      if (next.done) {
        controller.close();
        return;
      }
      let text = "";
      for (const r of next.value.records) text += recordToText({ name: next.value.name, ...r }) + "\n";
      controller.enqueue(encoder.encode(text));
    },
  });
  return new Response(stream, {
    headers: {
      "content-type": "text/dns; charset=utf-8",
      "content-disposition": `attachment; filename="${zone.name}.zone"`,
      "x-backstop-serial": String(zone.serial ?? ""),
    },
  });
});

function recordJson(owner: Name, r: StoredNode["records"][number]) {
  const data = hasCodec(r.type) ? rdataToText(r.type, r.rdata) : genericToText(r.rdata);
  return { name: owner.toString().replace(/\.$/, ""), type: typeToString(r.type), class: classToString(r.class), ttl: r.ttl, data };
}

zoneRoutes.get("/:name/records", async (c) => {
  const zone = await loadZone(c);
  const query = validate(RecordsQuery, c.req.query());
  const type = query.type === undefined ? undefined : typeFromString(query.type);
  if (query.type !== undefined && type === undefined) throw new ApiError(400, "invalid", `type: unknown record type ${query.type}`, "type");
  if (zone.currentVersion === null) return c.json({ zone: zone.name, serial: null, records: [] });
  const limit = query.limit ?? 1000;
  const apex = Name.parseAbsolute(zone.name);
  const out: ReturnType<typeof recordJson>[] = [];
  if (query.name !== undefined) {
    const name = Name.parseAbsolute(query.name);
    if (!name.isSubdomainOf(apex)) throw new ApiError(400, "invalid", `name: ${query.name} is not in ${zone.name}`, "name");
    const store = new D1ZoneStore(c.var.db);
    const info = { id: zone.id, name: apex, model: zone.model, version: zone.currentVersion, serial: zone.serial, expiresAt: zone.expiresAt, answerAllow: [] };
    for (const tree of [TREE_MAIN, TREE_NSEC3] as Tree[]) {
      const node = (await store.locate(info, tree, name)).match;
      for (const r of node?.records ?? []) if (type === undefined || r.type === type) out.push(recordJson(node!.name, r));
    }
  } else {
    for await (const node of versionNodes(c.var.db, zone.id, zone.currentVersion)) {
      for (const r of node.records) if (type === undefined || r.type === type) out.push(recordJson(node.name, r));
      if (out.length >= limit) break;
    }
  }
  return c.json({ zone: zone.name, serial: zone.serial, records: out.slice(0, limit), truncated: out.length > limit });
});

