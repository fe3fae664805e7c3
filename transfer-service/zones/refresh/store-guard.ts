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

/** `session` with its full ingests refused past `capBytes` of D1 (0: no guard). */
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
  return {
    get dbBytes() {
      return session.dbBytes;
    },
    beginFull: async (soa) => {
      full = true;
      await session.beginFull(soa);
      const dbBytes = session.dbBytes;
      if (dbBytes === undefined) return;
      room = capBytes - dbBytes;
      if (room <= 0) refuse(dbBytes, "the D1 database is at its cap");
      used = recordOctets(soa);
    },
    beginIncremental: (soa) => session.beginIncremental(soa),
    beginChangeset: (soa) => session.beginChangeset(soa),
    beginAdditions: (soa) => session.beginAdditions(soa),
    records: async (chunk) => {
      if (full && room !== undefined) {
        for (const rr of chunk) used += recordOctets(rr);
        if (used > room) refuse(session.dbBytes!, `storing more than ${formatCount(room)} octets of ${zone} would take the D1 database past its cap`);
      }
      await session.records(chunk);
    },
    // A record stream's length is exactly its records' uncompressed wire octets.
    ...(session.rawRecords
      ? {
          rawChunkBytes: session.rawChunkBytes,
          rawRecords: async (stream: Uint8Array, records: number) => {
            if (full && room !== undefined) {
              used += stream.length;
              if (used > room) refuse(session.dbBytes!, `storing more than ${formatCount(room)} octets of ${zone} would take the D1 database past its cap`);
            }
            await session.rawRecords!(stream, records);
          },
        }
      : {}),
    end: () => session.end(),
    commit: () => session.commit(),
    abort: (reason) => session.abort(reason),
  };
}
