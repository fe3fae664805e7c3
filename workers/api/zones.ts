/**
 * @module `/api/v1/zones`: CRUD, refresh, the HTTP NOTIFY webhook and its secret, the transfer log, and
 * reading the served version (export as a zone file, records query).
 */
import { Hono } from "hono";
import { z } from "zod";
import type { Context } from "hono";
import { typeFromString, classToString, typeToString } from "../../dns/constants.ts";
import { Name } from "../../dns/name.ts";
import { genericToText } from "../../dns/rdata/generic.ts";
import { hasCodec, rdataToText } from "../../dns/rdata/index.ts";
import { recordToText } from "../../dns/zonefile/printer.ts";
import { recordRefreshRequest, type RefreshOptions } from "../db/queries/refresh-signals.ts";
import { lastTransfer, lastTransfers, lastTransfersOut, transfersOf } from "../db/queries/transfer-log.ts";
import { existingKeyNames } from "../db/queries/tsig-keys.ts";
import {
  deleteZone,
  deleteZonesByName,
  endCatalog,
  existingZoneNames,
  insertZone,
  insertZones,
  listZonesPage,
  setWebhookSecretHash,
  updateZone,
  zoneByName,
  zoneTotals,
} from "../db/queries/zones.ts";
import { hashSecret, newSecret } from "../http/auth/stored-secret.ts";
import { ApiError, jsonBody, validate } from "../http/errors/index.ts";
import { dnsName, nameFromPath } from "../http/dns-name/index.ts";
import type { RouteEnv } from "../http/route-env.ts";
import { D1ZoneStore } from "../store/d1-zone-store.ts";
import { servedPointersChanged } from "../store/served-store.ts";
import { TREE_MAIN, TREE_NSEC3 } from "../../answer/store/stored-node.ts";
import { versionNodes } from "../store/version-stream.ts";
import type { StoredNode, Tree } from "../../answer/store/stored-node.ts";
import { actorOf, zoneLimit } from "./admin-auth.ts";
import { afterResponse, pushInBackground } from "./refresh-signal.ts";
import { announceCommit, primaryStart, runEdit } from "./rrsets.ts";
import { SecretBox } from "../db/secret-box.ts";
import type { SourcePoll, ZoneSource } from "../db/schema.ts";
import { pollCloudflareSource, sourceTokenName } from "../store/primary/cloudflare-source.ts";
import {
  clampIssue,
  DEFAULT_CLAMPS,
  RecordsQuery,
  RefreshRequest,
  TransfersQuery,
  ZoneBulk,
  ZoneCreate,
  ZoneListQuery,
  ZonePatch,
  ZonePut,
} from "./schemas.ts";
import type { CloudflareSourceInput } from "./schemas.ts";
import { decodeZoneCursor, encodeZoneCursor } from "./zone-cursor.ts";
import { operation } from "./openapi.ts";
import { Accepted, BulkResult, Records, SourcePolled, Transfers, WebhookSecret, ZoneCreated, ZoneDetail, ZonePage, ZoneView } from "../../contract/api-v1.ts";
import { sourcePollView, transferView, verificationView, zoneView } from "./zone-view.ts";
import { lastVerification } from "../db/queries/verifications.ts";

type AppContext = Context<RouteEnv>;

export const zoneRoutes = new Hono<RouteEnv>();

// Auth is `createApi`'s `apiAuth` for every route (the NOTIFY webhook also takes the zone's secret).

async function loadZone(c: AppContext) {
  const name = nameFromPath(c.req.param("name"));
  const zone = await zoneByName(c.var.db, name);
  if (!zone) throw new ApiError(404, "not-found", `no zone named ${name}`);
  return zone;
}

// --- Issue 22 item 5: a primary zone's Cloudflare source (store/primary/cloudflare-source.ts). ---

/** The source as stored (no token) and its API token sealed, bound to the zone's name. */
async function sealSource(c: AppContext, zone: string, input: CloudflareSourceInput): Promise<{ source: ZoneSource; sourceTokenSealed: Uint8Array }> {
  const box = await SecretBox.fromBase64(c.env.TSIG_ENCRYPTION_KEY).catch(() => {
    throw new ApiError(503, "not-configured", "TSIG_ENCRYPTION_KEY is not set (or not 32 bytes of base64) on this Worker: the source's API token cannot be sealed");
  });
  const sealed = await box.seal(new TextEncoder().encode(input.apiToken), sourceTokenName(zone));
  return { source: { kind: input.kind, zoneId: input.zoneId, pollSeconds: input.pollSeconds }, sourceTokenSealed: sealed };
}

/**
 * Polls a sourced zone now, in this request (refresh) or after the response (the webhook). A source set by
 * create or PATCH is first polled by the next cron run (it is due at once), or by a refresh.
 */
function pollNow(c: AppContext, zone: ZoneRowOf): Promise<SourcePoll> {
  return pollCloudflareSource(c.var.db, c.env, zone, { announce: (name, version) => announceCommit(c, name, version) });
}
function pollInBackground(c: AppContext, zone: ZoneRowOf): void {
  afterResponse(c, pollNow(c, zone).catch((err: unknown) => console.error(JSON.stringify({ msg: "cloudflare source poll failed", zone: zone.name, error: err instanceof Error ? err.message : String(err) }))));
}
type ZoneRowOf = NonNullable<Awaited<ReturnType<typeof zoneByName>>>;

// --- end of the Cloudflare source block ---

type KeyedBody = { tsigKey?: string | null | undefined; primaries?: { tsigKey?: string | undefined }[] | undefined; transferAllow?: { tsigKey?: string | undefined }[] | undefined; alsoNotify?: { tsigKey?: string | undefined }[] | undefined };

/** Every TSIG key name a zone body refers to (its catalog group templates' included) must exist. */
async function checkKeys(
  c: AppContext,
  body: KeyedBody & { catalogGroups?: Record<string, KeyedBody> | undefined; updateAllow?: { tsigKey: string }[] | undefined },
) {
  const wanted = new Map<string, string>();
  const collect = (b: KeyedBody, prefix: string): void => {
    if (b.tsigKey) wanted.set(b.tsigKey, `${prefix}tsigKey`);
    b.primaries?.forEach((p, i) => p.tsigKey && wanted.set(p.tsigKey, `${prefix}primaries.${i}.tsigKey`));
    b.transferAllow?.forEach((t, i) => t.tsigKey && wanted.set(t.tsigKey, `${prefix}transferAllow.${i}.tsigKey`));
    b.alsoNotify?.forEach((t, i) => t.tsigKey && wanted.set(t.tsigKey, `${prefix}alsoNotify.${i}.tsigKey`));
  };
  collect(body, "");
  for (const [group, template] of Object.entries(body.catalogGroups ?? {})) collect(template, `catalogGroups.${group}.`);
  body.updateAllow?.forEach((t, i) => wanted.set(t.tsigKey, `updateAllow.${i}.tsigKey`));
  if (wanted.size === 0) return;
  const have = await existingKeyNames(c.var.db, [...wanted.keys()]);
  for (const [name, field] of wanted) {
    if (!have.has(name)) throw new ApiError(400, "unknown-key", `${field}: no TSIG key named ${name} (create it first)`, field);
  }
}

zoneRoutes.post(
  "/",
  operation({
    summary: "Create a zone",
    description: "Answers the zone and its NOTIFY webhook secret, shown this once. A zone-limited token creates its zones with PUT /zones/{name}. A primary zone (issue 22) starts from `soa` and `nameservers`, or empty (then import a zone file).",
    tag: "zones",
    body: ZoneCreate,
    responses: [{ status: 201, description: "created; `webhookSecret` is shown this once", schema: ZoneCreated }],
    errors: [409],
  }),
  async (c) => {
    const body = await jsonBody(c, ZoneCreate);
    await checkKeys(c, body);
    const secret = newSecret();
    // Issue 22: a primary zone's starting SOA and apex NS are its first version, not columns.
    const { name, soa, nameservers, source, ...rest } = body;
    const start = soa && nameservers ? primaryStart(name, soa, nameservers) : undefined;
    // Issue 22 item 5: the source's records go beside the zone's own SOA and apex NS, so it starts with them.
    if (source && !start) throw new ApiError(400, "invalid", 'source: a zone following Cloudflare is created with "soa" and "nameservers" (its own SOA and apex NS set; the recipe in the README)', "source");
    const sealedSource = source ? await sealSource(c, name, source) : {};
    // The first refresh is requested in the row itself (no UPDATE after the INSERT): the push starts one
    // D1 round trip sooner, and a service that misses it still finds the request when it polls.
    const requestedAt = Date.now();
    const zone = await insertZone(c.var.db, {
      name,
      ...rest,
      tsigKey: rest.tsigKey ?? null,
      webhookSecretHash: await hashSecret(secret),
      refreshRequestedAt: requestedAt,
      refreshRequestedBy: actorOf(c.var.principal),
      // A primary zone waits for its records, not for a transfer (issue 22).
      ...(rest.model === "primary" && !start ? { statusDetail: "no records yet: import a zone file (POST …/import) or write RRsets" } : {}),
      ...sealedSource,
    });
    if (!zone) throw new ApiError(409, "exists", `a zone named ${name} exists already`, "name");
    // A new name may now be answered (a zone that has no version yet answers SERVFAIL).
    servedPointersChanged();
    let shown = zone;
    if (start) {
      // The first version of a primary zone: SOA (serial by the policy) and apex NS, one commit.
      try {
        await runEdit(c, zone, start);
      } catch (err) {
        await deleteZone(c.var.db, zone.id);
        throw err;
      }
      shown = (await zoneByName(c.var.db, zone.name)) ?? zone;
    } else if (zone.model !== "primary") {
      pushInBackground(c, { zone: zone.name, requestedAt, force: null, acceptLowerSerial: false });
    }
    // The webhook secret is shown this once; only its hash is kept.
    return c.json({ ...zoneView(shown, undefined), webhookSecret: secret }, 201);
  },
);

/**
 * A page of zones (issue 19): `limit` (100, at most 1,000), `cursor` (the previous page's `nextCursor`),
 * filters `status` (as shown), `model`, `prefix`, and `sort` (`name` or `next-refresh`). `totals` counts the
 * whole filter by shown status, not the page. Without parameters: the first 100 zones by name.
 */
zoneRoutes.get(
  "/",
  operation({
    summary: "List zones, a page at a time",
    description: "Keyset pages: pass `nextCursor` as `cursor`. `totals` counts the whole filter by status. A zone-limited token sees only its zones.",
    tag: "zones",
    query: ZoneListQuery,
    responses: [{ status: 200, description: "a page of zones", schema: ZonePage }],
  }),
  async (c) => {
    const query = validate(ZoneListQuery, c.req.query());
    const now = Date.now();
    // A zone-limited API token sees only its zones, in the page and in the totals (issue 24).
    const filter = { model: query.model, status: query.status, prefix: query.prefix, names: zoneLimit(c.var.principal) ?? undefined };
    const after = query.cursor === undefined ? undefined : decodeZoneCursor(query.cursor, query.sort);
    const [page, totals] = await Promise.all([
      listZonesPage(c.var.db, { filter, sort: query.sort, after, limit: query.limit, now }),
      zoneTotals(c.var.db, filter, now),
    ]);
    const last = await lastTransfers(c.var.db, page.rows.map((z) => z.id));
    const end = page.rows.at(-1);
    return c.json({
      zones: page.rows.map((z) => zoneView(z, last.get(z.id), now)),
      nextCursor: page.more && end ? encodeZoneCursor(query.sort, end) : null,
      totals,
    });
  },
);

/** A bulk item's fault: the usual error body, plus the item's `index` and its own `field`. */
class BulkItemError extends Error {
  constructor(
    readonly status: 400 | 409,
    readonly code: string,
    readonly index: number,
    readonly field: string | undefined,
    message: string,
  ) {
    super(`item ${index}${field ? `, ${field}` : ""}: ${message}`);
  }
}

/** Validates one item with `schema`, or throws its `BulkItemError`. */
function bulkItem<S extends z.ZodType>(schema: S, value: unknown, index: number): z.infer<S> {
  try {
    return validate(schema, value);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    const message = err.field && err.message.startsWith(`${err.field}: `) ? err.message.slice(err.field.length + 2) : err.message;
    throw new BulkItemError(400, err.code, index, err.field, message);
  }
}

async function bulkCreate(c: AppContext, items: readonly unknown[]): Promise<Response> {
  const zones = items.map((item, i) => bulkItem(ZoneCreate, item, i));
  // Issue 22: a primary zone's first version is written by the single create, not by the bulk INSERT.
  zones.forEach((zone, i) => {
    if (zone.soa !== undefined) throw new BulkItemError(400, "invalid", i, "soa", "create a primary zone with soa and nameservers one by one (POST /api/v1/zones), or create it empty here and import a zone file");
    if (zone.source !== undefined) throw new BulkItemError(400, "invalid", i, "source", "create a zone with a Cloudflare source one by one (POST /api/v1/zones)");
  });
  const seen = new Map<string, number>();
  zones.forEach((zone, i) => {
    const first = seen.get(zone.name);
    if (first !== undefined) throw new BulkItemError(400, "duplicate", i, "name", `${zone.name} is item ${first} too`);
    seen.set(zone.name, i);
  });
  // Every TSIG key named must exist (one query per 90 names).
  const wanted = new Map<string, { index: number; field: string }>();
  zones.forEach((zone, index) => {
    if (zone.tsigKey) wanted.set(zone.tsigKey, { index, field: "tsigKey" });
    zone.primaries.forEach((p, j) => p.tsigKey && wanted.set(p.tsigKey, { index, field: `primaries.${j}.tsigKey` }));
    zone.transferAllow.forEach((t, j) => t.tsigKey && wanted.set(t.tsigKey, { index, field: `transferAllow.${j}.tsigKey` }));
  });
  const names = [...wanted.keys()];
  const have = new Set<string>();
  for (let i = 0; i < names.length; i += 90) for (const n of await existingKeyNames(c.var.db, names.slice(i, i + 90))) have.add(n);
  for (const [name, at] of wanted) {
    if (!have.has(name)) throw new BulkItemError(400, "unknown-key", at.index, at.field, `no TSIG key named ${name} (create it first)`);
  }
  const taken = await existingZoneNames(c.var.db, zones.map((z) => z.name));
  const clash = zones.findIndex((z) => taken.has(z.name));
  if (clash >= 0) throw new BulkItemError(409, "exists", clash, "name", `a zone named ${zones[clash]!.name} exists already`);
  const requestedAt = Date.now();
  // Webhook secrets are not shown by a bulk create: each zone gets one nobody knows, until
  // POST /api/v1/zones/:name/webhook-secret sets a new one.
  const rows = await Promise.all(
    zones.map(async (zone) => ({
      ...DEFAULT_CLAMPS,
      ...zone,
      tsigKey: zone.tsigKey ?? null,
      webhookSecretHash: await hashSecret(newSecret()),
      refreshRequestedAt: requestedAt,
    })),
  );
  try {
    await insertZones(c.var.db, rows);
  } catch (err) {
    if (err instanceof Error && /UNIQUE/i.test(err.message)) {
      throw new ApiError(409, "exists", "a zone of the batch was created meanwhile; nothing was created");
    }
    throw err;
  }
  // New names may now be answered. The service finds each zone's first refresh request when it polls
  // (the rows carry it); no push per zone.
  servedPointersChanged();
  return c.json({ created: rows.length }, 201);
}

async function bulkDelete(c: AppContext, items: readonly unknown[]): Promise<Response> {
  const names = items.map((item, i) => bulkItem(BulkName, { name: item }, i).name);
  const deleted = await deleteZonesByName(c.var.db, names);
  servedPointersChanged();
  return c.json({ deleted }, 200);
}
const BulkName = z.strictObject({ name: dnsName });

/**
 * `POST /api/v1/zones/bulk`: up to 1,000 zones created (201 `{"created": n}`) or deleted (200
 * `{"deleted": n}`, names that are no zone are not counted), all or nothing. Each item is validated as its
 * single-zone route validates it; the first bad one answers 400 (409 for a name taken) with the usual
 * error body plus the item's `index`, and `field` inside the item.
 */
zoneRoutes.post(
  "/bulk",
  operation({
    summary: "Create or delete up to 1,000 zones, all or nothing",
    description: "`{\"create\": [zone, …]}` (201) or `{\"delete\": [name, …]}` (200). A bad item answers the error body plus its `index`.",
    tag: "zones",
    body: ZoneBulk,
    responses: [
      { status: 201, description: "created: `{created: n}`", schema: BulkResult },
      { status: 200, description: "deleted: `{deleted: n}`", schema: BulkResult },
    ],
    errors: [409, 413],
  }),
  async (c) => {
    const body = await jsonBody(c, ZoneBulk);
    try {
      return body.create ? await bulkCreate(c, body.create) : await bulkDelete(c, body.delete!);
    } catch (err) {
      if (!(err instanceof BulkItemError)) throw err;
      const error = { code: err.code, message: err.message, ...(err.field ? { field: err.field } : {}), index: err.index };
      return c.json({ error }, err.status);
    }
  },
);

zoneRoutes.get(
  "/:name",
  operation({
    summary: "Read a zone by name",
    description: "`settings` holds what PUT takes; every other field is computed (status, serial, last transfer, timers as seen).",
    tag: "zones",
    responses: [{ status: 200, description: "the zone", schema: ZoneDetail }],
    errors: [404],
  }),
  async (c) => {
    const zone = await loadZone(c);
    // The last transfer out to each downstream (issue 21), beside the last refresh from the primary.
    const transfersOut = (await lastTransfersOut(c.var.db, zone.id)).map(transferView);
    const verified = verificationView(await lastVerification(c.var.db, zone.id)); // issue 24
    return c.json({ ...zoneView(zone, await lastTransfer(c.var.db, zone.id)), transfersOut, lastVerification: verified });
  },
);

zoneRoutes.patch(
  "/:name",
  operation({
    summary: "Change some of a zone's settings",
    tag: "zones",
    body: ZonePatch,
    responses: [{ status: 200, description: "the zone as stored", schema: ZoneView }],
    errors: [404, 409],
  }),
  async (c) => {
    const zone = await loadZone(c);
    const body = await jsonBody(c, ZonePatch);
    if (zone.memberOf !== null) {
      // A catalog member's settings are its catalog's (issue 19, RFC 9432): only detaching it is a change here.
      const keys = Object.keys(body);
      if (keys.length !== 1 || body.memberOf !== null) {
        throw new ApiError(409, "catalog-member", `${zone.name} is a member of catalog ${zone.memberOf}, which sets its settings; PATCH {"memberOf": null} detaches it first`, keys.find((k) => k !== "memberOf"));
      }
      const detached = await updateZone(c.var.db, zone.id, { memberOf: null, catalogMemberId: null, catalogGroup: null, catalogCoo: null });
      return c.json(zoneView(detached!, undefined));
    }
    if (body.memberOf === null) throw new ApiError(400, "invalid", `memberOf: ${zone.name} is not a member of a catalog`, "memberOf");
    if (body.catalogGroups !== undefined && !zone.catalog) throw new ApiError(400, "invalid", `catalogGroups: ${zone.name} is not a catalog zone`, "catalogGroups");
    if (body.catalog === true && !zone.catalog) {
      throw new ApiError(400, "invalid", `catalog: ${zone.name} is not a catalog, and a zone becomes one only when it is created ({"catalog": true} in POST /zones)`, "catalog");
    }
    const model = body.model ?? zone.model;
    const primaries = body.primaries ?? zone.primaries;
    if ((model === "secondary" || model === "hidden") && primaries.length === 0) {
      throw new ApiError(400, "invalid", `primaries: a ${model} zone needs at least one primary`, "primaries");
    }
    // min ≤ max for each timer, with the clamps the body leaves out as they are stored.
    const clamp = clampIssue(body, zone, "this zone's current value");
    if (clamp) throw new ApiError(400, "invalid", `${clamp.field}: ${clamp.message}`, clamp.field);
    await checkKeys(c, body);
    // Issue 22 item 5: a source is a primary zone's; its token is sealed, never stored as given.
    const { source, ...settings } = body;
    if (source && model !== "primary") throw new ApiError(400, "invalid", `source: only a primary zone (model "primary") follows a Cloudflare zone; ${zone.name} is ${model}`, "source");
    const sourceChange = source === undefined ? {} : source === null ? { source: null, sourceTokenSealed: null } : await sealSource(c, zone.name, source);
    const stopsBeingPrimary = model !== "primary" && zone.source !== null;
    // A catalog no more: its members go with it (`endCatalog`), as a deleted catalog's do.
    if (zone.catalog && body.catalog === false) await endCatalog(c.var.db, zone.id);
    const updated = await updateZone(c.var.db, zone.id, { ...settings, ...sourceChange, ...(stopsBeingPrimary ? { source: null, sourceTokenSealed: null } : {}) });
    // The model and answerAllow are read by the answer path.
    servedPointersChanged();
    // Primaries or keys may have changed: let the service re-read the zone now.
    await signalRefresh(c, zone.id, {});
    return c.json(zoneView(updated!, undefined));
  },
);

/**
 * `PUT /api/v1/zones/:name`: create or replace, idempotent (issue 24, for octoDNS, DNSControl, Terraform).
 * The body is the zone's whole settings, as `POST /zones` takes them; what it leaves out goes back to its
 * default. 201 with the stored zone and its webhook secret (shown this once) when it was created, 200 with
 * the stored zone when it existed; the same body sent again changes nothing and answers the same object.
 */
zoneRoutes.put(
  "/:name",
  operation({
    summary: "Create or replace a zone (idempotent)",
    description: "The body is the zone's whole settings; what it leaves out goes back to its default. Sending the same body again changes nothing and answers the same object.",
    tag: "zones",
    body: ZonePut,
    responses: [
      { status: 201, description: "created; `webhookSecret` is shown this once", schema: ZoneCreated },
      { status: 200, description: "existed: the zone as stored now", schema: ZoneDetail },
    ],
    errors: [404, 409],
  }),
  async (c) => {
    const name = nameFromPath(c.req.param("name"));
    const body = await jsonBody(c, ZonePut);
    if (body.name !== undefined && body.name !== name) {
      throw new ApiError(400, "invalid", `name: ${body.name} is not the zone in the path (${name})`, "name");
    }
    await checkKeys(c, body);
    const { name: _ignored, ...given } = body;
    const settings = { ...DEFAULT_CLAMPS, ...given, tsigKey: given.tsigKey ?? null, maxRecords: given.maxRecords ?? null, maxBytes: given.maxBytes ?? null };
    const existing = await zoneByName(c.var.db, name);
    if (existing === undefined) {
      const secret = newSecret();
      const requestedAt = Date.now();
      const zone = await insertZone(c.var.db, {
        name,
        ...settings,
        webhookSecretHash: await hashSecret(secret),
        refreshRequestedAt: requestedAt,
        refreshRequestedBy: actorOf(c.var.principal),
      });
      if (zone) {
        servedPointersChanged();
        pushInBackground(c, { zone: zone.name, requestedAt, force: null, acceptLowerSerial: false });
        return c.json({ ...zoneView(zone, undefined), transfersOut: [], webhookSecret: secret }, 201);
      }
      // Created meanwhile by another request: replace its settings as for any existing zone.
    }
    const zone = existing ?? (await zoneByName(c.var.db, name));
    if (!zone) throw new ApiError(409, "conflict", `${name} was created and deleted meanwhile; send the request again`);
    const changed = (Object.keys(settings) as (keyof typeof settings)[]).some((k) => JSON.stringify(zone[k]) !== JSON.stringify(settings[k]));
    // Issue 22 item 5: a zone that stops being primary stops following Cloudflare (PUT takes no source).
    const dropSource = settings.model !== "primary" && zone.source !== null ? { source: null, sourceTokenSealed: null } : {};
    const stored = changed ? await updateZone(c.var.db, zone.id, { ...settings, ...dropSource }) : zone;
    if (changed) {
      servedPointersChanged();
      await signalRefresh(c, zone.id, {});
    }
    const transfersOut = (await lastTransfersOut(c.var.db, zone.id)).map(transferView);
    const verified = verificationView(await lastVerification(c.var.db, zone.id)); // issue 24: as GET shows it
    return c.json({ ...zoneView(stored!, await lastTransfer(c.var.db, zone.id)), transfersOut, lastVerification: verified }, 200);
  },
);

zoneRoutes.delete(
  "/:name",
  operation({ summary: "Delete a zone", tag: "zones", responses: [{ status: 204, description: "deleted" }], errors: [404] }),
  async (c) => {
    const zone = await loadZone(c);
    await deleteZone(c.var.db, zone.id);
    servedPointersChanged();
    return c.body(null, 204);
  },
);

/** Records a refresh request, by whoever's token made this request (the transfer log's `actor`), and pushes it. */
async function signalRefresh(c: AppContext, zoneId: number, options: RefreshOptions): Promise<void> {
  const signal = await recordRefreshRequest(c.var.db, zoneId, { ...options, by: actorOf(c.var.principal) });
  if (signal) pushInBackground(c, signal);
}


zoneRoutes.post(
  "/:name/refresh",
  operation({
    summary: "Ask for a refresh now (optionally a forced AXFR)",
    tag: "zones",
    body: RefreshRequest,
    description: "A primary zone following a Cloudflare zone (issue 22) polls Cloudflare's export now and answers 200 with the poll.",
    responses: [
      { status: 202, description: "recorded and pushed to the transfer-service", schema: Accepted },
      { status: 200, description: "a zone with a Cloudflare source: polled now; the poll in words", schema: SourcePolled },
    ],
    errors: [404],
  }),
  async (c) => {
    const zone = await loadZone(c);
    const body = await jsonBody(c, RefreshRequest);
    if (zone.model === "primary" && zone.source) {
      const poll = await pollNow(c, zone);
      return c.json({ zone: zone.name, polled: true, lastPoll: sourcePollView(poll) }, 200);
    }
    await signalRefresh(c, zone.id, body);
    return c.json({ accepted: true, zone: zone.name }, 202);
  },
);

zoneRoutes.post(
  "/:name/notify",
  operation({
    summary: "NOTIFY webhook: the primary changed",
    description: "Also takes the zone's own webhook secret as the bearer token. Any token that opens nothing gets the same 403, whether or not the zone exists. A primary zone following a Cloudflare zone (issue 22) polls Cloudflare's export after the answer.",
    tag: "zones",
    responses: [{ status: 202, description: "a refresh is recorded (or, for a Cloudflare source, a poll started)", schema: Accepted }],
    errors: [404],
  }),
  async (c) => {
    const zone = await loadZone(c);
    if (zone.model === "primary" && zone.source) {
      pollInBackground(c, zone);
      return c.json({ accepted: true, zone: zone.name }, 202);
    }
    await signalRefresh(c, zone.id, {});
    return c.json({ accepted: true, zone: zone.name }, 202);
  },
);

zoneRoutes.post(
  "/:name/webhook-secret",
  operation({
    summary: "Replace the zone's NOTIFY webhook secret",
    tag: "zones",
    responses: [{ status: 200, description: "the new secret, shown this once", schema: WebhookSecret }],
    errors: [404],
  }),
  async (c) => {
    const zone = await loadZone(c);
    const secret = newSecret();
    await setWebhookSecretHash(c.var.db, zone.id, await hashSecret(secret));
    return c.json({ zone: zone.name, webhookSecret: secret });
  },
);

zoneRoutes.get(
  "/:name/transfers",
  operation({
    summary: "The zone's transfer log, newest first",
    tag: "zones",
    query: TransfersQuery,
    responses: [{ status: 200, description: "the log", schema: Transfers }],
    errors: [404],
  }),
  async (c) => {
    const zone = await loadZone(c);
    const query = validate(TransfersQuery, c.req.query());
    const rows = await transfersOf(c.var.db, zone.id, query.limit ?? 100);
    return c.json({ zone: zone.name, transfers: rows.map(transferView) });
  },
);

zoneRoutes.get(
  "/:name/export",
  operation({
    summary: "The served version as a zone file",
    tag: "zones",
    responses: [{ status: 200, description: "RFC 1035 master file; the serial in X-Backstop-Serial", media: "text/dns" }],
    errors: [404, 409],
  }),
  async (c) => {
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
  },
);

function recordJson(owner: Name, r: StoredNode["records"][number]) {
  const data = hasCodec(r.type) ? rdataToText(r.type, r.rdata) : genericToText(r.rdata);
  return { name: owner.toString().replace(/\.$/, ""), type: typeToString(r.type), class: classToString(r.class), ttl: r.ttl, data };
}

zoneRoutes.get(
  "/:name/records",
  operation({
    summary: "Records of the served version, by name and type",
    tag: "zones",
    query: RecordsQuery,
    responses: [{ status: 200, description: "the records", schema: Records }],
    errors: [404],
  }),
  async (c) => {
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
  },
);

