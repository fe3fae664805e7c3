/**
 * @module Transfers out from the port-53 front's replica: when the replica holds exactly the version a
 * downstream asks for (the zone's id and version number), its record stream is written from the packed
 * zone in this process instead of read from the Worker (`GET …/versions/:version/records`: D1 block reads,
 * their decode and an HTTP stream). What goes out is the same stream, so `transfer-out.ts` packs, signs and
 * counts it exactly as before; any other case (no replica, the multi-process owner, a version not held, a
 * zone created again under its name) reads the Worker as before.
 *
 * The stream is what the Worker's is: the apex SOA first, then every other record, node by node, the main
 * tree in canonical order and then the NSEC3 chain (AXFR's order is free between the two SOAs, RFC 5936
 * §2.2), each owner spelled as stored. It is written lazily, a chunk at a time as the transfer's socket
 * takes it, from a version that cannot change under it: a commit meanwhile installs a new packed version
 * in the replica and leaves this one to the transfer that holds it.
 */
import { RRType } from "../../../dns/constants.ts";
import { encodeNodesAsStream, type StreamNode } from "../../../contract/record-stream.ts";
import type { CompactZone } from "../../../answer/store/compact-zone.ts";
import { TREE_MAIN, TREE_NSEC3 } from "../../../answer/store/stored-node.ts";
import type { Metrics } from "../../ops/metrics.ts";
import type { TransferSource } from "./transfer-out.ts";

/** Octets of records per chunk, about: near the ~64 KiB messages the packer fills from it. */
const CHUNK_BYTES = 64 * 1024;

/** The packed version `version` of zone `zoneId` (`Replica.packedVersion`), or undefined when not held. */
export type HeldVersion = (zone: string, zoneId: number, version: number) => CompactZone | undefined;

/**
 * The record stream of a packed version, in chunks of about `chunkBytes`: the apex's SOA first (the zone's
 * first node is its apex), then the rest. Throws when the version has no single SOA at its apex, as a
 * stream from the Worker without one is refused by `transfer-out.ts`.
 */
export function* replicaRecordChunks(zone: CompactZone, chunkBytes = CHUNK_BYTES): Generator<Uint8Array> {
  const main = zone.trees[TREE_MAIN];
  const apex = main.node(0);
  const soas = apex?.records.filter((r) => r.type === RRType.SOA) ?? [];
  if (!apex || soas.length !== 1) throw new Error("the version held has no single SOA at its apex");
  let batch: StreamNode[] = [{ name: apex.name, records: [soas[0]!, ...apex.records.filter((r) => r.type !== RRType.SOA)] }];
  let size = 0;
  for (const tree of [main, zone.trees[TREE_NSEC3]]) {
    for (let i = tree === main ? 1 : 0; i < tree.count; i++) {
      const node = tree.node(i)!;
      batch.push(node);
      // The node's packed size: a bound on its stream size within a few octets per record.
      size += tree.offsets[i + 1]! - tree.offsets[i]!;
      if (size >= chunkBytes) {
        yield encodeNodesAsStream(batch);
        batch = [];
        size = 0;
      }
    }
  }
  if (batch.length > 0) yield encodeNodesAsStream(batch);
}

/**
 * `source` with its version streams taken from the replica whenever `held` has the version asked for (the
 * zone's id must come with the request: `transfer-out.ts` passes the id the zone's config gave). Counted in
 * `backstop_xfr_out_reads_total{source}`.
 */
export function withReplicaRecords(source: TransferSource, held: HeldVersion, metrics?: Metrics, chunkBytes = CHUNK_BYTES): TransferSource {
  return {
    zoneForTransfer: (zone) => source.zoneForTransfer(zone),
    journal: (zone, since) => source.journal(zone, since),
    ...(source.logTransferOut ? { logTransferOut: source.logTransferOut.bind(source) } : {}),
    async versionRecords(zone, version, zoneId) {
      const packed = zoneId === undefined ? undefined : held(zone, zoneId, version);
      if (packed === undefined) {
        metrics?.xfrOutReads.inc({ source: "worker" });
        return source.versionRecords(zone, version, zoneId);
      }
      metrics?.xfrOutReads.inc({ source: "replica" });
      // The stream fails at its start when there is no single apex SOA (`replicaRecordChunks`): 0 until then.
      const apex = packed.trees[TREE_MAIN].node(0);
      const serial = (apex && packed.serial(apex.name)) ?? 0;
      const chunks = replicaRecordChunks(packed, chunkBytes);
      return {
        serial,
        version,
        chunks: (async function* () {
          yield* chunks;
        })(),
        cancel: () => void chunks.return(undefined),
      };
    },
  };
}
