/**
 * @module Which hosted zone answers a name (RFC 1034 §4.3.2 step 2: the nearest ancestor that is a zone
 * apex), for the D1 store, at a cost that does not grow with the number of zones (issue 19):
 *
 * - **A miss is one indexed query** for the candidates: `SELECT … FROM zones WHERE name IN (the name and its
 *   ancestors)`, the longest match wins. Candidates stop at the depth of the deepest hosted zone (one index
 *   probe, `zones_depth`), so `x.y.www.example.com` is looked up, and cached, as `example.com` when no
 *   hosted zone has more than two labels: a flood of random names under a zone, or under no zone, then
 *   costs one entry per zone (or per unhosted suffix), not one per name.
 * - **Three bounded caches** (lru-cache): zones by name (`zones`), lookup key → zone name (`found`), and
 *   lookup keys under no zone (`absent`, compact: a key and no value). A flood of names under no zone only
 *   churns `absent`; it never evicts a hot zone or a hot lookup.
 * - **Freshness in O(1) rows a second**: triggers on `zones` append to `zone_changes` (migration
 *   `zone_change_triggers`) on every create, delete and change of what the answer path reads (model,
 *   served version, serial, expiry, answerAllow). At most once per `freshnessMs` (1 s) an isolate asks
 *   for the rows after the last one it saw, with the depth in the same statement: when idle that reads no
 *   change row at all, whatever the number of zones. A changed zone is dropped from `zones` (re-read on its
 *   next query); a created or deleted one also drops the lookups at or below its name. A gap in the log
 *   (pruned past, or more than a page of changes) starts the caches over.
 *
 * So the rule of the old whole-table reload holds: a zone info handed out was current when the newest
 * poll began, at most `freshnessMs` ago (`pointerReadAt` says when, for the port-53 front's cache,
 * `doh/version-headers.ts`); `invalidate()` (a commit or config change in this isolate,
 * `served-store.ts`) makes the next query poll first.
 *
 * Concurrency: each request polls on its own (a promise shared across requests can hang in workerd, see
 * `findZone`), so polls and reads may finish in any order. A read caches what it found only when no poll
 * applied a change while it was in flight (`generation`): otherwise a read that began before a change
 * could put the old row back after the poll that dropped it.
 */
import { LRUCache } from "lru-cache";
import { Name } from "../../dns/name.ts";
import type { ZoneInfo, ZoneModel } from "../../answer/zone-store.ts";
import type { Budget } from "./statement-budget.ts";
import { effectiveAnswerAllow } from "./catalog-access.ts";

export interface ZoneDirectoryOptions {
  /** How long a poll of the change log vouches for the cache. Default 1000 ms. */
  freshnessMs?: number;
  /** Zones kept (by name; a few hundred bytes each). Default 10,000. */
  maxZones?: number;
  /** Lookup keys that found a zone. Default 20,000. */
  maxFound?: number;
  /** Lookup keys under no zone. Default 16,384. */
  maxAbsent?: number;
  now?: () => number;
}

/** A page of change rows; more than this since the last poll and the caches start over. */
const CHANGE_PAGE = 1024;
/** Created or deleted zones in one poll up to which the lookups are dropped one by one (then all). */
const TARGETED_DROPS = 16;
/** D1 binds at most 100 parameters a statement (`statement-budget.ts`). */
const CANDIDATES_PER_STATEMENT = 100;
/** A name as `zones.name` stores one: labels of these characters only (`http/dns-name`). */
const STORABLE = /^[a-z0-9_.-]+$/;
/** A zone name's depth as the index `zones_depth` is written: its dots. */
const DEPTH = "(length(name) - length(replace(name, '.', '')))";

interface ZoneRow {
  id: number;
  name: string;
  model: ZoneModel;
  current_version: number | null;
  serial: number | null;
  expires_at: number | null;
  answer_allow: string;
  catalog: number;
  overlay_from: number | null;
}

/**
 * A zone as this directory hands it out: with `overlay`, the zones row's word on whether the served version
 * (`overlay.version`) sees IXFR overlay rows (issue 28, `overlay-table.ts`), so the D1 store reads the overlay
 * only for zones that have one. A `ZoneInfo` made elsewhere has no such field, and a copy given another
 * version has it for the wrong one: the store then asks D1, once a version.
 */
export interface D1ZoneInfo extends ZoneInfo {
  overlay?: { version: number | null; from: number | null };
}

interface ChangeRow {
  seq: number | null;
  name: string | null;
  op: "create" | "update" | "delete" | null;
  depth: number | null;
}

interface CachedZone {
  info: ZoneInfo;
  /** When the read that gave `info` began. */
  readAt: number;
}

/** The name as `zones.name` would store it (no trailing dot), or undefined when no zone can be named so. */
function storedForm(name: Name): string | undefined {
  const text = name.key.slice(0, -1);
  return text !== "" && STORABLE.test(text) ? text : undefined;
}

export class ZoneDirectory {
  private readonly freshnessMs: number;
  private readonly now: () => number;
  private readonly zones: LRUCache<string, CachedZone>;
  private readonly found: LRUCache<string, string>;
  private readonly absent: LRUCache<string, true>;
  /** The last change row applied; null before the first poll. */
  private seen: number | null = null;
  /** Labels of the deepest hosted zone (0: no zones), as of change row `depthSeq`. */
  private maxLabels = 0;
  private depthSeq = -1;
  /** When the newest poll that vouches for the caches began. */
  private freshAt = -Infinity;
  /** A poll that began before this instant does not vouch (a commit in this isolate came after it). */
  private staleFrom = -Infinity;
  /** Bumped whenever a poll drops anything: a read in flight across it must not fill the caches. */
  private generation = 0;
  /** D1 statements sent (tests and metrics). */
  queries = 0;

  constructor(
    private readonly budget: Budget,
    options: ZoneDirectoryOptions = {},
  ) {
    this.freshnessMs = options.freshnessMs ?? 1000;
    this.now = options.now ?? Date.now;
    this.zones = new LRUCache({ max: options.maxZones ?? 10_000 });
    this.found = new LRUCache({ max: options.maxFound ?? 20_000 });
    this.absent = new LRUCache({ max: options.maxAbsent ?? 16_384 });
  }

  /** Entries held, for tests: zones, lookups that found one, lookups under no zone. */
  get sizes(): { zones: number; found: number; absent: number } {
    return { zones: this.zones.size, found: this.found.size, absent: this.absent.size };
  }

  /**
   * A number that changes whenever a zone info this directory could hand out may have changed (a poll that
   * applied a change, or started over), or undefined while no poll vouches for the caches (older than
   * `freshnessMs`, or dropped by `invalidate`), so that the next `findZone` polls. While it holds one value,
   * `findZone` gives the same answer for the same name, up to `pointerReadAt`; the DoH hot path checks its
   * prebuilt answers against it (`doh/prebuilt-answers.ts`).
   */
  epoch(): number | undefined {
    return this.now() - this.freshAt > this.freshnessMs ? undefined : this.generation;
  }

  /** The next query polls first, and no poll begun before now vouches (a commit in this isolate). */
  invalidate(): void {
    this.freshAt = -Infinity;
    this.staleFrom = this.now();
  }

  /**
   * Issue 28, session 11: read-your-writes for an IXFR this isolate just committed. When the zone is cached at
   * `base` (the version the commit replaced), its pointer moves to the new version, serial and overlay at once:
   * the next query needs no poll, no zone row and (with the overlay handed to the store) no overlay read.
   * Anything else the entry says keeps its own read time (`pointerReadAt`); other zones keep the poll's
   * second. A read in flight from before is not cached over it (`generation`), and the poll that later
   * names the zone re-reads it. False (nothing changed) when the zone is not cached at `base`: then the
   * caller invalidates, as after any other commit.
   */
  committed(name: Name, base: number, next: { version: number; serial: number; overlayFrom: number | null; expiresAt?: number | undefined }): boolean {
    const stored = storedForm(name);
    const cached = stored === undefined ? undefined : this.zones.get(stored);
    if (stored === undefined || cached === undefined || cached.info.version !== base) return false;
    this.generation++;
    const info: D1ZoneInfo = {
      ...cached.info,
      version: next.version,
      serial: next.serial,
      expiresAt: next.expiresAt ?? cached.info.expiresAt,
      overlay: { version: next.version, from: next.overlayFrom },
    };
    this.zones.set(stored, { info, readAt: cached.readAt });
    return true;
  }

  async findZone(qname: Name): Promise<ZoneInfo | null> {
    if (this.now() - this.freshAt > this.freshnessMs) {
      // Each request polls on its own. Sharing one in-flight promise across requests is unsafe in
      // workerd: a promise settled by another request's I/O does not resume this request when that one has
      // finished or been cancelled, and workerd then cancels this one as hung (seen under `npm run bench`
      // load). The cost is one small query per concurrent request in the stale instant.
      await this.poll();
    }
    if (this.maxLabels === 0 || qname.isRoot()) return null;
    const extra = qname.labelCount - this.maxLabels;
    const base = extra > 0 ? qname.stripLeft(extra) : qname;
    const key = base.key;
    if (this.absent.get(key)) return null;
    const apex = this.found.get(key);
    const cached = apex === undefined ? undefined : this.zones.get(apex);
    if (cached) return this.view(cached);
    return this.lookUp(base, key);
  }

  private view(cached: CachedZone): ZoneInfo {
    return { ...cached.info, pointerReadAt: Math.max(cached.readAt, this.freshAt) };
  }

  /** One indexed query over `base` and its ancestors (a batch only past 100 labels). */
  private async lookUp(base: Name, key: string): Promise<ZoneInfo | null> {
    const candidates: string[] = [];
    for (let n = 0; n < base.labelCount; n++) {
      const stored = storedForm(base.stripLeft(n));
      if (stored !== undefined) candidates.push(stored);
    }
    const generation = this.generation;
    const readAt = this.now();
    const rows: ZoneRow[] = [];
    if (candidates.length > 0) {
      const statements: D1PreparedStatement[] = [];
      for (let i = 0; i < candidates.length; i += CANDIDATES_PER_STATEMENT) {
        const chunk = candidates.slice(i, i + CANDIDATES_PER_STATEMENT);
        statements.push(
          this.budget.prepare(
            `SELECT id, name, model, current_version, serial, expires_at, answer_allow, catalog, overlay_from FROM zones WHERE name IN (${chunk.map(() => "?").join(",")})`,
            chunk,
          ),
        );
      }
      this.queries++;
      const results = statements.length === 1 ? [await statements[0]!.all<ZoneRow>()] : await this.budget.db.batch<ZoneRow>(statements);
      for (const r of results) {
        this.budget.record(r);
        rows.push(...r.results);
      }
    }
    let best: CachedZone | undefined;
    const fresh = generation === this.generation;
    for (const row of rows) {
      const entry: CachedZone = { info: this.info(row), readAt };
      if (fresh) this.zones.set(row.name, entry);
      if (!best || entry.info.name.labelCount > best.info.name.labelCount) best = entry;
    }
    if (!fresh) {
      // A poll applied changes while this read was in flight: the rows are as new as the read, no newer.
      return best ? { ...best.info, pointerReadAt: readAt } : null;
    }
    if (best) this.found.set(key, best.info.name.key.slice(0, -1));
    else this.absent.set(key, true);
    return best ? this.view(best) : null;
  }

  private info(row: ZoneRow): D1ZoneInfo {
    return {
      overlay: { version: row.current_version, from: row.overlay_from },
      id: row.id,
      name: Name.parseAbsolute(row.name),
      model: row.model,
      version: row.current_version,
      serial: row.serial,
      expiresAt: row.expires_at,
      answerAllow: effectiveAnswerAllow(row),
    };
  }

  /** Reads the change log after the last row seen (or, the first time, where it ends) and applies it. */
  private async poll(): Promise<void> {
    const startedAt = this.now();
    const since = this.seen;
    this.queries++;
    if (since === null) {
      const result = await this.budget
        .prepare(`SELECT (SELECT MAX(seq) FROM zone_changes) AS seq, (SELECT MAX(${DEPTH}) FROM zones) AS depth`)
        .all<{ seq: number | null; depth: number | null }>();
      this.budget.record(result);
      const row = result.results[0];
      this.startOver(row?.seq ?? 0);
      this.setDepth(row?.depth ?? null, row?.seq ?? 0);
    } else {
      // One statement: the change rows, then one row with the depth, from the same snapshot.
      const result = await this.budget
        .prepare(
          `SELECT * FROM (SELECT seq, name, op, NULL AS depth FROM zone_changes WHERE seq > ? ORDER BY seq LIMIT ${CHANGE_PAGE}) ` +
            `UNION ALL SELECT NULL, NULL, NULL, (SELECT MAX(${DEPTH}) FROM zones)`,
          [since],
        )
        .all<ChangeRow>();
      this.budget.record(result);
      const results = result.results;
      const changes = results.filter((r) => r.seq !== null);
      const depth = results.find((r) => r.seq === null)?.depth ?? null;
      const last = changes.at(-1)?.seq ?? since;
      if (changes.length >= CHANGE_PAGE) {
        // More changes than a page: start over from the end of the log, in a second query (rare).
        this.seen = null;
        return this.poll();
      }
      if (changes.length > 0 && last > (this.seen ?? -1)) {
        if (changes[0]!.seq !== since + 1) this.startOver(last);
        else this.apply(changes, last);
      }
      this.setDepth(depth, last);
    }
    if (startedAt >= this.staleFrom) this.freshAt = Math.max(this.freshAt, startedAt);
  }

  private setDepth(depth: number | null, asOf: number): void {
    if (asOf < this.depthSeq) return;
    this.depthSeq = asOf;
    // Stored names have no trailing dot: labels = dots + 1.
    this.maxLabels = depth === null ? 0 : depth + 1;
  }

  private startOver(seen: number): void {
    this.generation++;
    this.zones.clear();
    this.found.clear();
    this.absent.clear();
    this.seen = Math.max(this.seen ?? 0, seen);
  }

  private apply(changes: readonly ChangeRow[], last: number): void {
    this.generation++;
    const structural: string[] = [];
    for (const change of changes) {
      this.zones.delete(change.name!);
      if (change.op !== "update") structural.push(change.name!);
    }
    if (structural.length > TARGETED_DROPS) {
      this.found.clear();
      this.absent.clear();
    } else if (structural.length > 0) {
      // A zone created or deleted at N changes the answer only for lookup keys at or below N.
      const suffixes = structural.map((name) => `.${name}.`);
      const below = (key: string) => suffixes.some((s) => key === s.slice(1) || key.endsWith(s));
      for (const key of [...this.found.keys()]) if (below(key)) this.found.delete(key);
      for (const key of [...this.absent.keys()]) if (below(key)) this.absent.delete(key);
    }
    this.seen = Math.max(this.seen ?? 0, last);
  }
}
