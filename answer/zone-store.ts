/**
 * @module The storage interface the answer engine is written against (hickory's `ZoneHandler`, CoreDNS's
 * `file` plugin tree): a handful of lookups, each of which a store must answer with ONE indexed query or a
 * cache hit. The engine never scans a zone.
 *
 * Each lookup returns its value, or a promise of it ({@link Awaitable}): a store that has to wait (D1) returns
 * promises; one that never waits (the memory store, the port-53 front's compact replica) returns values, and the
 * engine then answers in the same call, with no promise and no microtask (`awaitable.ts`, issue 27). A store may
 * fail either way, by throwing or by rejecting: the engine answers SERVFAIL for both.
 *
 * The one port: every store implements it, and nothing else of a store is the engine's business. Three
 * implementations, all deriving every method from one neighbour lookup (`store/locating-zone-store.ts`): the D1
 * store (`workers/store/d1-zone-store.ts`), whose blocks of owner names in canonical order (RFC 4034 §6.1) answer
 * every method below with one `first_key <= ?` query: the block found holds the node itself or its canonical
 * predecessor, and the first key of the next block tells whether the name has descendants; the memory store
 * (`store/memory-zone-store.ts`), the reference that tests run on; and the front's replica
 * (`store/compact-zone.ts`). All pass the same contract (`testing/store-contract.ts`).
 *
 * Names handed to a store are absolute and at or below the zone's apex; a store compares them ignoring ASCII
 * case (RFC 4343) and hands back owners with the case it stored.
 */
import type { Name } from "../dns/name.ts";
import type { Awaitable } from "./awaitable.ts";

/** How a zone is served (the `zones.model` column). */
export type ZoneModel = "secondary" | "hidden" | "primary";

/** One resource record without its owner (the node carries it). `rdata` is uncompressed wire form. */
export interface ZoneRecord {
  type: number;
  class: number;
  ttl: number;
  rdata: Uint8Array;
}

/**
 * An owner name with every record stored there (all types and classes, RRSIGs included, NSEC3 records
 * excluded: those live in the NSEC3 chain). A store returns a node only when it holds at least one record;
 * an empty non-terminal has no node.
 */
export interface ZoneNode {
  name: Name;
  records: readonly ZoneRecord[];
}

/** What the engine needs to know about a hosted zone before it reads any of its data. */
export interface ZoneInfo {
  /** The store's own handle for the zone (the `zones.id` row for D1). */
  id: number;
  /** The apex. */
  name: Name;
  model: ZoneModel;
  /**
   * The served version: every cache is keyed by it, so a cached entry can never be stale. Null before the
   * first transfer (such a zone answers SERVFAIL, as BIND does for a zone that failed to load).
   */
  version: number | null;
  /** The SOA serial of `version`, where the store knows it (the D1 store does; the management API shows it). */
  serial?: number | null;
  /** Milliseconds since the epoch after which the zone is not served (SERVFAIL); null: never expires. */
  expiresAt: number | null;
  /** CIDR prefixes allowed to get answers; empty means everyone. */
  answerAllow: readonly string[];
  /**
   * When (ms since the epoch) the store began the newest read that vouches for `version` (D1: the read of the
   * zone's row, or a later poll of the zone change log that named no change to it, up to a second old). A
   * store that caches its pointers sets it, so the port-53 front can expire what it caches from that instant;
   * absent for stores that are never behind (memory).
   */
  pointerReadAt?: number | undefined;
}

/** The deepest existing ancestor-or-self of a name, and its node (null for an empty non-terminal). */
export interface ClosestEncloser {
  name: Name;
  node: ZoneNode | null;
}

/** The store, as the engine reads it. */
export interface ZoneStore {
  /**
   * The hosted zone whose apex is the longest match for `name`: `name` itself or its nearest ancestor that is
   * a zone apex (RFC 1034 §4.3.2 step 2). Null when no hosted zone encloses `name`.
   */
  findZone(name: Name): Awaitable<ZoneInfo | null>;

  /** The node at exactly `name` (case-insensitive), or null when no record is owned by `name`. */
  node(zone: ZoneInfo, name: Name): Awaitable<ZoneNode | null>;

  /**
   * The closest encloser of `name` (RFC 4592 §3.3.1, RFC 5155 §7.2.1): the deepest name that is `name` or an
   * ancestor of it and exists in the zone, either as a node or as an empty non-terminal (a name with no records
   * but with descendants that have some). So `closestEncloser(zone, n).name.equals(n)` is true exactly when `n`
   * exists; when its `node` is null, `n` is an empty non-terminal. The node comes along because the engine
   * reads it next (a DNAME or a cut at the encloser, the wildcard's parent) and the lookup already found it.
   *
   * The answer is always at or below the apex. With the nodes in canonical order, it is the deeper of the
   * longest common ancestors of `name` with its canonical predecessor and with its successor: one lookup.
   */
  closestEncloser(zone: ZoneInfo, name: Name): Awaitable<ClosestEncloser>;

  /**
   * The node with the greatest owner strictly before `name` in canonical order (RFC 4034 §6.1), in the main
   * tree: the owner of the NSEC record that covers `name` (RFC 4035 §3.1.3.2). Null only when `name` is the
   * apex or before it.
   */
  predecessor(zone: ZoneInfo, name: Name): Awaitable<ZoneNode | null>;

  /**
   * In the NSEC3 chain (owners `<base32hex hash>.<apex>`, RFC 5155 §3): the node whose owner is `hashedOwner`
   * or, when none is, the one with the greatest owner before it, wrapping around to the last node of the chain
   * when `hashedOwner` sorts first. That node's NSEC3 matches or covers the hash (RFC 5155 §7.2.1). Null when
   * the zone has no NSEC3 chain.
   */
  nsec3Predecessor(zone: ZoneInfo, hashedOwner: Name): Awaitable<ZoneNode | null>;
}
