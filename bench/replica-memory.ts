/**
 * @module Benchmark `replica` (issue 27): what the port-53 front's replica costs per zone, beside knotd
 * serving the same zone. For each `--records` size, the bench's generated zone (the one every benchmark
 * uses) is packed as the replica packs a version it read from the Worker (record stream → records →
 * `CompactZone`, `answer/store/compact-zone.ts`), in this process:
 *   - bytes per record: the packed form's own count (`CompactZone.bytes`), and the heap and array-buffer
 *     growth it left after a full GC (what the front really keeps);
 *   - load time: from the record stream in memory to the packed version (`CompactZone.fromStream`: what a
 *     process that reads the version from the Worker does, the read on top);
 *   - the owner's load (issue 27): the same stream in the 1 MiB pieces a transfer hands the Worker, packed
 *     piece by piece as they come (`CompactZoneBuilder`), its time per piece and its final merge (the part
 *     left after the transfer's last piece, before the commit), and the memory it held at most beyond the
 *     packed version (sampled after each piece);
 * and knotd's and named's RSS with that zone loaded, per record. **Target:** replica bytes per record ≤ 1.0× knotd's.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { CompactZone, CompactZoneBuilder } from "../answer/store/compact-zone.ts";
import { encodeNodesAsStream, encodeRecordStream, RecordFrames } from "../contract/record-stream.ts";
import { TREE_MAIN, TREE_NSEC3 } from "../answer/store/stored-node.ts";
import { compareBytes } from "../dns/bytes.ts";
import { Name } from "../dns/name.ts";
import { parseZoneText } from "../dns/zonefile/parser.ts";
import { startKnotd } from "../test/peers/knotd.ts";
import { startNamed } from "../test/peers/named.ts";
import { writeZoneFile } from "../test/zones/generate.ts";
import type { Benchmark } from "./context.ts";
import { type Figure, figure } from "./figure.ts";
import { statusBytes } from "./proc.ts";
import { ZONE_SEED } from "./zone-setup.ts";

/** A full GC, so that memory figures are what is kept, not what is waiting to be collected. */
function collect(): void {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  gc();
  gc();
}

const kept = (): number => {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

export const replicaMemory: Benchmark = {
  id: "replica",
  title: "The port-53 front's replica: bytes per record and load time, beside knotd's RSS for the same zone",
  async run(ctx) {
    const out: Figure[] = [];
    for (const records of ctx.options.records) {
      const dir = await mkdtemp(path.join(tmpdir(), "backstop-bench-replica-"));
      try {
        const zone = `replica${records}.bench`;
        const file = path.join(dir, "zone");
        await writeZoneFile(file, { origin: zone, records, seed: ZONE_SEED, serial: 1 });
        let stream: Uint8Array | undefined = encodeRecordStream(parseZoneText(await readFile(file, "utf8"), { origin: Name.parse(`${zone}.`), defaultTtl: 3600 }));
        collect();
        const started = performance.now();
        let packed: CompactZone | undefined = CompactZone.fromStream(stream, Name.parse(`${zone}.`));
        const loadMs = performance.now() - started;
        // The owner's load (below) takes the zone in canonical order, as knotd sends it: from a copy of the
        // version (decoded nodes may be kept by caches; what they keep of the copy weighs on both sides below).
        const copy = CompactZone.fromStream(stream, Name.parse(`${zone}.`));
        let canonical: Uint8Array | undefined = encodeNodesAsStream([...copy.trees[TREE_MAIN].nodes(), ...copy.trees[TREE_NSEC3].nodes()]);
        stream = undefined;
        const held = packed.records;
        const ownPerRecord = packed.bytes / held;
        const wholeKept = packed.bytes;
        // What the packed version keeps: memory with it, then without it, each after a full GC.
        collect();
        const withIt = kept();
        packed = undefined;
        collect();
        const heapPerRecord = (withIt - kept()) / held;

        // The owner's load: pieces cut where the owner changes past 1 MiB, as a transfer's record stream comes.
        const pieces: Uint8Array[] = [];
        let from = 0;
        let previous: Uint8Array | undefined;
        for (const frames = new RecordFrames(canonical); frames.next(); ) {
          const owner = canonical.subarray(frames.owner, frames.body);
          if (frames.owner - from >= 2 ** 20 && !(previous !== undefined && compareBytes(owner, previous) === 0)) {
            pieces.push(canonical.subarray(from, frames.owner));
            from = frames.owner;
          }
          previous = owner;
        }
        pieces.push(canonical.subarray(from));
        collect();
        const base = kept();
        const builder = new CompactZoneBuilder(Name.parse(`${zone}.`));
        let piecesMs = 0;
        let peakExtra = 0;
        for (const piece of pieces) {
          const at = performance.now();
          builder.addStream(piece);
          piecesMs += performance.now() - at;
          peakExtra = Math.max(peakExtra, kept() - base);
        }
        const finishAt = performance.now();
        let built: CompactZone | undefined = builder.finish();
        const finishMs = performance.now() - finishAt;
        peakExtra = Math.max(peakExtra, kept() - base);
        if (built.bytes !== wholeKept) throw new Error(`the builder's version (${built.bytes} B) is not the whole stream's (${wholeKept} B)`);
        built = undefined;
        canonical = undefined;
        pieces.length = 0;

        const knotd = await startKnotd({ zones: [{ name: zone, file }], startTimeoutMs: 300_000 });
        let knotRss: number;
        try {
          knotRss = statusBytes(knotd.pid, "VmRSS") ?? 0;
        } finally {
          await knotd.stop();
        }
        const knotPerRecord = knotRss / held;
        const named = await startNamed({ zones: [{ name: zone, file }], startTimeoutMs: 300_000 });
        let namedRss: number;
        try {
          namedRss = statusBytes(named.pid, "VmRSS") ?? 0;
        } finally {
          await named.stop();
        }
        const namedPerRecord = namedRss / held;
        ctx.log(
          `  ${records} records: replica ${ownPerRecord.toFixed(1)} B/record packed, ${heapPerRecord.toFixed(1)} B/record kept after GC, loaded in ${loadMs.toFixed(0)} ms; ` +
            `piece by piece ${piecesMs.toFixed(0)} ms over ${pieces.length || "the"} pieces + ${finishMs.toFixed(0)} ms final merge, ${(peakExtra / 2 ** 20).toFixed(1)} MiB held at most; ` +
            `knotd RSS ${(knotRss / 2 ** 20).toFixed(1)} MiB = ${knotPerRecord.toFixed(1)} B/record, named ${(namedRss / 2 ** 20).toFixed(1)} MiB = ${namedPerRecord.toFixed(1)} B/record`,
        );
        out.push(
          figure({
            bench: "replica",
            what: `replica memory, ${records} records: bytes per record`,
            unit: "B",
            backstop: heapPerRecord,
            peer: knotPerRecord,
            peerName: "knotd RSS / records",
            target: { ratioAtMost: 1 },
            note: `heap + array buffers kept after a full GC, per record (the packed form counts ${ownPerRecord.toFixed(1)} B/record); knotd: its whole VmRSS with the zone loaded (${(knotRss / 2 ** 20).toFixed(1)} MiB)`,
          }),
          figure({
            bench: "replica",
            what: `replica memory, ${records} records: bytes per record vs named`,
            unit: "B",
            backstop: heapPerRecord,
            peer: namedPerRecord,
            peerName: "named RSS / records",
            note: `named: its whole VmRSS with the zone loaded as primary (${(namedRss / 2 ** 20).toFixed(1)} MiB)`,
          }),
          figure({
            bench: "replica",
            what: `replica load from the transfer, ${records} records: packed piece by piece, then merged`,
            unit: "ms",
            backstop: piecesMs + finishMs,
            note: `the owner's load (issue 27): ${piecesMs.toFixed(0)} ms spread over the transfer's 1 MiB pieces, ${finishMs.toFixed(0)} ms of final merge after its last piece; at most ${(peakExtra / 2 ** 20).toFixed(1)} MiB held beyond what it started with (the packed version is ${(wholeKept / 2 ** 20).toFixed(1)} MiB); nothing read from the Worker`,
          }),
          figure({
            bench: "replica",
            what: `replica load, ${records} records: record stream to packed version`,
            unit: "ms",
            backstop: loadMs,
            note: "parse the record stream and pack it (the read from the Worker comes on top); in the bench process",
          }),
        );
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
    return out;
  },
};
