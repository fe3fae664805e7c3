/**
 * @module A primary zone that follows a Cloudflare zone (issue 22 item 5: dual-primary without Enterprise,
 * whose outgoing zone transfers Cloudflare sells only on that plan). People edit the records on Cloudflare;
 * Backstop polls Cloudflare's DNS records export every `pollSeconds` (the Worker's cron, `workers/index.ts`),
 * and at once on `POST /api/v1/zones/:name/refresh` and the NOTIFY webhook, and applies the difference with
 * the zone-file import's planner (`api/import.ts`, `importPlan`) through `editZone`: one commit, one serial
 * step by the zone's serial policy, one journal entry, so NOTIFY and IXFR out follow as for any edit.
 *
 * What is kept is what the other provider should serve too (`cloudflare-source-export.ts`): proxied records
 * are left out and counted, Cloudflare's SOA and apex NS give way to the zone's own.
 *
 * A poll that fails (401/403 a refused token, 404 no such zone, 429 with Retry-After, 5xx, a file Backstop
 * cannot read, a record the zone rules refuse) changes nothing and says why in words in `lastPoll.error`.
 * After a 429, no poll (cron or on demand) reaches Cloudflare before its Retry-After has passed.
 *
 * The API token is sealed with `db/secret-box.ts` under TSIG_ENCRYPTION_KEY, bound to the zone's name
 * (`sourceTokenName`), opened only to send it to Cloudflare, and never written to a response or a log line.
 */
import { Name } from "../../../dns/name.ts";
import { groupRecords, importPlan } from "../../api/import.ts";
import type { D1Queryable } from "../../db/d1-queryable.ts";
import type { SourcePoll, ZoneSource } from "../../db/schema.ts";
import { SecretBox } from "../../db/secret-box.ts";
import type { Env } from "../../env.d.ts";
import { RRType } from "../../../dns/constants.ts";
import { readCloudflareExport, ExportUnreadable } from "./cloudflare-source-export.ts";
import { editZone, EditRefused } from "./zone-edit.ts";
import type { SerialPolicy } from "../../../contract/vocabulary.ts";

export const DEFAULT_API_BASE = "https://api.cloudflare.com";
/** One export download at most: Cloudflare's own import limit is 256 KiB; this leaves room. */
const MAX_EXPORT_BYTES = 16 * 1024 * 1024;
const FETCH_TIMEOUT_MS = 30_000;
/** Sourced zones polled by one cron run at most (each is one subrequest and a few D1 statements). */
const POLLS_PER_RUN = 20;

/** What the sealed token is bound to: a ciphertext copied onto another zone's row does not open. */
export const sourceTokenName = (zone: string) => `cloudflare-source:${zone}`;

/** The zone row fields a poll needs. */
export interface SourcedZone {
  id: number;
  name: string;
  model: string;
  serialPolicy: SerialPolicy;
  source: ZoneSource | null;
  sourceTokenSealed: Uint8Array | null;
}

export interface PollOptions {
  now?: () => number;
  fetch?: typeof fetch;
  /** Told of a commit (the caller drops its pointers and tells the service: cache drop, NOTIFY out). */
  announce?: (zone: string, version: number) => void | Promise<void>;
}

type Download = { ok: true; text: string } | { ok: false; error: string; retryAfterMs?: number };

/** Cloudflare's error body (`{"success":false,"errors":[{"code","message"}],…}`) in words, when it is one. */
async function errorsOf(res: Response): Promise<string> {
  const text = await res.text().catch(() => "");
  try {
    const body = JSON.parse(text) as { errors?: { code?: number; message?: string }[] };
    const list = (body.errors ?? []).map((e) => `${e.message ?? "no message"}${e.code === undefined ? "" : ` (code ${e.code})`}`);
    if (list.length > 0) return list.join("; ");
  } catch {
    // Not JSON: a proxy's page, say.
  }
  return text.trim() === "" ? "no error body" : `a body that is not Cloudflare's error JSON (${text.trim().slice(0, 80).replace(/\s+/g, " ")})`;
}

/** Retry-After (RFC 9110 §10.2.3): seconds, or an HTTP date; in milliseconds from `now`. */
function retryAfterMs(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

async function download(base: string, zoneId: string, token: string, fetcher: typeof fetch, now: number): Promise<Download> {
  const url = `${base.replace(/\/+$/, "")}/client/v4/zones/${encodeURIComponent(zoneId)}/dns_records/export`;
  let res: Response;
  try {
    res = await fetcher(url, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  } catch (err) {
    // The error names the URL at most, never the token (it is a header).
    return { ok: false, error: `Cloudflare's API at ${base} did not answer: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (res.ok) {
    const length = Number(res.headers.get("content-length") ?? "0");
    if (length > MAX_EXPORT_BYTES) return { ok: false, error: `the export is ${length} octets, more than the ${MAX_EXPORT_BYTES} taken` };
    const text = await res.text();
    if (text.length > MAX_EXPORT_BYTES) return { ok: false, error: `the export is more than the ${MAX_EXPORT_BYTES} octets taken` };
    return { ok: true, text };
  }
  const why = await errorsOf(res);
  const status = `HTTP ${res.status}: ${why}`;
  switch (true) {
    case res.status === 401 || res.status === 403:
      return { ok: false, error: `Cloudflare refused the API token (${status}); give a token with DNS Read permission on zone ${zoneId} (PATCH the zone's source)` };
    case res.status === 404:
      return { ok: false, error: `Cloudflare has no zone ${zoneId} for this token (${status}); check the zone id` };
    case res.status === 429: {
      const wait = retryAfterMs(res.headers.get("retry-after"), now);
      const until = wait === undefined ? "" : `; not asked again before ${new Date(now + wait).toISOString()} (Retry-After)`;
      return { ok: false, error: `Cloudflare rate-limited the export (${status})${until}`, ...(wait === undefined ? {} : { retryAfterMs: wait }) };
    }
    case res.status >= 500:
      return { ok: false, error: `Cloudflare's API failed (${status}); tried again at the next poll` };
    default:
      return { ok: false, error: `Cloudflare answered the export with ${status}` };
  }
}

/** Writes the poll's outcome, only while the zone still follows the same Cloudflare zone. */
async function recordPoll(db: D1Queryable, zone: SourcedZone, poll: SourcePoll, nextPollAt: number, holdUntil: number | undefined): Promise<void> {
  await db
    .prepare(
      `UPDATE zones SET source = json_set(source, '$.lastPoll', json(?2), '$.nextPollAt', ?3, '$.holdUntil', ?4)
       WHERE id = ?1 AND json_extract(source, '$.zoneId') = ?5`,
    )
    .bind(zone.id, JSON.stringify(poll), nextPollAt, holdUntil ?? null, zone.source!.zoneId)
    .run();
}

/**
 * Polls the zone's Cloudflare source once and applies the difference as one commit. Resolves to the poll's
 * outcome (also stored as `source.lastPoll`); a failure changes no record.
 */
export async function pollCloudflareSource(db: D1Queryable, env: Env, zone: SourcedZone, options: PollOptions = {}): Promise<SourcePoll> {
  const clock = options.now ?? Date.now;
  const source = zone.source;
  if (!source || zone.model !== "primary") throw new Error(`${zone.name} has no Cloudflare source`);
  const started = clock();
  const nextPollAt = started + source.pollSeconds * 1000;
  if (source.holdUntil !== undefined && source.holdUntil !== null && source.holdUntil > started) {
    // Cloudflare's Retry-After is respected on demand too; the stored poll stays as it was.
    return {
      at: started,
      result: "failed",
      error: `not polled: Cloudflare asked to wait until ${new Date(source.holdUntil).toISOString()} (HTTP 429 Retry-After)`,
      added: 0,
      removed: 0,
      droppedProxied: 0,
    };
  }
  const fail = async (error: string, holdUntil?: number): Promise<SourcePoll> => {
    const poll: SourcePoll = { at: started, result: "failed", error, added: 0, removed: 0, droppedProxied: 0 };
    await recordPoll(db, zone, poll, Math.max(nextPollAt, holdUntil ?? 0), holdUntil);
    return poll;
  };

  let token: string;
  try {
    if (!zone.sourceTokenSealed) return await fail("no API token is stored for this source; PATCH the zone's source with one");
    const box = await SecretBox.fromBase64(env.TSIG_ENCRYPTION_KEY);
    token = new TextDecoder().decode(await box.open(zone.sourceTokenSealed, sourceTokenName(zone.name)));
  } catch (err) {
    return await fail(`the stored API token cannot be opened: ${err instanceof Error ? err.message : String(err)}`);
  }
  const got = await download(env.CLOUDFLARE_API_BASE || DEFAULT_API_BASE, source.zoneId, token, options.fetch ?? fetch, started);
  if (!got.ok) return await fail(got.error, got.retryAfterMs === undefined ? undefined : started + got.retryAfterMs);

  const apex = Name.parseAbsolute(zone.name);
  let file;
  let droppedProxied: number;
  try {
    const read = readCloudflareExport(got.text, apex);
    droppedProxied = read.droppedProxied;
    file = groupRecords(read.records, apex);
  } catch (err) {
    if (err instanceof ExportUnreadable || err instanceof Error) return await fail(`the export is not a zone file Backstop can read: ${err.message}`);
    throw err;
  }
  // The zone's own apex NS set stays: Cloudflare's is left out of the file, and this one is what the recipe publishes.
  const keepApexNs = (name: Name, r: { type: number }) => r.type === RRType.NS && name.equals(apex);
  let outcome;
  try {
    outcome = await editZone(db, { id: zone.id, name: zone.name, serialPolicy: zone.serialPolicy }, importPlan(file, zone.id, db, false, keepApexNs), { now: clock });
  } catch (err) {
    if (err instanceof EditRefused) return await fail(`the export breaks a zone rule, nothing applied: ${err.message.replace(/^body: /, "")}`);
    if (err instanceof Error) return await fail(`the difference could not be applied: ${err.message}`);
    throw err;
  }
  const poll: SourcePoll = {
    at: started,
    result: outcome.committed ? "changed" : "unchanged",
    added: outcome.result.added,
    removed: outcome.result.removed,
    droppedProxied,
    ...(outcome.committed ? { serial: outcome.committed.serial } : {}),
  };
  await recordPoll(db, zone, poll, nextPollAt, undefined);
  if (outcome.committed) await options.announce?.(zone.name, outcome.committed.version);
  return poll;
}

/** The sourced primary zones whose poll is due at `now`, oldest due first. */
async function dueZones(db: D1Queryable, now: number): Promise<SourcedZone[]> {
  const rows = await db
    .prepare(
      `SELECT id, name, model, serial_policy, source, source_token_sealed FROM zones
       WHERE source IS NOT NULL AND model = 'primary' AND coalesce(json_extract(source, '$.nextPollAt'), 0) <= ?1
       ORDER BY coalesce(json_extract(source, '$.nextPollAt'), 0) LIMIT ?2`,
    )
    .bind(now, POLLS_PER_RUN)
    .all<{ id: number; name: string; model: string; serial_policy: SerialPolicy; source: string; source_token_sealed: ArrayBuffer | null }>();
  return rows.results.map((r) => ({
    id: r.id,
    name: r.name,
    model: r.model,
    serialPolicy: r.serial_policy,
    source: JSON.parse(r.source) as ZoneSource,
    sourceTokenSealed: r.source_token_sealed === null ? null : new Uint8Array(r.source_token_sealed),
  }));
}

/**
 * The cron's block: every sourced zone whose poll is due, each claimed first (its next poll moved on by a
 * guarded UPDATE) so two overlapping cron runs never poll one zone twice. Resolves to the polls made.
 */
export async function pollDueSources(db: D1Queryable, env: Env, options: PollOptions = {}): Promise<{ zone: string; poll: SourcePoll }[]> {
  const now = (options.now ?? Date.now)();
  const polls: { zone: string; poll: SourcePoll }[] = [];
  for (const zone of await dueZones(db, now)) {
    const claim = await db
      .prepare(
        `UPDATE zones SET source = json_set(source, '$.nextPollAt', ?2)
         WHERE id = ?1 AND coalesce(json_extract(source, '$.nextPollAt'), 0) <= ?3 RETURNING id`,
      )
      .bind(zone.id, now + zone.source!.pollSeconds * 1000, now)
      .first<{ id: number }>();
    // RETURNING, not meta.changes: the zones triggers' own writes are counted there too.
    if (claim === null) continue;
    polls.push({ zone: zone.name, poll: await pollCloudflareSource(db, env, zone, options) });
  }
  return polls;
}
