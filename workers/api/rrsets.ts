/**
 * @module `/api/v1/zones/:name/rrsets`, the RRset API of primary zones (issue 22): the unit PowerDNS,
 * Cloudflare's batch API and RFC 2136 all edit. `GET` pages the served version's RRsets; `PUT …/:owner/:type`
 * replaces one, `DELETE` removes it, `PATCH` applies a batch of replacements and deletions as one commit.
 * Every change goes through `store/primary/zone-edit.ts`: one changeset, one serial step, one journal
 * entry, so IXFR and NOTIFY out follow; the service hears of the commit by a control push
 * (`contract/control.ts`'s `committed`), which drops the port-53 front's cached answers and sends NOTIFY.
 */
import { Hono } from "hono";
import type { Context } from "hono";
import { classToString, RRClass, RRType, typeToString } from "../../dns/constants.ts";
import { Name } from "../../dns/name.ts";
import { genericToText } from "../../dns/rdata/generic.ts";
import { encodeRdata, hasCodec, rdataToText } from "../../dns/rdata/index.ts";
import { zoneByName } from "../db/queries/zones.ts";
import { ApiError, jsonBody, validate } from "../http/errors/index.ts";
import { nameFromPath } from "../http/dns-name/index.ts";
import type { RouteEnv } from "../http/route-env.ts";
import { editZone, EditRefused, withTtl } from "../store/primary/zone-edit.ts";
import type { EditResult, EditZone, ZoneEdit } from "../store/primary/zone-edit.ts";
import { editableType, ownerName, parseRecords } from "../store/primary/rrset-input.ts";
import { servedPointersChanged } from "../store/served-store.ts";
import { versionNodesFrom } from "../store/version-stream.ts";
import { TREE_MAIN } from "../../answer/store/stored-node.ts";
import type { StoredNode, StoredRecord } from "../../answer/store/stored-node.ts";
import { adminAuth } from "./admin-auth.ts";
import { pushInBackground } from "./refresh-signal.ts";
import { RrsetListQuery, RrsetPatch, RrsetPut } from "./schemas.ts";
import type { SoaInput } from "./schemas.ts";
import { operation } from "./openapi.ts";

type AppContext = Context<RouteEnv>;
type ZoneRow = NonNullable<Awaited<ReturnType<typeof zoneByName>>>;

export const rrsetRoutes = new Hono<RouteEnv>();
// Mounted beside `zones.ts` under /zones: the middleware is scoped to these paths (a "*" would cover the webhook too).
rrsetRoutes.use("/:name/rrsets", adminAuth);
rrsetRoutes.use("/:name/rrsets/*", adminAuth);

/** The zone named in the path, which must be a primary zone. */
export async function loadPrimaryZone(c: AppContext): Promise<ZoneRow> {
  const name = nameFromPath(c.req.param("name"));
  const zone = await zoneByName(c.var.db, name);
  if (!zone) throw new ApiError(404, "not-found", `no zone named ${name}`);
  if (zone.model !== "primary") {
    throw new ApiError(409, "not-primary", `${zone.name} is a ${zone.model} zone: its records come from its primaries; only a primary zone is edited here`);
  }
  return zone;
}

export function editTarget(zone: ZoneRow): EditZone {
  return { id: zone.id, name: zone.name, serialPolicy: zone.serialPolicy };
}

/**
 * Runs an edit and answers for it: a refused edit is a 400 naming the field, a commit drops this isolate's
 * pointers and is pushed to the service instances (cache drop, NOTIFY out).
 */
export async function runEdit<T>(
  c: AppContext,
  zone: ZoneRow,
  plan: (edit: ZoneEdit) => Promise<T>,
  options: { dryRun?: boolean; field?: string } = {},
): Promise<EditResult<T>> {
  let outcome: EditResult<T>;
  try {
    outcome = await editZone(c.var.db, editTarget(zone), plan, { dryRun: options.dryRun });
  } catch (err) {
    if (err instanceof EditRefused) throw new ApiError(400, "invalid", err.message, options.field ?? err.field);
    throw err;
  }
  if (outcome.committed) announceCommit(c, zone.name, outcome.committed.version);
  return outcome;
}

/** The new version is served by this isolate at once, and the service instances are told (after the response). */
export function announceCommit(c: AppContext, zone: string, version: number): void {
  servedPointersChanged();
  pushInBackground(c, { zone, committed: version });
}

function editAnswer(zone: ZoneRow, outcome: EditResult<unknown>) {
  return {
    zone: zone.name,
    changed: outcome.committed !== null,
    serial: outcome.committed?.serial ?? zone.serial,
    version: outcome.committed?.version ?? zone.currentVersion,
  };
}

/** One RRset as the API shows it: owner without the trailing dot, rdata in presentation format. */
function rrsetJson(owner: Name, type: number, records: StoredRecord[]) {
  return {
    owner: owner.toString().replace(/\.$/, "") || ".",
    type: typeToString(type),
    class: classToString(records[0]!.class),
    ttl: records[0]!.ttl,
    records: records.map((r) => (hasCodec(r.type) ? rdataToText(r.type, r.rdata) : genericToText(r.rdata))),
  };
}

/** The RRsets of a node, by type, in the node's order. */
function rrsetsOf(node: StoredNode): [number, StoredRecord[]][] {
  const byType = new Map<number, StoredRecord[]>();
  for (const r of node.records) {
    const list = byType.get(r.type);
    if (list) list.push(r);
    else byType.set(r.type, [r]);
  }
  return [...byType.entries()];
}

function toBase64Url(text: string): string {
  return btoa(String.fromCharCode(...new TextEncoder().encode(text))).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function decodeCursor(cursor: string): { name: Name; type: number } {
  try {
    const binary = atob(cursor.replaceAll("-", "+").replaceAll("_", "/"));
    const json = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(Uint8Array.from(binary, (ch) => ch.charCodeAt(0)))) as { n?: unknown; t?: unknown };
    if (typeof json.n !== "string" || typeof json.t !== "number" || !Number.isInteger(json.t)) throw new Error("shape");
    return { name: Name.parseAbsolute(json.n), type: json.t };
  } catch {
    throw new ApiError(400, "invalid", "cursor: not a cursor this API gave (pass nextCursor as it came)", "cursor");
  }
}

/** The main tree's nodes from the one holding `from` (or the first) on, a few blocks per query, the IXFR overlay merged in. */
function nodesFrom(c: AppContext, zoneId: number, version: number, from: Uint8Array | null): AsyncGenerator<StoredNode> {
  return versionNodesFrom(c.var.db, zoneId, version, TREE_MAIN, from);
}

/**
 * `GET /api/v1/zones/:name/rrsets`: RRsets in canonical order (RFC 4034 §6.1, then type), `limit` per page
 * (100, at most 1,000), `nextCursor` for the next page or null.
 */
rrsetRoutes.get(
  "/:name/rrsets",
  operation({ summary: "List a primary zone's RRsets, a page at a time", tag: "primary zones", query: RrsetListQuery, responses: [{ status: 200, description: "{rrsets, nextCursor}" }], errors: [404, 409] }),
  async (c) => {
  const zone = await loadPrimaryZone(c);
  const query = validate(RrsetListQuery, c.req.query());
  const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
  const rrsets: ReturnType<typeof rrsetJson>[] = [];
  let nextCursor: string | null = null;
  let last: { name: Name; type: number } | undefined;
  if (zone.currentVersion !== null) {
    outer: for await (const node of nodesFrom(c, zone.id, zone.currentVersion, after ? after.name.sortKey() : null)) {
      for (const [type, records] of rrsetsOf(node)) {
        if (after && node.name.equals(after.name) && type <= after.type) continue;
        if (rrsets.length === query.limit && last) {
          nextCursor = toBase64Url(JSON.stringify({ n: last.name.toString(), t: last.type }));
          break outer;
        }
        rrsets.push(rrsetJson(node.name, type, records));
        last = { name: node.name, type };
      }
    }
  }
  return c.json({ zone: zone.name, serial: zone.serial, rrsets, nextCursor });
},
);

/** The owner and type of a path, checked: in the zone, an editable type. */
function pathTarget(c: AppContext, apex: Name): { owner: Name; type: number } {
  try {
    return { owner: ownerName(c.req.param("owner") ?? "", apex), type: editableType(c.req.param("type") ?? "") };
  } catch (err) {
    if (err instanceof EditRefused) throw new ApiError(400, "invalid", err.message, err.field);
    throw err;
  }
}

/** `owner` holds `records` (all of `type`, one TTL) in place of its `type` RRset; empty removes it. */
export async function replaceRrset(edit: ZoneEdit, owner: Name, type: number, records: StoredRecord[], label?: string): Promise<void> {
  const others = (await edit.records(owner)).filter((r) => r.type !== type);
  await edit.set(owner, [...others, ...records], label);
}

rrsetRoutes.put(
  "/:name/rrsets/:owner/:type",
  operation({ summary: "Replace one RRset of a primary zone (one commit, one serial step)", tag: "primary zones", body: RrsetPut, responses: [{ status: 200, description: "the RRset as stored, and the new serial" }], errors: [404, 409] }),
  async (c) => {
  const zone = await loadPrimaryZone(c);
  const apex = Name.parseAbsolute(zone.name);
  const { owner, type } = pathTarget(c, apex);
  const body = await jsonBody(c, RrsetPut);
  let records: StoredRecord[];
  try {
    records = withTtl(parseRecords(type, body.ttl, body.records, apex), type, body.ttl);
  } catch (err) {
    if (err instanceof EditRefused) throw new ApiError(400, "invalid", err.message, err.field);
    throw err;
  }
  const outcome = await runEdit(c, zone, (edit) => replaceRrset(edit, owner, type, records, "records"));
  return c.json(editAnswer(zone, outcome));
},
);

rrsetRoutes.delete(
  "/:name/rrsets/:owner/:type",
  operation({ summary: "Delete one RRset of a primary zone (one commit, one serial step)", tag: "primary zones", responses: [{ status: 200, description: "deleted, and the new serial" }], errors: [404, 409] }),
  async (c) => {
  const zone = await loadPrimaryZone(c);
  const apex = Name.parseAbsolute(zone.name);
  const { owner, type } = pathTarget(c, apex);
  if (type === RRType.NS && owner.equals(apex)) {
    throw new ApiError(400, "invalid", `type: the apex ${apex} needs an NS RRset; replace it with PUT instead`, "type");
  }
  const outcome = await runEdit(c, zone, (edit) => replaceRrset(edit, owner, type, [], "type"));
  return c.json(editAnswer(zone, outcome));
},
);

/**
 * `PATCH /api/v1/zones/:name/rrsets`: `{"rrsets": [{owner, type, changetype: "replace", ttl, records} |
 * {owner, type, changetype: "delete"}]}`, applied in order as one commit and one serial step. An error
 * names the change (`rrsets.2.records.0`); nothing is written then.
 */
rrsetRoutes.patch(
  "/:name/rrsets",
  operation({ summary: "Replace and delete RRsets of a primary zone as one commit and one serial step", tag: "primary zones", body: RrsetPatch, responses: [{ status: 200, description: "the new serial and what changed" }], errors: [404, 409] }),
  async (c) => {
  const zone = await loadPrimaryZone(c);
  const apex = Name.parseAbsolute(zone.name);
  const body = await jsonBody(c, RrsetPatch);
  const changes = body.rrsets.map((r, i) => {
    try {
      const owner = ownerName(r.owner, apex, `rrsets.${i}.owner`);
      const type = editableType(r.type, `rrsets.${i}.type`);
      const records = r.changetype === "replace" ? withTtl(parseRecords(type, r.ttl!, r.records!, apex, `rrsets.${i}.records`), type, r.ttl!) : [];
      return { owner, type, records, label: `rrsets.${i}` };
    } catch (err) {
      if (err instanceof EditRefused) throw new ApiError(400, "invalid", err.message, err.field);
      throw err;
    }
  });
  const outcome = await runEdit(c, zone, async (edit) => {
    for (const ch of changes) await replaceRrset(edit, ch.owner, ch.type, ch.records, ch.label);
  });
  return c.json(editAnswer(zone, outcome));
},
);

/**
 * The first version of a primary zone created with `soa` and `nameservers`: the planner that writes the
 * apex SOA (its serial is the policy's first) and NS RRset. Names are relative to the zone or absolute.
 * @throws ApiError 400 naming `soa.mname`, `soa.rname` or `nameservers.N`.
 */
export function primaryStart(zoneName: string, soa: SoaInput, nameservers: readonly string[]): (edit: ZoneEdit) => Promise<void> {
  const apex = Name.parseAbsolute(zoneName);
  const name = (text: string, field: string) => {
    try {
      return text === "@" ? apex : Name.parse(text, apex);
    } catch (err) {
      throw new ApiError(400, "invalid", `${field}: ${text} is not a domain name (${(err as Error).message})`, field);
    }
  };
  const soaRdata = encodeRdata(RRType.SOA, {
    mname: name(soa.mname, "soa.mname"),
    rname: name(soa.rname, "soa.rname"),
    serial: 0,
    refresh: soa.refresh,
    retry: soa.retry,
    expire: soa.expire,
    minimum: soa.minimum,
  });
  const ns = nameservers.map((text, i) => ({ type: RRType.NS, class: RRClass.IN, ttl: soa.ttl, rdata: name(text, `nameservers.${i}`).toWire() }));
  return async (edit) => {
    const soaRecord = { type: RRType.SOA, class: RRClass.IN, ttl: soa.ttl, rdata: soaRdata };
    edit.replaceSoa(soaRecord);
    await edit.set(apex, [soaRecord, ...ns], "nameservers");
  };
}
