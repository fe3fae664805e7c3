/** @jsxImportSource hono/jsx */
/**
 * @module The zone list (`/`): totals by status, then the zones that need attention (expired, serial
 * regressed, failing, and pending zones whose first transfer failed) before all the others, one row each with what `knotc zone-status` shows and more,
 * filterable by status, model and name prefix, paginated by the API's keyset cursor. The reads are the
 * API's own queries (`db/queries/zones.ts`, `transfer-log.ts`) and its view (`api/zone-view.ts`).
 */
import { ZONE_MODELS, ZONE_STATUSES, type ZoneModel, type ZoneStatus } from "../../contract/vocabulary.ts";
import { lastTransfers } from "../db/queries/transfer-log.ts";
import { listZonesPage, zoneTotals, type ZoneFilter, type ZoneRow, type ZoneTotals } from "../db/queries/zones.ts";
import { shownStatus } from "../db/zone-status.ts";
import { decodeZoneCursor, encodeZoneCursor } from "../api/zone-cursor.ts";
import type { D1Queryable } from "../db/d1-queryable.ts";
import type { TransferRow } from "../db/queries/transfer-log.ts";
import { modelWords, Page, relative, StatusBadge, Time } from "./layout.tsx";

export const PAGE_SIZE = 100;
const PROBLEMS: readonly ZoneStatus[] = ["expired", "serial-regressed", "failing"];

export interface ListQuery {
  status?: ZoneStatus | undefined;
  model?: ZoneModel | undefined;
  prefix?: string | undefined;
  cursor?: string | undefined;
}

/** The list's query from the URL; anything unknown is dropped rather than refused (a page, not an API). */
export function listQuery(q: Record<string, string>): ListQuery {
  const status = ZONE_STATUSES.find((s) => s === q.status);
  const model = ZONE_MODELS.find((m) => m === q.model);
  const prefix = (q.prefix ?? "").trim().toLowerCase().replace(/\.$/, "").slice(0, 253) || undefined;
  return { status, model, prefix, cursor: q.cursor || undefined };
}

export interface ListData {
  totals: ZoneTotals;
  problems: ZoneRow[];
  rows: ZoneRow[];
  last: Map<number, TransferRow>;
  nextCursor: string | null;
}

export async function loadList(db: D1Queryable, q: ListQuery, now: number): Promise<ListData> {
  const filter: ZoneFilter = { status: q.status, model: q.model, prefix: q.prefix };
  const after = q.cursor ? decodeZoneCursor(q.cursor, "name") : undefined;
  const showProblems = q.status === undefined && q.cursor === undefined;
  const [page, totals, ...problemPages] = await Promise.all([
    listZonesPage(db, { filter, sort: "name", after, limit: PAGE_SIZE, now }),
    zoneTotals(db, { model: q.model, prefix: q.prefix }, now),
    ...(showProblems ? PROBLEMS.map((status) => listZonesPage(db, { filter: { ...filter, status }, sort: "name", limit: PAGE_SIZE, now })) : []),
  ]);
  // A pending zone whose first transfer failed is a problem too (the service keeps it `pending` until it
  // has data, with the error in its detail): its last log line says so.
  const pending = showProblems ? (await listZonesPage(db, { filter: { ...filter, status: "pending" }, sort: "name", limit: PAGE_SIZE, now })).rows : [];
  const last = await lastTransfers(db, [...new Set([...problemPages.flatMap((p) => p.rows), ...pending, ...page.rows].map((z) => z.id))]);
  const failedFirst = pending.filter((z) => ["failed", "refused"].includes(last.get(z.id)?.result ?? ""));
  const problems = [...problemPages.flatMap((p) => p.rows), ...failedFirst].slice(0, PAGE_SIZE);
  const end = page.rows.at(-1);
  return { totals, problems, rows: page.rows, last, nextCursor: page.more && end ? encodeZoneCursor("name", end) : null };
}

function behind(z: ZoneRow): string | null {
  if (z.serial === null || z.primarySerial === null || z.serial === z.primarySerial) return null;
  // RFC 1982: the distance forward from ours to the primary's, modulo 2^32.
  const d = (z.primarySerial - z.serial + 2 ** 32) % 2 ** 32;
  return d < 2 ** 31 ? `behind by ${d}` : `ahead by ${2 ** 32 - d}`;
}

function ZoneTable(props: { rows: ZoneRow[]; last: Map<number, TransferRow>; now: number; caption: string }) {
  return (
    <table>
      <caption class="muted">{props.caption}</caption>
      <thead>
        <tr>
          <th scope="col">Zone</th>
          <th scope="col">Status</th>
          <th scope="col">Model</th>
          <th scope="col" class="num">Serial here</th>
          <th scope="col" class="num">Serial at primary</th>
          <th scope="col" class="num">Records</th>
          <th scope="col">Last transfer</th>
          <th scope="col">Next check</th>
          <th scope="col">Expires</th>
          <th scope="col">Earliest RRSIG expiry</th>
        </tr>
      </thead>
      <tbody>
        {props.rows.map((z) => {
          const shown = shownStatus(z, props.now);
          const last = props.last.get(z.id);
          const gap = behind(z);
          return (
            <tr>
              <th scope="row">
                <a href={`/zones/${z.name}`}>{z.name}</a>
              </th>
              <td>
                <StatusBadge status={shown.status} />
              </td>
              <td>{modelWords(z.model)}</td>
              <td class="num">{z.serial ?? "—"}</td>
              <td class="num">
                {z.primarySerial ?? "—"}
                {gap ? <div class="muted">{gap}</div> : null}
              </td>
              <td class="num">{z.recordCount}</td>
              <td>
                {last ? (
                  <span>
                    {`${last.kind} ${last.result}, `}
                    <Time at={last.at} now={props.now} />
                  </span>
                ) : (
                  "—"
                )}
              </td>
              <td>
                <Time at={z.nextRefreshAt} now={props.now} />
              </td>
              <td>{z.expiresAt == null ? "—" : relative(z.expiresAt, props.now)}</td>
              <td>{z.rrsigExpiresAt == null ? <span class="muted">unsigned</span> : <Time at={z.rrsigExpiresAt} now={props.now} />}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

export function ZoneListPage(props: { data: ListData; query: ListQuery; csrf: string; now: number; notice?: string | undefined }) {
  const { data, query } = props;
  const params = (extra: Record<string, string>) =>
    new URLSearchParams(Object.entries({ status: query.status ?? "", model: query.model ?? "", prefix: query.prefix ?? "", ...extra }).filter(([, v]) => v !== "")).toString();
  return (
    <Page title="Zones" signedIn csrf={props.csrf} current="zones">
      {props.notice ? <div class="notice ok" role="status">{props.notice}</div> : null}
      <ul class="totals" aria-label="Zones by status">
        <li>
          <strong>{data.totals.total}</strong> zones
        </li>
        {ZONE_STATUSES.map((s) => (
          <li>
            <strong>{data.totals[s]}</strong>
            <a href={`/?${params({ status: s })}`}>{s}</a>
          </li>
        ))}
      </ul>
      <form class="filters" method="get" action="/" role="search">
        <div>
          <label for="f-status">Status</label>
          <select id="f-status" name="status">
            <option value="">any</option>
            {ZONE_STATUSES.map((s) => (
              <option value={s} selected={query.status === s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for="f-model">Model</label>
          <select id="f-model" name="model">
            <option value="">any</option>
            {ZONE_MODELS.map((m) => (
              <option value={m} selected={query.model === m}>
                {modelWords(m)}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for="f-prefix">Name starts with</label>
          <input id="f-prefix" type="text" name="prefix" value={query.prefix ?? ""} />
        </div>
        <button type="submit">Filter</button>
      </form>
      {data.problems.length > 0 ? (
        <section aria-labelledby="h-problems">
          <h2 id="h-problems">Needs attention</h2>
          <ZoneTable rows={data.problems} last={data.last} now={props.now} caption="Expired, serial regressed and failing zones, and zones whose first transfer failed." />
        </section>
      ) : null}
      <section aria-labelledby="h-all">
        <h2 id="h-all">{query.status ? `Zones ${query.status}` : "All zones"}</h2>
        {data.rows.length === 0 ? (
          <p>
            No zone here yet. <a href="/zones/new">Add a zone</a>.
          </p>
        ) : (
          <ZoneTable rows={data.rows} last={data.last} now={props.now} caption={`By name, ${PAGE_SIZE} a page.`} />
        )}
        {data.nextCursor ? (
          <p>
            <a href={`/?${params({ cursor: data.nextCursor })}`}>Next page</a>
          </p>
        ) : null}
      </section>
    </Page>
  );
}
