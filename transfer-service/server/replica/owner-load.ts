/**
 * @module The replica loaded from what this instance commits (issue 27, "Loading"): the process that runs a
 * transfer packs the record stream it hands the Worker as the stream goes (`CompactZoneBuilder`: a primary's
 * canonical order goes straight onto the end of one buffer per tree, at about the packed size; issue 28,
 * session 8), and offers the packed version to the replica before the commit; the commit event that follows
 * (`query/commit-watch.ts`) installs it, so the version is never read back from the Worker (that read
 * competed with the transfer's last steps for workerd, and held the stream and the packed zone at once).
 * (Until session 8 the stream's pieces were kept and packed after the commit: that held the pieces, ~55 MB per
 * million records, through the transfer and then beside the packed zone, which put a 1M-record transfer's
 * service at ~305–330 MiB; packing as the stream goes costs less CPU and no copy.)
 *
 * ```
 *   refresh.ts transferInto ── beginIngest ──► tapIngest(session) ──► the Worker's ingest session
 *        beginFull(SOA), rawRecords/records ──► CompactZoneBuilder (each piece packed, then dropped)
 *        beginChangeset/beginAdditions/records ──► the changesets (IXFR), as records
 *        end() ──► OwnerLoad.nodesFor(zone, changes)       (IXFR, issue 28: the changed nodes from the held base,
 *                                                           sent with the changesets at commit)
 *              ──► OwnerLoad.offer(zone, built)            (the transfer is complete and verified)
 *        commit() ──► the Worker commits ──► commit event ──► Replica.committed takes the offer
 *                 └─ finally OwnerLoad.withdraw(zone)      (a failed commit: the served replica is untouched)
 *        abort() ──► dropped
 * ```
 *
 * Who takes the offer (`registerOwnerLoad`, by instance id, since the refresh machine and the front are
 * wired apart, `main.ts`): with one front process, its own replica (`replica.ts` `offer`); with several
 * (`BACKSTOP_FRONT_PROCESSES`), the owner process, which answers no query and holds no replica: it writes a
 * packed version to a snapshot file and tells the query processes where it is, and relays changesets as they
 * are (`front-processes.ts`). With the replica off nothing registers, and the tap hands the session back as
 * it is: nothing is built.
 *
 * Nothing here may fail a transfer: a piece the builder refuses (a zone over BACKSTOP_REPLICA_MAX_RECORDS,
 * an owner holding more than 65535 records) only drops the build, and the replica reads the version from the
 * Worker as before.
 */
import { RecordStreamError } from "../../../contract/record-stream.ts";
import type { ResourceRecord } from "../../../dns/message.ts";
import type { Name } from "../../../dns/name.ts";
import { soaSerial } from "../../../dns/rdata/soa.ts";
import { CompactZoneBuilder, type CompactZone } from "../../../answer/store/compact-zone.ts";
import type { OwnedRecord } from "../../../answer/store/stored-node.ts";
import type { Logger } from "../../ops/log.ts";
import type { ChangedNodesPart, IngestSession } from "../../worker/worker-api.ts";

/** One IXFR changeset (RFC 1995 §4), its two SOA records included: old SOA first deleted, new SOA first added. */
export interface OwnerChangeset {
  deletions: OwnedRecord[];
  additions: OwnedRecord[];
}

/** An IXFR: the changesets from `fromSerial`, for a replica that holds that version. */
export type ChangesOffer = { kind: "changes"; fromSerial: number; toSerial: number; changesets: OwnerChangeset[] };

/** A version this process built from a transfer, offered before its commit. */
export type OwnerOffer = { kind: "zone"; zone: CompactZone } | ChangesOffer;

/** Where this instance's built versions go. */
export interface OwnerLoad {
  /** Records of the largest zone built (BACKSTOP_REPLICA_MAX_RECORDS): a larger one is not built. */
  readonly maxRecords: number;
  /** A version of `zone` is built and about to be committed: the commit event that follows is its. */
  offer(zone: string, offer: OwnerOffer): void | Promise<void>;
  /** The commit is over (made or failed): an offer still pending is dropped. */
  withdraw(zone: string): void;
  /**
   * Issue 28, session 10: an IXFR's changed nodes, from the version the changesets start from when the replica
   * holds exactly it (`replica.ts` `nodesFor`); undefined when it does not. Sent with the changesets, so that
   * the Worker stores the new version without reading a block.
   */
  nodesFor?(zone: string, offer: ChangesOffer): ChangedNodesPart | undefined;
}

const loads = new Map<string, { load: OwnerLoad; log: Logger | undefined }>();

/**
 * Registers where instance `instanceId`'s built versions go; returns the unregistering function. One per
 * instance id (an in-process test may run several instances, each with its own id).
 */
export function registerOwnerLoad(instanceId: string, load: OwnerLoad, log?: Logger): () => void {
  const entry = { load, log };
  loads.set(instanceId, entry);
  return () => {
    if (loads.get(instanceId) === entry) loads.delete(instanceId);
  };
}

/** True when a version built by `instanceId`'s transfers has somewhere to go. */
export function ownerLoadRegistered(instanceId: string): boolean {
  return loads.has(instanceId);
}

/**
 * `session`, with the version its transfer stores packed on the way (see the module comment); `session`
 * itself when no replica takes this instance's versions.
 */
export function tapIngest(instanceId: string, zone: string, apex: Name, session: IngestSession): IngestSession {
  const registered = loads.get(instanceId);
  if (registered === undefined) return session;
  const { load, log } = registered;
  let builder: CompactZoneBuilder | undefined;
  let changes: { to: ResourceRecord; list: OwnerChangeset[]; records: number } | undefined;
  let adding = false;
  let offered = false;

  const drop = (why: string): void => {
    if (builder !== undefined || changes !== undefined) log?.debug({ zone, reason: why }, "replica: not built from this transfer; it will be read from the Worker");
    builder = undefined;
    changes = undefined;
  };
  /** Packs into the builder; a refusal drops the build, never the transfer. */
  const pack = (fn: (b: CompactZoneBuilder) => void): void => {
    if (builder === undefined) return;
    try {
      fn(builder);
    } catch (err) {
      if (!(err instanceof RecordStreamError || err instanceof RangeError)) throw err;
      drop(err.message);
    }
  };
  const current = (): OwnerChangeset | undefined => changes?.list[changes.list.length - 1];
  const addChanges = (records: readonly ResourceRecord[]): void => {
    const c = current();
    if (changes === undefined || c === undefined) return;
    changes.records += records.length;
    if (changes.records > load.maxRecords) return drop(`more than ${load.maxRecords} changed records`);
    for (const r of records) (adding ? c.additions : c.deletions).push(r);
  };

  return {
    get dbBytes() {
      return session.dbBytes;
    },
    beginFull: async (soa) => {
      changes = undefined;
      builder = new CompactZoneBuilder(apex, load.maxRecords);
      pack((b) => b.addRecords([soa]));
      await session.beginFull(soa);
    },
    beginIncremental: async (soa) => {
      builder = undefined;
      changes = { to: soa, list: [], records: 0 };
      await session.beginIncremental(soa);
    },
    beginChangeset: async (fromSoa) => {
      changes?.list.push({ deletions: [fromSoa], additions: [] });
      adding = false;
      await session.beginChangeset(fromSoa);
    },
    beginAdditions: async (toSoa) => {
      current()?.additions.push(toSoa);
      adding = true;
      await session.beginAdditions(toSoa);
    },
    records: async (chunk) => {
      if (builder !== undefined) pack((b) => b.addRecords(chunk));
      else addChanges(chunk);
      await session.records(chunk);
    },
    // Packed before it is handed on: the builder keeps none of the piece, which is the chunker's to send
    // and drop (a primary's canonical order is appended as it comes: `CompactZoneBuilder.addStream`).
    ...(session.rawRecords
      ? {
          rawChunkBytes: session.rawChunkBytes,
          rawRecords: async (stream: Uint8Array, records: number) => {
            pack((b) => b.addStream(stream));
            await session.rawRecords!(stream, records);
          },
        }
      : {}),
    end: async () => {
      await session.end();
      let offer: OwnerOffer | undefined;
      if (builder !== undefined) {
        let built: CompactZone | undefined;
        pack((b) => (built = b.finish()));
        if (built !== undefined) offer = { kind: "zone", zone: built };
      } else if (changes !== undefined && changes.list.length > 0) {
        offer = { kind: "changes", fromSerial: soaSerial(changes.list[0]!.deletions[0]!.rdata), toSerial: soaSerial(changes.to.rdata), changesets: changes.list };
      }
      builder = undefined;
      changes = undefined;
      if (offer === undefined) return;
      if (offer.kind === "changes" && load.nodesFor !== undefined && session.attachNodes !== undefined) {
        // The changed nodes, while the replica still holds the base (the commit event replaces it).
        try {
          const nodes = load.nodesFor(zone, offer);
          if (nodes !== undefined) session.attachNodes(nodes);
        } catch (err) {
          log?.warn({ zone, reason: (err as Error).message }, "replica: cannot compute the changed nodes; the Worker reads its blocks");
        }
      }
      try {
        await load.offer(zone, offer);
        offered = true;
      } catch (err) {
        log?.warn({ zone, reason: (err as Error).message }, "replica: the version built from this transfer cannot be offered; it will be read from the Worker");
        load.withdraw(zone);
      }
    },
    commit: async () => {
      try {
        return await session.commit();
      } finally {
        if (offered) load.withdraw(zone);
        offered = false;
      }
    },
    abort: async (reason) => {
      drop(reason);
      if (offered) load.withdraw(zone);
      offered = false;
      await session.abort(reason);
    },
  };
}
