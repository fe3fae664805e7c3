/**
 * @module `POST /api/v1/zones/:name/import` (issue 22): an RFC 1035 master file (`Content-Type: text/dns`)
 * replaces a primary zone's content in one commit and one serial step (its first version when it has
 * none). The file is read by `dns/zonefile/` with the zone as origin: `$ORIGIN`, `$TTL` and BIND's
 * `$GENERATE` work; `$INCLUDE` is refused, because an uploaded file has no files beside it to include.
 * The file's SOA gives the zone its names and timers, never its serial (the serial policy's); a file
 * without an SOA keeps the zone's. The answer counts the records added and removed (SOA aside);
 * `?dryRun=true` shows the same difference, with the records, and commits nothing.
 */
import { Hono } from "hono";
import type { Context } from "hono";
import { RRType } from "../../dns/constants.ts";
import { Name } from "../../dns/name.ts";
import { parseZoneText } from "../../dns/zonefile/parser.ts";
import type { ZoneRecord } from "../../dns/zonefile/parser.ts";
import { recordToText } from "../../dns/zonefile/printer.ts";
import { ZoneFileError } from "../../dns/zonefile/zone-file-error.ts";
import { ApiError, validate } from "../http/errors/index.ts";
import type { RouteEnv } from "../http/route-env.ts";
import type { D1Queryable } from "../db/d1-queryable.ts";
import { servedNodes } from "../store/primary/zone-edit.ts";
import type { ZoneEdit } from "../store/primary/zone-edit.ts";
import { compareRecords } from "../../answer/store/stored-node.ts";
import type { StoredRecord } from "../../answer/store/stored-node.ts";
import { adminAuth } from "./admin-auth.ts";
import { loadPrimaryZone, runEdit } from "./rrsets.ts";
import { ImportQuery } from "./schemas.ts";
import { operation } from "./openapi.ts";

type AppContext = Context<RouteEnv>;

/** Largest file taken: 16 MiB of text (a zone beyond it goes in by zone transfer, not by upload). */
const MAX_IMPORT_BYTES = 16 * 1024 * 1024;
/** Records listed per side in a dry run's answer. */
const DRY_RUN_LIST = 1000;

export const importRoutes = new Hono<RouteEnv>();
// Scoped to its path: mounted beside `zones.ts` under /zones, a "*" would cover the webhook too.
importRoutes.use("/:name/import", adminAuth);

async function fileText(c: AppContext): Promise<string> {
  const type = (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== "text/dns" && type !== "text/plain") {
    throw new ApiError(415, "unsupported-media-type", "send the zone file as Content-Type: text/dns (RFC 4027), or text/plain");
  }
  const length = Number(c.req.header("content-length") ?? "0");
  if (length > MAX_IMPORT_BYTES) throw new ApiError(413, "too-large", `a zone file is at most ${MAX_IMPORT_BYTES} octets`);
  const bytes = new Uint8Array(await c.req.arrayBuffer());
  if (bytes.length > MAX_IMPORT_BYTES) throw new ApiError(413, "too-large", `a zone file is at most ${MAX_IMPORT_BYTES} octets`);
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new ApiError(400, "invalid", "body: the zone file is not UTF-8 text", "body");
  }
}

/** A master file's records by owner, its SOA aside: what `importPlan` replaces the zone's content with. */
export interface ParsedFile {
  byOwner: Map<string, { name: Name; records: StoredRecord[] }>;
  soa: ZoneRecord | undefined;
}

/** The file's records, by owner, or a 400 saying where the file is wrong. */
function parseFile(text: string, apex: Name): ParsedFile {
  let records: ZoneRecord[];
  try {
    records = parseZoneText(text, { origin: apex, file: "body" });
  } catch (err) {
    if (err instanceof ZoneFileError) {
      const detail = err.detail === "$INCLUDE is not enabled"
        ? "$INCLUDE is refused: an uploaded zone file cannot read other files; put the included records in the file itself"
        : err.detail;
      throw new ApiError(400, "invalid", `body: line ${err.line}, column ${err.column}: ${detail}`, "body");
    }
    throw err;
  }
  return groupRecords(records, apex);
}

/**
 * Parsed records by owner (one SOA at the apex, set aside; one TTL per RRset), or a 400 naming `body`.
 * Also the Cloudflare source's (`store/primary/cloudflare-source.ts`), which reads its file itself.
 */
export function groupRecords(records: readonly ZoneRecord[], apex: Name): ParsedFile {
  const byOwner = new Map<string, { name: Name; records: StoredRecord[] }>();
  let soa: ZoneRecord | undefined;
  for (const r of records) {
    if (!r.name.isSubdomainOf(apex)) throw new ApiError(400, "invalid", `body: ${r.name} is not in the zone ${apex}`, "body");
    if (r.type === RRType.SOA) {
      if (!r.name.equals(apex)) throw new ApiError(400, "invalid", `body: an SOA record belongs at the apex ${apex} only, not at ${r.name}`, "body");
      if (soa) throw new ApiError(400, "invalid", "body: the file has more than one SOA record", "body");
      soa = r;
      continue;
    }
    const node = byOwner.get(r.name.key);
    const record = { type: r.type, class: r.class, ttl: r.ttl, rdata: r.rdata };
    if (node) node.records.push(record);
    else byOwner.set(r.name.key, { name: r.name, records: [record] });
  }
  // One TTL per RRset (RFC 2181 §5.2): the first record's, as BIND loads a file whose TTLs differ.
  for (const node of byOwner.values()) {
    const first = new Map<number, number>();
    node.records = node.records.map((r) => {
      const ttl = first.get(r.type);
      if (ttl === undefined) {
        first.set(r.type, r.ttl);
        return r;
      }
      return { ...r, ttl };
    });
  }
  return { byOwner, soa };
}

interface Difference {
  added: number;
  removed: number;
  /** Dry run only: the records, as zone-file lines. */
  lines?: { added: string[]; removed: string[] };
}

/**
 * The planner: every served name not in the file is emptied, every name of the file takes its records.
 * The apex SOA stays (the policy's), and so does every served record `keep` holds on to (the Cloudflare
 * source keeps the zone's own apex NS set: `store/primary/cloudflare-source.ts`).
 */
export function importPlan(
  file: ParsedFile,
  zoneId: number,
  db: D1Queryable,
  listLines: boolean,
  keep: (name: Name, record: StoredRecord) => boolean = () => false,
) {
  const kept = (name: Name, r: StoredRecord) => r.type === RRType.SOA || keep(name, r);
  return async (edit: ZoneEdit): Promise<Difference> => {
    const diff: Difference = { added: 0, removed: 0, ...(listLines ? { lines: { added: [], removed: [] } } : {}) };
    const seen = new Set<string>();
    for await (const node of servedNodes(db, zoneId, edit.version)) {
      edit.seed(node.name, node.records);
      seen.add(node.name.key);
    }
    for (const key of seen) {
      if (!file.byOwner.has(key)) {
        const name = edit.names().find((n) => n.key === key)!;
        await edit.set(name, (await edit.records(name)).filter((r) => kept(name, r)));
      }
    }
    for (const node of file.byOwner.values()) {
      const held = (await edit.records(node.name)).filter((r) => kept(node.name, r));
      const heldTypes = new Set(held.map((r) => r.type));
      await edit.set(node.name, [...held, ...node.records.filter((r) => !heldTypes.has(r.type))], `body: ${node.name}`);
    }
    if (file.soa) edit.replaceSoa({ type: RRType.SOA, class: file.soa.class, ttl: file.soa.ttl, rdata: file.soa.rdata });
    for (const change of edit.changes()) {
      const same = (r: StoredRecord, list: StoredRecord[]) => list.some((x) => compareRecords(x, r) === 0 && x.ttl === r.ttl);
      for (const r of change.before) {
        if (same(r, change.after)) continue;
        diff.removed++;
        if (diff.lines && diff.lines.removed.length < DRY_RUN_LIST) diff.lines.removed.push(recordToText({ name: change.name, ...r }));
      }
      for (const r of change.after) {
        if (same(r, change.before)) continue;
        diff.added++;
        if (diff.lines && diff.lines.added.length < DRY_RUN_LIST) diff.lines.added.push(recordToText({ name: change.name, ...r }));
      }
    }
    return diff;
  };
}

importRoutes.post(
  "/:name/import",
  operation({ summary: "Replace a primary zone's records with an RFC 1035 master file (Content-Type: text/dns), in one commit", description: "`?dryRun=true` answers the difference without committing. `$INCLUDE` is refused; BIND's `$GENERATE` is expanded.", tag: "primary zones", query: ImportQuery, responses: [{ status: 200, description: "records added and removed (and the difference, on a dry run)" }], errors: [404, 409, 413, 415] }),
  async (c) => {
  const zone = await loadPrimaryZone(c);
  const query = validate(ImportQuery, c.req.query());
  const apex = Name.parseAbsolute(zone.name);
  const file = parseFile(await fileText(c), apex);
  if (!file.soa && zone.currentVersion === null) {
    throw new ApiError(400, "invalid", `body: ${zone.name} has no SOA yet, and the file holds none`, "body");
  }
  // A zone rule broken by the file is a 400 naming `body`, the owner in the message.
  const outcome = await runEdit(c, zone, importPlan(file, zone.id, c.var.db, query.dryRun), { dryRun: query.dryRun, field: "body" });
  const { lines, ...counts } = outcome.result;
  return c.json({
    zone: zone.name,
    dryRun: query.dryRun,
    ...counts,
    changed: outcome.committed !== null,
    serial: outcome.committed?.serial ?? zone.serial,
    ...(query.dryRun && lines ? { difference: lines } : {}),
  });
},
);
