/**
 * @module Catalog zones (RFC 9432) as a consumer, on the Worker's side: after every commit of a zone marked
 * `catalog`, its served version is read (`dns/catalog.ts`) and the hosted zones are brought in line with it.
 * Here, because the commit is here: whichever service instance transferred the catalog, and by AXFR or
 * IXFR, the members follow in the same request, and the services learn of new members from the zone change
 * feed like any zone created through the API.
 *
 * The rules (RFC 9432 §5):
 * - a member listed and not hosted is created with the catalog's model, primaries, TSIG key and
 *   notifyAllow, replaced field by field by the template its group property names (`catalogGroups`), with
 *   its first refresh requested in the row (as a bulk create does);
 * - a member of this catalog stays, its settings re-derived (a group or template change applies); a new
 *   unique id for the same member is a reset (§5.4): the zone is deleted with its data and created again;
 * - a member hosted as a member of another catalog moves here only when that catalog's coo property names
 *   this one (§5.6, change of ownership); otherwise it is left where it is and said;
 * - a name hosted as an ordinary zone (created through the API, or detached) is never taken over: said;
 * - a member no longer listed is deleted (§5.3);
 * - a broken catalog (its version property) changes nothing (§5: a consumer must not act on a version it
 *   does not know); the report says why.
 * The outcome is stored as the catalog's `catalog_report` and shown in its view.
 */
import { Name } from "../../dns/name.ts";
import { readCatalog, type CatalogMember } from "../../dns/catalog.ts";
import type { CatalogReport, CatalogTemplate, PrimaryConfig, TransferAllowEntry } from "../db/schema.ts";
import type { D1Queryable } from "../db/d1-queryable.ts";
import { deleteZonesByName, insertZones } from "../db/queries/zones.ts";
import { DEFAULT_CLAMPS } from "../api/schemas.ts";
import { hashSecret, newSecret } from "../http/auth/stored-secret.ts";
import { Budget } from "./statement-budget.ts";
import { versionNodes } from "./version-stream.ts";

/** Problems kept in a report. */
const MAX_PROBLEMS = 100;

interface CatalogRow {
  id: number;
  name: string;
  catalog: number;
  model: "secondary" | "hidden" | "primary";
  primaries: string;
  tsig_key: string | null;
  notify_allow: string;
  catalog_groups: string;
  current_version: number | null;
  serial: number | null;
}

interface HostedRow {
  name: string;
  member_of: string | null;
  catalog_member_id: string | null;
  catalog_coo: string | null;
}

/** A member's settings: the catalog's, replaced by its group's template. */
interface MemberSettings {
  model: "secondary" | "hidden";
  primaries: PrimaryConfig[];
  tsigKey: string | null;
  notifyAllow: string[];
  transferAllow: TransferAllowEntry[];
}

/** What a reconciliation did: the report, and the members created (their first refresh is requested). */
export interface CatalogOutcome {
  report: CatalogReport;
  created: string[];
}

/** The hosted name of a member (as `zones.name` holds names: lowercase, no trailing dot). */
function hostedName(zone: Name): string {
  return zone.lower().toString().replace(/\.$/, "");
}

/**
 * Reconciles the members of catalog zone `catalogId` with its served version. Returns null when the zone is
 * not a catalog or has no version yet.
 */
export async function reconcileCatalog(db: D1Queryable, catalogId: number, now = Date.now()): Promise<CatalogOutcome | null> {
  const catalog = await db
    .prepare("SELECT id, name, catalog, model, primaries, tsig_key, notify_allow, catalog_groups, current_version, serial FROM zones WHERE id = ?1")
    .bind(catalogId)
    .first<CatalogRow>();
  if (!catalog || catalog.catalog !== 1 || catalog.current_version === null) return null;

  const nodes = [];
  for await (const node of versionNodes(db, catalog.id, catalog.current_version)) nodes.push(node);
  const content = readCatalog(Name.parseAbsolute(catalog.name), nodes);
  const report: CatalogReport = { at: now, serial: catalog.serial, members: 0, created: 0, updated: 0, removed: 0, error: null, problems: [] };
  if (!content.ok) {
    report.error = `the catalog was not applied: ${content.error}`;
    await storeReport(db, catalog.id, report);
    return { report, created: [] };
  }
  const problems = [...content.problems];
  const groups = JSON.parse(catalog.catalog_groups) as Record<string, CatalogTemplate>;
  const base: MemberSettings = {
    model: catalog.model === "hidden" ? "hidden" : "secondary",
    primaries: JSON.parse(catalog.primaries) as PrimaryConfig[],
    tsigKey: catalog.tsig_key,
    notifyAllow: JSON.parse(catalog.notify_allow) as string[],
    transferAllow: [],
  };
  const settingsOf = (member: CatalogMember): MemberSettings => {
    if (member.group === null) return base;
    const template = groups[member.group];
    if (!template) {
      problems.push(`${hostedName(member.zone)}: group "${member.group}" has no template in catalogGroups; the catalog's settings apply`);
      return base;
    }
    return {
      model: template.model ?? base.model,
      primaries: template.primaries ?? base.primaries,
      tsigKey: template.tsigKey === undefined ? base.tsigKey : template.tsigKey,
      notifyAllow: template.notifyAllow ?? base.notifyAllow,
      transferAllow: template.transferAllow ?? base.transferAllow,
    };
  };

  // The catalog itself is never its own member (nor is a catalog zone hosted here, when it is listed).
  const listed = new Map<string, CatalogMember>();
  for (const m of content.members) {
    const name = hostedName(m.zone);
    if (name === catalog.name) problems.push(`${name}: a catalog cannot list itself; ignored`);
    else listed.set(name, m);
  }
  report.members = listed.size;

  const hosted = await hostedRows(db, [...listed.keys()]);
  const budget = new Budget(db);
  const writes: D1PreparedStatement[] = [];
  const toCreate: Array<{ name: string; member: CatalogMember }> = [];
  const toDelete: string[] = [];

  for (const [name, member] of listed) {
    const row = hosted.get(name);
    const coo = member.coo ? hostedName(member.coo) : null;
    if (!row) {
      toCreate.push({ name, member });
      continue;
    }
    if (row.member_of === catalog.name && row.catalog_member_id !== member.id) {
      // RFC 9432 §5.4: a new unique id resets the member: its data goes, and it is transferred afresh.
      toDelete.push(name);
      toCreate.push({ name, member });
      continue;
    }
    const mine = row.member_of === catalog.name;
    const offered = row.member_of !== null && row.catalog_coo === catalog.name;
    if (!mine && !offered) {
      problems.push(
        row.member_of === null
          ? `${name}: a zone of that name is hosted here already and is not a member of a catalog; left as it is`
          : `${name}: a member of catalog ${row.member_of}, which offers no change of ownership (coo) to this one; left there`,
      );
      continue;
    }
    const s = settingsOf(member);
    writes.push(
      budget.prepare(
        `UPDATE zones SET member_of = ?2, catalog_member_id = ?3, catalog_group = ?4, catalog_coo = ?5,
           model = ?6, primaries = ?7, tsig_key = ?8, notify_allow = ?9, transfer_allow = ?10, updated_at = ?11
         WHERE name = ?1 AND (member_of IS NOT ?2 OR catalog_member_id IS NOT ?3 OR catalog_group IS NOT ?4 OR catalog_coo IS NOT ?5
           OR model IS NOT ?6 OR primaries IS NOT ?7 OR tsig_key IS NOT ?8 OR notify_allow IS NOT ?9 OR transfer_allow IS NOT ?10)`,
        [name, catalog.name, member.id, member.group, coo, s.model, JSON.stringify(s.primaries), s.tsigKey, JSON.stringify(s.notifyAllow), JSON.stringify(s.transferAllow), now],
      ),
    );
  }
  for (const name of (await memberNames(db, catalog.name))) if (!listed.has(name)) toDelete.push(name);
  report.removed = toDelete.filter((n) => !toCreate.some((c) => c.name === n)).length;

  // `changes` counts the triggers' rows too: a member whose row changed shows more than 0.
  if (writes.length > 0) report.updated = (await budget.batch(writes)).filter((r) => (r.meta.changes ?? 0) > 0).length;
  if (toDelete.length > 0) await deleteZonesByName(db, toDelete);
  if (toCreate.length > 0) await createMembers(db, catalog.name, toCreate.map(({ name, member }) => ({ name, member, settings: settingsOf(member), coo: member.coo ? hostedName(member.coo) : null })), now);
  report.created = toCreate.length;
  report.problems = problems.slice(0, MAX_PROBLEMS);
  if (problems.length > MAX_PROBLEMS) report.problems.push(`… and ${problems.length - MAX_PROBLEMS} more`);
  await storeReport(db, catalog.id, report);
  return { report, created: toCreate.map((c) => c.name) };
}

/** The zones hosted under the names listed, whoever owns them. */
async function hostedRows(db: D1Queryable, names: string[]): Promise<Map<string, HostedRow>> {
  const out = new Map<string, HostedRow>();
  const budget = new Budget(db);
  for (let i = 0; i < names.length; i += 500) {
    const chunk = JSON.stringify(names.slice(i, i + 500));
    const rows = await budget
      .prepare("SELECT name, member_of, catalog_member_id, catalog_coo FROM zones WHERE name IN (SELECT value FROM json_each(?1))", [chunk])
      .all<HostedRow>();
    for (const row of rows.results) out.set(row.name, row);
  }
  return out;
}

async function memberNames(db: D1Queryable, catalog: string): Promise<string[]> {
  const rows = await db.prepare("SELECT name FROM zones WHERE member_of = ?1").bind(catalog).all<{ name: string }>();
  return rows.results.map((r) => r.name);
}

/** Creates members in one batch with `insertZones` (a bulk create's insert), each first refresh requested in the row. */
async function createMembers(
  db: D1Queryable,
  catalog: string,
  members: Array<{ name: string; member: CatalogMember; settings: MemberSettings; coo: string | null }>,
  now: number,
): Promise<void> {
  const rows = await Promise.all(
    members.map(async ({ name, member, settings, coo }) => ({
      name,
      ...DEFAULT_CLAMPS,
      ...settings,
      answerAllow: [],
      // Nobody knows a member's webhook secret until POST /api/v1/zones/:name/webhook-secret sets one.
      webhookSecretHash: await hashSecret(newSecret()),
      refreshRequestedAt: now,
      memberOf: catalog,
      catalogMemberId: member.id,
      catalogGroup: member.group,
      catalogCoo: coo,
    })),
  );
  await insertZones(db, rows);
}

async function storeReport(db: D1Queryable, catalogId: number, report: CatalogReport): Promise<void> {
  await db.prepare("UPDATE zones SET catalog_report = ?2 WHERE id = ?1").bind(catalogId, JSON.stringify(report)).run();
}
