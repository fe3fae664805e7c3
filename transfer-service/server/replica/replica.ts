/**
 * @module The port-53 front's replica (issue 27): per zone, the newest committed version in the compact form
 * of `answer/store/compact-zone.ts`, so that the front runs the answer engine itself (`replica-answer.ts`)
 * instead of forwarding every query the response cache cannot answer to the Worker.
 *
 * **What it knows.** A directory of every zone of the Worker (apex, id, model, served version, serial,
 * expiry, answerAllow), read from the zone change feed (`GET /internal/v1/zones?since=`) at start and then
 * every `pollMs`; and, within the bounds, each zone's packed version, loaded from the Worker's record stream
 * of that version (`replica-source.ts`). The directory holds every zone even when its data is not held, so
 * the zone a name falls in is always the right one: a child zone that is not held is never answered for by
 * its held parent.
 *
 * **Never stale.** The rule is the Worker's own: no answer from a version older than the newest committed
 * one more than about a second after the commit.
 *   1. A zone is answered from the replica only while the newest successful feed read started less than
 *      `freshMs` (1 s) ago: a read that starts after a commit sees it, so a commit by any instance (or by the
 *      Worker itself: an API edit, an UPDATE) stops the old version within `freshMs` of it.
 *   2. A commit of this instance (`committed`, from `query/commit-watch.ts`; in a query process of the
 *      multi-process front, relayed by the owner) marks the zone stale at once, before the feed says so.
 *   3. A zone whose directory version is not the one held is forwarded to the Worker (with the response
 *      cache in front, as before) until the new version is loaded: the stale window, counted in /metrics.
 * A zone is answered only as the directory last described it: its expiry (`expiresAt`, refreshed on every
 * SOA check through the same feed) and answerAllow are the engine's, exactly as in the Worker.
 *
 * **When the Worker is unreachable** (the feed read fails to connect or time out), rule 1 is suspended: the
 * held zones are answered until their expiry (the data's own bound, RFC 1035 §3.3.13), and the front logs
 * that it is doing so; everything else is forwarded and fails fast (the forward's own SERVFAIL). A commit can
 * only be made through the Worker, so while this front cannot reach it, it can learn of none anyway.
 *
 * **Bounds.** A zone of more than `maxRecords` records (as the feed counts them) is not loaded: it is
 * forwarded, with the response cache. All zones held together stay within `maxBytes` (lru-cache with
 * `sizeCalculation`): the least recently asked is evicted first, and loaded again when next asked.
 *
 * **This instance's own commits** are not read back (`owner-load.ts`): the transfer offers the version it
 * packed from its own stream (`offer`) before committing, the commit event installs it (`committed`), and no
 * read of the zone from the Worker starts while the offer is pending; a failed commit withdraws it.
 *
 * **Processes.** Each query process of the multi-process front keeps its own replica (node:cluster processes
 * share no heap, and Node maps no file). The owner's commits reach it from the owner (`front-processes.ts`):
 * a snapshot file of the packed version, read when the commit event comes (`load`), or the IXFR's changesets;
 * the feed and the Worker's record stream remain for the versions other instances commit, and at start.
 */
import { LRUCache } from "lru-cache";
import { Name } from "../../../dns/name.ts";
import { RRType } from "../../../dns/constants.ts";
import { TREE_MAIN } from "../../../answer/store/stored-node.ts";
import { parseRecordStream, RecordStreamError } from "../../../contract/record-stream.ts";
import type { ZoneConfig } from "../../../contract/internal-v1.ts";
import { ChangesetMismatch, CompactZone, CompactZoneStore } from "../../../answer/store/compact-zone.ts";
import type { ZoneInfo } from "../../../answer/zone-store.ts";
import type { Logger } from "../../ops/log.ts";
import { readFile } from "node:fs/promises";
import type { ChangesOffer, OwnerOffer } from "./owner-load.ts";
import { encodeChangedNodes, ixfrNodes } from "../../../answer/store/changed-nodes.ts";
import type { ChangedNode, IxfrNodes } from "../../../answer/store/changed-nodes.ts";
import type { ChangedNodesPart } from "../../worker/worker-api.ts";
import type { ReplicaSource, FeedCursor } from "./replica-source.ts";
import { ReplicaSourceError } from "./replica-source.ts";

/** How long a successful feed read vouches for the directory (the never-stale bound). */
export const REPLICA_FRESH_MS = 1_000;

/**
 * How long a version offered before its commit (`offer`) waits for the commit event. A commit that fails is
 * withdrawn at once (`owner-load.ts`); this bounds what a lost word (a process that died) keeps the zone from
 * being read from the Worker.
 */
export const OFFER_MS = 60_000;

/**
 * A version offered by the process that transferred it: built in this process (`owner-load.ts`), or, in a
 * query process of the multi-process front, written by the owner to a snapshot file (`front-processes.ts`).
 */
export type ReplicaOffer = (OwnerOffer & { relayed?: boolean }) | { kind: "file"; path: string };

/** How a version came to be held: read whole or through the journal from the Worker, or from this instance's own transfer. */
export type LoadKind = "full" | "ixfr" | "owner" | "snapshot";

/** The engine asked for a zone the replica does not hold at its served version: the query goes to the Worker. */
export class ReplicaMiss extends Error {
  override readonly name = "ReplicaMiss";
}

export interface ReplicaOptions {
  source: ReplicaSource;
  log: Logger;
  /** Records of the largest zone held (BACKSTOP_REPLICA_MAX_RECORDS). */
  maxRecords: number;
  /** Octets of every zone held together (BACKSTOP_REPLICA_MAX_BYTES). */
  maxBytes: number;
  /** Feed reads' interval. */
  pollMs: number;
  /** How long a feed read vouches for the directory; REPLICA_FRESH_MS by default. */
  freshMs?: number;
  /** Versions loaded at once. */
  loadConcurrency?: number;
  now?: () => number;
  events?: ReplicaEvents;
  /**
   * Holds only the versions this process's own transfers build (`offer`) and what their IXFRs make of them,
   * never reading one from the Worker: the multi-process owner's replica, which answers no query and is there
   * for the IXFR's changed nodes (`nodesFor`) and transfers out (`packedVersion`) of the zones it transfers.
   */
  passive?: boolean;
}

/** What the replica tells /metrics (`ops/metrics.ts`). */
export interface ReplicaEvents {
  /**
   * A version loaded: read whole (`full`), or the held one with the journal's changesets applied (`ixfr`),
   * from the Worker; built from this instance's own transfer (`owner`: in this process; `snapshot`: the owner
   * process's snapshot file or changesets). `seconds` counts from the commit event for the last two.
   */
  loaded?(seconds: number, records: number, kind: LoadKind): void;
  /** A held zone's stale window ended (its new version is loaded), after `seconds`. */
  staleWindow?(seconds: number): void;
}

/** One zone as the directory knows it. */
interface Entry {
  info: ZoneInfo;
  /** The zone's name as the Worker spells it in `/internal/v1` paths. */
  path: string;
  /** The feed named no answerAllow (an older Worker): left to the Worker. */
  unknownAllow: boolean;
  recordCount: number;
  /** When this instance learned that `info.version` is not the one held (the start of a stale window). */
  staleSince: number | undefined;
}

interface Held {
  version: number;
  /** The SOA serial of the version held (where the journal's changesets start). */
  serial: number | null;
  zone: CompactZone;
}

/** What the replica holds, for /metrics. */
export interface ReplicaStats {
  zones: number;
  bytes: number;
  records: number;
  directory: number;
}

export class Replica {
  private readonly directory = new Map<string, Entry>();
  /**
   * Zones of the directory by label count (`setEntry`, `dropKey`): `resolve` looks up only the ancestors of a
   * name at a depth some zone has, so a query name (nearly never a zone's apex) costs one Map lookup, not one
   * per label (issue 27).
   */
  private readonly depths = new Int32Array(128);
  private readonly held: LRUCache<string, Held>;
  private readonly now: () => number;
  private readonly freshMs: number;
  private cursor: FeedCursor = { since: 0 };
  /** During a read of the whole feed after a resync: the zones seen. */
  private sweep: Set<string> | null = null;
  /** Start of the newest feed read that succeeded; -Infinity before the first. */
  private vouchedAt = -Infinity;
  /** The last feed read failed to reach the Worker (the held zones are answered until they expire). */
  private unreachable = false;
  /** The directory holds every zone (a first full read has completed). */
  private synced = false;
  private pollTimer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private loading = 0;
  /** When each zone's last load started (`resolve` asks again at most once a second). */
  private readonly attempted = new Map<string, number>();
  private stopped = false;
  private recordsHeld = 0;
  /** Versions offered by this instance's transfers (`offer`), by zone key, until their commit event. */
  private readonly offers = new Map<string, { offer: ReplicaOffer; timer: NodeJS.Timeout }>();
  /** The owners `nodesFor` computed, by zone key, until the commit event takes them (`take`) or a new offer. */
  private readonly computed = new Map<string, { version: number; changesets: ChangesOffer["changesets"]; owners: ChangedNode[] }>();
  /** A commit event took a file offer: the version it names is read from that file (`load`). */
  private readonly files = new Map<string, { version: number; path: string }>();
  /** Reads from the Worker (versions whole, journals), by zone key: tests and the bench count them. */
  private readonly reads = new Map<string, number>();
  /** This process's transfers offer their versions (`offer`): its replica computes their IXFRs' changed nodes. */
  private transfers = false;

  constructor(private readonly options: ReplicaOptions) {
    this.now = options.now ?? Date.now;
    this.freshMs = options.freshMs ?? REPLICA_FRESH_MS;
    this.held = new LRUCache<string, Held>({
      maxSize: Math.max(1, options.maxBytes),
      sizeCalculation: (h) => Math.max(1, h.zone.bytes),
      dispose: (h) => {
        this.recordsHeld -= h.zone.records;
      },
    });
  }

  /** Reads the feed once (bounded by the source's timeout), then every `pollMs`. Never rejects. */
  async start(): Promise<void> {
    await this.poll();
    this.pollTimer = setInterval(() => void this.poll(), this.options.pollMs);
    this.pollTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    await this.polling;
    await this.options.source.close();
  }

  stats(): ReplicaStats {
    return { zones: this.held.size, bytes: this.held.calculatedSize, records: this.recordsHeld, directory: this.directory.size };
  }

  /** Whether the directory may be trusted now: a recent successful feed read, or the Worker out of reach. */
  private vouched(now: number): boolean {
    return this.synced && (this.unreachable || now - this.vouchedAt <= this.freshMs);
  }

  /** True when some zone may be answered here now (a cheap test before running the engine). */
  mayAnswer(): boolean {
    return this.held.size > 0 && this.vouched(this.now());
  }

  /** How old the directory's vouching read is (for the response cache's expiry of replica answers). */
  ageMs(): number {
    return Math.max(0, this.now() - this.vouchedAt);
  }

  /**
   * A store for one query: the engine's lookups over the versions held, pinned at the first lookup of each
   * zone; `seen` collects the zones handed out (the answer's origin, for the response cache).
   * @throws ReplicaMiss (from `findZone`) for a zone not held at its served version, or when not vouched.
   */
  view(seen: ZoneInfo[]): CompactZoneStore {
    return new ReplicaView(this, seen);
  }

  /**
   * The zone `resolve` found last, with its key and directory entry (issue 27, session 11): a front's queries
   * nearly all fall in one zone, so the next name is matched against it label by label, and no presentation key
   * of the query name is rendered (~0.5 µs a query in the engine's miss round). Used only while that entry is still the directory's and no
   * zone deeper than it exists at a depth the name reaches (one of those could be a closer encloser).
   */
  private lastFound: { key: string; entry: Entry } | undefined;

  /** The zone a name falls in, and its packed version; see `ReplicaView.findZone`. */
  resolve(name: Name): { info: ZoneInfo; zone: CompactZone | undefined } | null {
    const now = this.now();
    if (!this.vouched(now)) throw new ReplicaMiss("the directory is not vouched for");
    const last = this.lastFound;
    if (last !== undefined && this.directory.get(last.key) === last.entry && endsWith(name, last.entry.info.name, this.depths)) return this.found(last.key, last.entry, now);
    // The keys of the name and its ancestors are suffixes of its own key: no Name or string rendered per label.
    const full = name.key;
    for (let n = 0, at = 0; n <= name.labelCount; n++, at = nextLabel(full, at)) {
      if (this.depths[name.labelCount - n] === 0) continue;
      const key = n === 0 ? full : n === name.labelCount ? "." : full.slice(at);
      const entry = this.directory.get(key);
      if (entry === undefined) continue;
      this.lastFound = { key, entry };
      return this.found(key, entry, now);
    }
    return null;
  }

  /** `resolve`'s answer for the directory entry of the zone a name falls in. */
  private found(key: string, entry: Entry, now: number): { info: ZoneInfo; zone: CompactZone | undefined } {
    if (entry.unknownAllow) throw new ReplicaMiss(`${key}: answerAllow unknown`);
    // Never loaded: the engine answers SERVFAIL "zone not loaded", as the Worker does.
    if (entry.info.version === null) return { info: entry.info, zone: undefined };
    const held = this.held.get(key);
    if (held === undefined || held.version !== entry.info.version) {
      // Asked for: load it (evicted, or a load that failed), at most once a second per zone.
      if ((this.attempted.get(key) ?? -Infinity) <= now - 1000) this.want(key);
      throw new ReplicaMiss(`${key}: version ${entry.info.version} not held`);
    }
    return { info: entry.info, zone: held.zone };
  }

  /**
   * The packed version `version` of the zone `zoneId` when this replica holds exactly it, for transfers out
   * (`xfr-out/replica-records.ts`): a version's content never changes, so any version held will do, current
   * or not, as long as it is this zone's (a zone deleted and created again under its name is another id, and
   * its version numbers start over). Peeks: a transfer out does not make the zone recently asked.
   */
  packedVersion(zone: string, zoneId: number, version: number): CompactZone | undefined {
    const at = this.entryAndHeld(zone);
    if (at === undefined || at.entry.info.id !== zoneId || at.held.version !== version) return undefined;
    return at.held.zone;
  }

  /** A zone's directory entry and the version held of it (peeked: not made recently asked), when both exist. */
  private entryAndHeld(zone: string): { key: string; entry: Entry; held: Held } | undefined {
    let key: string;
    try {
      key = Name.parseAbsolute(zone).key;
    } catch {
      return undefined;
    }
    const entry = this.directory.get(key);
    const held = this.held.peek(key);
    return entry === undefined || held === undefined ? undefined : { key, entry, held };
  }

  /**
   * This instance's transfer built a version of `zone` and is committing it (`owner-load.ts`): the commit event
   * that follows (`committed`) installs it, and no read of the zone from the Worker starts meanwhile (the feed
   * may show the commit before the event comes). Replaces an earlier offer; dropped after OFFER_MS.
   */
  offer(zone: string, offer: ReplicaOffer): void {
    let key: string;
    try {
      key = Name.parseAbsolute(zone).key;
    } catch {
      return;
    }
    this.transfers = true;
    const before = this.offers.get(key);
    if (before) clearTimeout(before.timer);
    const timer = setTimeout(() => this.withdraw(zone), OFFER_MS);
    timer.unref();
    this.offers.set(key, { offer, timer });
  }

  /**
   * Issue 28, session 10: the changed nodes of this instance's IXFR (`answer/store/changed-nodes.ts`), when the
   * version held is exactly the one the changesets start from: the zone the directory names (its id known), the
   * held version the directory's served one, its serial the changesets' first. The Worker stores them only if
   * that (zone id, version, serial) is still its served version, so a replica of an older version with the
   * same serial is never used. Undefined otherwise, or when the changesets do not fit the version held (the
   * Worker then says so itself: RFC 1995's "inconsistent"). The owners are kept for the commit event
   * (`take`), which makes the replica's new version from them instead of applying the changesets again.
   */
  nodesFor(zone: string, offer: ChangesOffer): ChangedNodesPart | undefined {
    const at = this.entryAndHeld(zone);
    if (at === undefined) return undefined;
    const { key, entry, held } = at;
    if (entry.info.id === 0 || entry.info.version !== held.version || held.serial !== offer.fromSerial) return undefined;
    let computed: IxfrNodes;
    try {
      computed = ixfrNodes(held.zone.nodeSource(), offer.changesets);
    } catch (err) {
      if (!(err instanceof ChangesetMismatch || err instanceof RangeError)) throw err;
      this.options.log.debug({ zone: key, reason: err.message }, "replica: the changesets do not fit the version held; no changed nodes");
      return undefined;
    }
    this.computed.set(key, { version: held.version, changesets: offer.changesets, owners: computed.nodes });
    const { recordDelta, replacedExpiry, earliestAfter } = computed;
    return {
      base: { zoneId: entry.info.id, version: held.version, serial: offer.fromSerial, recordDelta, replacedExpiry, ...(earliestAfter === undefined ? {} : { earliestAfter }) },
      nodes: encodeChangedNodes(computed.nodes),
    };
  }

  /** The commit of an offered version is over without taking it (failed): read the zone as the feed says. */
  withdraw(zone: string): void {
    let key: string;
    try {
      key = Name.parseAbsolute(zone).key;
    } catch {
      return;
    }
    this.computed.delete(key);
    const pending = this.offers.get(key);
    if (pending === undefined) return;
    clearTimeout(pending.timer);
    this.offers.delete(key);
    const entry = this.directory.get(key);
    if (entry !== undefined && entry.info.version !== null && this.held.peek(key)?.version !== entry.info.version) this.want(key);
  }

  /** Reads of `zone` from the Worker (whole versions and journals) since this replica started. */
  workerReads(zone: string): number {
    return this.reads.get(Name.parseAbsolute(zone).key) ?? 0;
  }

  /**
   * This instance committed `version` of `zone`: the held version is stale from now until the new one is
   * loaded, from the offer this instance's transfer made (`offer`) when there is one, else from the Worker.
   * A zone the directory does not know yet gets a place-holder, so its parent does not answer for it.
   */
  committed(zone: string, version: number): void {
    let name: Name;
    try {
      name = Name.parseAbsolute(zone);
    } catch {
      return;
    }
    const key = name.key;
    const pending = this.offers.get(key);
    if (pending !== undefined) {
      clearTimeout(pending.timer);
      this.offers.delete(key);
    }
    let entry = this.directory.get(key);
    if (entry === undefined) {
      entry = {
        info: { id: 0, name, model: "secondary", version, serial: null, expiresAt: null, answerAllow: [] },
        path: zone,
        unknownAllow: true,
        recordCount: 0,
        staleSince: this.now(),
      };
      this.setEntry(key, entry);
    } else if (entry.info.version !== null && entry.info.version > version) {
      return;
    } else if (entry.info.version !== version) {
      // The notice names the version, not its serial: the next feed read does (`load` waits for it).
      entry.info = { ...entry.info, version, serial: null };
    }
    if (this.held.peek(key)?.version === version) return;
    if (pending !== undefined && this.take(key, entry, version, pending.offer)) return;
    this.markStale(key, entry);
    this.want(key);
  }

  /** Installs an offered version at once (packed, or changesets on the held base); a file is left to `load`. */
  private take(key: string, entry: Entry, version: number, offer: ReplicaOffer): boolean {
    const started = performance.now();
    if (offer.kind === "file") {
      this.files.set(key, { version, path: offer.path });
      return false;
    }
    let zone: CompactZone | undefined;
    if (offer.kind === "zone") zone = offer.zone;
    else {
      const held = this.held.peek(key);
      // Only on the version the changesets start from; anything else is read from the Worker.
      if (held === undefined || held.serial !== offer.fromSerial) return false;
      const computed = this.computed.get(key);
      this.computed.delete(key);
      try {
        // The owners `nodesFor` computed for these very changesets on this very version: not computed again.
        zone =
          computed !== undefined && computed.version === held.version && computed.changesets === offer.changesets
            ? held.zone.withOwners(computed.owners.filter((o) => !o.unchanged))
            : held.zone.withChanges(offer.changesets);
      } catch (err) {
        if (!(err instanceof ChangesetMismatch || err instanceof RangeError)) throw err;
        this.options.log.debug({ zone: key, reason: err.message }, "replica: this transfer's changesets do not fit the version held; reading it whole");
        return false;
      }
      if (zone.serial(entry.info.name) !== offer.toSerial) return false;
    }
    return this.install(key, entry, version, zone, offer.relayed === true ? "snapshot" : "owner", started);
  }

  /** Holds `zone` as `version` of the zone (within the bounds); false when it cannot be held. */
  private install(key: string, entry: Entry, version: number, zone: CompactZone, kind: LoadKind, started: number): boolean {
    if (zone.bytes > this.options.maxBytes || zone.records > this.options.maxRecords) return false;
    const serial = zone.serial(entry.info.name);
    this.held.set(key, { version, serial, zone });
    this.listExpiries(zone);
    this.recordsHeld += zone.records;
    if (entry.info.version === version && entry.info.serial == null) entry.info = { ...entry.info, serial };
    const seconds = (performance.now() - started) / 1000;
    this.options.events?.loaded?.(seconds, zone.records, kind);
    if (entry.staleSince !== undefined) {
      this.options.events?.staleWindow?.((this.now() - entry.staleSince) / 1000);
      entry.staleSince = undefined;
    }
    this.options.log.debug({ zone: key, version, kind, records: zone.records, bytes: zone.bytes, ms: Math.round(seconds * 1000) }, "replica: version loaded");
    return true;
  }

  /**
   * Issue 28, session 11: a signed version's earliest RRSIG expirations, which `nodesFor` needs at nearly every
   * IXFR of a signed zone (`ixfrNodes`'s `earliestAfter`), are listed now, after the load and off any IXFR's
   * path: one walk over the version (20-27 ms on 1M records), which the versions its IXFRs make carry on
   * (`CompactTree.expiriesExcept`). Cheap when already listed. Only where this process's transfers compute the
   * changed nodes.
   */
  private listExpiries(zone: CompactZone): void {
    if (!this.transfers || !zone.trees[TREE_MAIN].node(0)?.records.some((r) => r.type === RRType.RRSIG)) return;
    const timer = setTimeout(() => {
      if (!this.stopped) zone.nodeSource().earliestExcept([[], []], this.now());
    }, 0);
    timer.unref();
  }

  private markStale(key: string, entry: Entry): void {
    const held = this.held.peek(key);
    if (held !== undefined && held.version !== entry.info.version && entry.staleSince === undefined) entry.staleSince = this.now();
  }

  /** One read of the feed, to its end; concurrent calls share it. Never rejects. */
  poll(): Promise<void> {
    this.polling ??= this.pollOnce().finally(() => {
      this.polling = undefined;
    });
    return this.polling;
  }

  private async pollOnce(): Promise<void> {
    if (this.stopped) return;
    const startedAt = this.now();
    try {
      let resynced = false;
      for (;;) {
        const page = await this.options.source.zoneChanges(this.cursor);
        if (page.resync) {
          if (resynced) return;
          resynced = true;
          this.cursor = { since: 0 };
          this.sweep = new Set();
          continue;
        }
        for (const name of page.deleted) this.drop(name);
        for (const config of page.zones) this.adopt(config);
        this.cursor = page.cursor;
        if (!page.more) break;
      }
    } catch (err) {
      const unreachable = err instanceof ReplicaSourceError && err.kind === "unreachable";
      if (unreachable && !this.unreachable && this.synced) {
        this.options.log.warn({ zones: this.held.size }, "the Worker is unreachable: answering the zones held in the replica until they expire, forwarding (and failing) the rest");
      } else if (!unreachable) {
        this.options.log.debug({ reason: (err as Error).message }, "replica: cannot read the zone change feed");
      }
      this.unreachable = unreachable;
      return;
    }
    if (this.sweep) {
      for (const key of [...this.directory.keys()]) if (!this.sweep.has(key)) this.dropKey(key);
      this.sweep = null;
    }
    if (this.unreachable) this.options.log.info("the Worker is reachable again: the replica follows its zone change feed");
    this.unreachable = false;
    this.synced = true;
    this.vouchedAt = Math.max(this.vouchedAt, startedAt);
  }

  private adopt(config: ZoneConfig): void {
    let name: Name;
    try {
      name = Name.parseAbsolute(config.name);
    } catch {
      return;
    }
    const key = name.key;
    this.sweep?.add(key);
    const old = this.directory.get(key);
    // A zone deleted and created again under its name is another zone: nothing of the old one is kept.
    if (old !== undefined && old.info.id !== 0 && config.id !== undefined && old.info.id !== config.id) this.dropKey(key);
    const before = this.directory.get(key);
    // The feed may lag this instance's own commit notice: never step the version back.
    const behind = before?.info.version != null && config.currentVersion !== null && before.info.version > config.currentVersion;
    const version = behind ? before!.info.version : config.currentVersion;
    const entry: Entry = {
      info: {
        id: config.id ?? 0,
        name,
        model: config.model,
        version,
        serial: behind ? (before!.info.serial ?? null) : config.serial,
        expiresAt: config.expiresAt,
        answerAllow: config.answerAllow ?? [],
      },
      path: config.name,
      unknownAllow: config.answerAllow === undefined,
      recordCount: config.recordCount,
      staleSince: before?.staleSince,
    };
    this.setEntry(key, entry);
    this.markStale(key, entry);
    if (version === null) {
      this.held.delete(key);
      return;
    }
    if (config.recordCount > this.options.maxRecords) {
      this.held.delete(key);
      return;
    }
    const held = this.held.peek(key);
    if (held === undefined || held.version !== version) this.want(key);
  }

  private drop(zone: string): void {
    try {
      this.dropKey(Name.parseAbsolute(zone).key);
    } catch {
      // not a name: nothing held under it
    }
  }

  /** A zone's directory entry, and its depth counted (`depths`). */
  private setEntry(key: string, entry: Entry): void {
    const before = this.directory.get(key);
    if (before !== undefined) this.depths[before.info.name.labelCount]!--;
    this.depths[entry.info.name.labelCount]!++;
    this.directory.set(key, entry);
  }

  private dropKey(key: string): void {
    const entry = this.directory.get(key);
    if (entry !== undefined) this.depths[entry.info.name.labelCount]!--;
    this.directory.delete(key);
    this.files.delete(key);
    this.attempted.delete(key);
    this.held.delete(key);
  }

  /** Queues a load of the zone's served version (once; a few at a time). */
  private want(key: string): void {
    if (this.stopped || this.options.passive || this.queued.has(key)) return;
    const entry = this.directory.get(key);
    if (!entry || entry.info.version === null || entry.unknownAllow || entry.recordCount > this.options.maxRecords) return;
    this.queued.add(key);
    this.queue.push(key);
    this.pump();
  }

  private pump(): void {
    const limit = this.options.loadConcurrency ?? 4;
    while (this.loading < limit && this.queue.length > 0) {
      const key = this.queue.shift()!;
      this.loading++;
      this.attempted.set(key, this.now());
      void this.load(key).then(
        (superseded) => {
          this.loading--;
          this.queued.delete(key);
          // The directory moved on while this load ran: load the version it names now.
          if (superseded) this.want(key);
          this.pump();
        },
        (err: unknown) => {
          this.loading--;
          this.queued.delete(key);
          this.options.log.error({ zone: key, reason: (err as Error).message }, "replica: loading a version failed");
          this.pump();
        },
      );
    }
  }

  /** Loads the directory's version of a zone; true when the directory named another one by the end. */
  private async load(key: string): Promise<boolean> {
    let entry = this.directory.get(key);
    if (!entry || entry.info.version === null || this.stopped) return false;
    // This instance's transfer is committing a version: it comes with the commit event (or a withdrawal).
    if (this.offers.has(key)) return false;
    const started = performance.now();
    const file = this.files.get(key);
    if (file !== undefined) {
      this.files.delete(key);
      if (file.version === entry.info.version) {
        const zone = await this.readSnapshot(key, file.path);
        const now = this.directory.get(key);
        if (zone !== undefined && now !== undefined && now.info.version === file.version) {
          if (this.install(key, now, file.version, zone, "snapshot", started)) return false;
        }
        if (now?.info.version !== file.version) return now !== undefined;
      }
    }
    const previous = this.held.peek(key);
    // A commit notice named the version but not its serial, which the journal is asked from: one feed read.
    if (previous !== undefined && entry.info.serial == null && this.options.source.journal) {
      // A read already on its way may have started before the commit: a read after it, then.
      await this.polling;
      await this.poll();
      entry = this.directory.get(key);
      if (!entry || entry.info.version === null || this.stopped) return false;
    }
    const version = entry.info.version;
    const apex = entry.info.name;
    let kind: "full" | "ixfr" = "ixfr";
    let zone = previous !== undefined && previous.version !== version ? await this.changed(key, entry, previous) : undefined;
    if (zone === undefined) {
      kind = "full";
      let bytes: Uint8Array | null;
      try {
        this.reads.set(key, (this.reads.get(key) ?? 0) + 1);
        bytes = await this.options.source.versionRecords(entry.path, version);
      } catch (err) {
        this.options.log.debug({ zone: key, version, reason: (err as Error).message }, "replica: cannot read a version");
        return false;
      }
      // Gone: a newer version replaced it meanwhile; the feed (or a commit notice) names that one.
      if (bytes === null) return this.directory.get(key)?.info.version !== version;
      try {
        zone = CompactZone.fromStream(bytes, apex, this.options.maxRecords);
      } catch (err) {
        if (!(err instanceof RecordStreamError || err instanceof RangeError)) throw err;
        this.options.log.warn({ zone: key, version, reason: err.message }, "replica: a version's record stream cannot be held; the zone is forwarded");
        return false;
      }
    }
    const now = this.directory.get(key);
    // The directory moved on (or dropped the zone) while this version was read: it is not the one to serve.
    if (!now || now.info.version !== version) return now !== undefined;
    this.install(key, now, version, zone, kind, started);
    return false;
  }

  /** A snapshot file the owner process wrote (`front-processes.ts`), packed; undefined when it cannot be read. */
  private async readSnapshot(key: string, path: string): Promise<CompactZone | undefined> {
    try {
      return CompactZone.fromBytes(await readFile(path));
    } catch (err) {
      this.options.log.debug({ zone: key, reason: (err as Error).message }, "replica: the owner's snapshot cannot be read; reading the version from the Worker");
      return undefined;
    }
  }

  /**
   * The directory's version of a zone made from the one held and the Worker's journal (IXFR changesets since
   * the held serial), copy-on-write; undefined when that cannot be done exactly (no journal, a gap, a journal
   * that ends anywhere but at the directory's serial, a changeset that does not fit): then the version is
   * read whole.
   */
  private async changed(key: string, entry: Entry, held: Held): Promise<CompactZone | undefined> {
    const journal = this.options.source.journal?.bind(this.options.source);
    const target = entry.info.serial;
    if (journal === undefined || held.serial === null || target == null || target === held.serial) return undefined;
    try {
      this.reads.set(key, (this.reads.get(key) ?? 0) + 1);
      const j = await journal(entry.path, held.serial);
      if (j === null || j.fromSerial !== held.serial || j.toSerial !== target || j.changesets.length === 0) return undefined;
      const apex = entry.info.name;
      const stream = (b64: string) => parseRecordStream(new Uint8Array(Buffer.from(b64, "base64")), apex);
      const zone = held.zone.withChanges(j.changesets.map((c) => ({ deletions: stream(c.deletions), additions: stream(c.additions) })));
      if (zone.serial(apex) !== target || zone.records > this.options.maxRecords) return undefined;
      return zone;
    } catch (err) {
      if (!(err instanceof ReplicaSourceError || err instanceof ChangesetMismatch || err instanceof RecordStreamError || err instanceof RangeError)) throw err;
      this.options.log.debug({ zone: key, reason: err.message }, "replica: the journal does not lead to the served version; reading it whole");
      return undefined;
    }
  }

  /** Resolves once nothing is queued or loading (tests, the bench). */
  async settled(): Promise<void> {
    while (this.loading > 0 || this.queue.length > 0 || this.polling) await new Promise((r) => setTimeout(r, 5));
  }

  /** The version held for a zone (tests, the bench), or undefined. */
  heldVersion(zone: string): number | undefined {
    return this.held.peek(Name.parseAbsolute(zone).key)?.version;
  }

  /** The packed version held for a zone (tests), or undefined. */
  heldZone(zone: string): CompactZone | undefined {
    return this.held.peek(Name.parseAbsolute(zone).key)?.zone;
  }
}

/**
 * True when `zone` is `name` or an ancestor of it (`Name.isSubdomainOf`: ASCII case folded, RFC 4343) and the
 * directory has no zone at a depth between them (`depths`, by label count), so `zone` is the closest zone
 * enclosing `name`.
 */
function endsWith(name: Name, zone: Name, depths: Int32Array): boolean {
  const count = name.labelCount;
  if (count < zone.labelCount) return false;
  for (let d = zone.labelCount + 1; d <= count; d++) if (depths[d] !== 0) return false;
  return name.isSubdomainOf(zone);
}

/**
 * Where the label after the one starting at `at` starts in a `Name.key` (presentation form: a label ends at a
 * dot that is not escaped; an escape is `\X` or `\DDD`).
 */
function nextLabel(key: string, at: number): number {
  for (let i = at; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c === 0x5c) i += key.charCodeAt(i + 1) >= 0x30 && key.charCodeAt(i + 1) <= 0x39 ? 3 : 1;
    else if (c === 0x2e) return i + 1;
  }
  return key.length;
}

/** One query's store: each zone's packed version pinned when `findZone` hands the zone out. */
class ReplicaView extends CompactZoneStore {
  /** The first zone pinned (nearly every query reads one), without a Map made per query. */
  private firstKey: string | undefined;
  private firstZone: CompactZone | undefined;
  /** Any further zones pinned. */
  private more: Map<string, CompactZone> | undefined;

  constructor(
    private readonly replica: Replica,
    private readonly seen: ZoneInfo[],
  ) {
    super();
  }

  /** Synchronous, as every lookup of a compact store: the engine answers from the replica in one call. */
  findZone(name: Name): ZoneInfo | null {
    const found = this.replica.resolve(name);
    if (found === null) return null;
    if (found.zone !== undefined) this.pin(found.info.name.key, found.zone);
    this.seen.push(found.info);
    return found.info;
  }

  private pin(key: string, zone: CompactZone): void {
    if (this.firstKey === undefined || this.firstKey === key) {
      this.firstKey = key;
      this.firstZone = zone;
    } else (this.more ??= new Map()).set(key, zone);
  }

  protected zoneData(zone: ZoneInfo): CompactZone {
    const key = zone.name.key;
    const data = key === this.firstKey ? this.firstZone : this.more?.get(key);
    if (data === undefined) throw new ReplicaMiss(`${key} not pinned`);
    return data;
  }
}
