/**
 * @module The isolate's one answer-path store: a {@link D1ZoneStore} over a D1 session started
 * `first-unconstrained` (read replication: any replica may answer the first query, and the session never
 * reads older data after that). Zone data is keyed by version and the zone change log is followed every
 * second (`zone-directory.ts`), so a replica's lag delays a new version by that lag at most, never mixes two.
 * One per isolate, so its caches (zones, decoded blocks) serve many requests.
 *
 * A handler that changes what the answer path reads (a commit, an IXFR's changesets, a zone created,
 * changed or deleted) calls {@link servedPointersChanged} itself: the next query in this isolate reads the
 * change log first and re-reads the zones it names (other isolates see it within the pointer TTL, a second). The
 * port-53 front relies on this to serve a version its own instance just committed without waiting out
 * that second.
 */
import type { Env } from "../env.d.ts";
import { D1ZoneStore } from "./d1-zone-store.ts";
import type { Name } from "../../dns/name.ts";
import type { CommittedVersion } from "./changeset-apply.ts";

let served: D1ZoneStore | undefined;

/** The isolate's store, made on first use. */
export function servedZoneStore(env: Env): D1ZoneStore {
  return (served ??= new D1ZoneStore(env.DB.withSession("first-unconstrained")));
}

/** Drops the served store's cached pointers (nothing to drop before the first query of this isolate). */
export function servedPointersChanged(): void {
  served?.invalidatePointers();
}

/**
 * Issue 28, session 11: an IXFR this isolate committed through the overlay: the served store serves it from the
 * next query on without reading it back (`D1ZoneStore.committed`); when it cannot, the pointers are dropped
 * as by {@link servedPointersChanged}. Other isolates see it within the pointer TTL, as before.
 */
export function servedCommitted(name: Name, zoneId: number, committed: CommittedVersion, expiresAt?: number): void {
  served?.committed(name, zoneId, committed, expiresAt);
}
