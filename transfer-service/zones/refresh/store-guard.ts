/**
 * @module The D1 size guard: a full transfer may not take the Worker's database past its configured share of
 * D1's 10 GB (`BACKSTOP_D1_MAX_BYTES`). One customer's zone must not fill the database every zone lives in.
 *
 * The Worker reports the database's size when it opens the new version (`IngestBegun.dbBytes`, D1's
 * `meta.size_after`); from then on the records handed to the store are counted in their uncompressed wire
 * octets, which stand in for what storing them adds (the stored blocks hold the same RRsets, names
 * uncompressed, base64 text: somewhat more, not less). Past the room left, the store is refused with the
 * figures in words, the transfer fails and the served version stays. The old version is still stored until
 * the commit retires it, so the guard counts the new version whole, as the database holds both for a while.
 * Changesets (IXFR) are not guarded: they add what changed, and the Worker reports no size for them.
 */
import type { ResourceRecord } from "../../../dns/message.ts";
import { formatCount } from "../../remote/xfr-in.ts";
import type { IngestSession } from "../../worker/worker-api.ts";

/** Octets a record takes uncompressed on the wire: owner, type, class, TTL, RDLENGTH, RDATA. */
function recordOctets(rr: ResourceRecord): number {
  return rr.name.wireLength + 10 + rr.rdata.length;
}

/**
 * `session` with its full ingests refused past `capBytes` of D1 (0: no guard). The room left is known once
 * the Worker has said the database's size: at `beginFull`, or (a session that opens the version with its
 * first chunk, `worker-client.ts`) after the first chunk is sent; from then on every record is counted against it.
 * A zone that fits one chunk is stored by one request, and the Worker applies the same cap itself
 * (`WorkerApi.beginIngest`'s `maxDbBytes`).
 */
export function guardStoreSize(session: IngestSession, capBytes: number, zone: string): IngestSession {
  if (capBytes <= 0) return session;
  let room: number | undefined;
  let used = 0;
  let full = false;
  const refuse = (dbBytes: number, why: string): never => {
    throw new Error(
      `${why}: the D1 database holds ${formatCount(dbBytes)} octets and may hold ${formatCount(capBytes)} (BACKSTOP_D1_MAX_BYTES); the transfer of ${zone} was refused and the served version kept`,
    );
  };
  /** Refuses once what was counted passes the room left (learning it when the Worker first says). */
  const check = (): void => {
    if (!full) return;
    if (room === undefined) {
      const dbBytes = session.dbBytes;
      if (dbBytes === undefined) return;
      room = capBytes - dbBytes;
      if (room <= 0) refuse(dbBytes, "the D1 database is at its cap");
    }
    if (used > room) refuse(session.dbBytes!, `storing more than ${formatCount(room)} octets of ${zone} would take the D1 database past its cap`);
  };
  return {
    get dbBytes() {
      return session.dbBytes;
    },
    beginFull: async (soa) => {
      full = true;
      await session.beginFull(soa);
      used = recordOctets(soa);
      check();
    },
    beginIncremental: (soa) => session.beginIncremental(soa),
    beginChangeset: (soa) => session.beginChangeset(soa),
    beginAdditions: (soa) => session.beginAdditions(soa),
    records: async (chunk) => {
      if (full) for (const rr of chunk) used += recordOctets(rr);
      check();
      await session.records(chunk);
      check();
    },
    // A record stream's length is exactly its records' uncompressed wire octets.
    ...(session.rawRecords
      ? {
          rawChunkBytes: session.rawChunkBytes,
          rawRecords: async (stream: Uint8Array, records: number) => {
            if (full) used += stream.length;
            check();
            await session.rawRecords!(stream, records);
            check();
          },
        }
      : {}),
    // The last chunks are sent by the end: the Worker's size may have come with the first of them.
    end: async () => {
      await session.end();
      check();
    },
    commit: () => session.commit(),
    abort: (reason) => session.abort(reason),
  };
}
