/**
 * @module Benchmark `replica` (issue 27): what the port-53 front's replica costs per zone, beside knotd
 * serving the same zone. For each `--records` size, the bench's generated zone (the one every benchmark
 * uses) is packed as the replica packs a version it read from the Worker (record stream → records →
 * `CompactZone`, `answer/store/compact-zone.ts`), in this process:
 *   - bytes per record: the packed form's own count (`CompactZone.bytes`), and the heap and array-buffer
 *     growth it left after a full GC (what the front really keeps);
 *   - load time: from the record stream in memory to the packed version (`CompactZone.fromStream`) (the replica's share of "commit until
 *     the replica answers"; the read from the Worker comes on top);
 * and knotd's RSS with that zone loaded, per record. **Target:** replica bytes per record ≤ 1.0× knotd's.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { CompactZone } from "../answer/store/compact-zone.ts";
import { encodeRecordStream } from "../contract/record-stream.ts";
import { Name } from "../dns/name.ts";
import { parseZoneText } from "../dns/zonefile/parser.ts";
import { startKnotd } from "../test/peers/knotd.ts";
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
        stream = undefined;
        const held = packed.records;
        const ownPerRecord = packed.bytes / held;
        // What the packed version keeps: memory with it, then without it, each after a full GC.
        collect();
        const withIt = kept();
        packed = undefined;
        collect();
        const heapPerRecord = (withIt - kept()) / held;

        const knotd = await startKnotd({ zones: [{ name: zone, file }], startTimeoutMs: 300_000 });
        let knotRss: number;
        try {
          knotRss = statusBytes(knotd.pid, "VmRSS") ?? 0;
        } finally {
          await knotd.stop();
        }
        const knotPerRecord = knotRss / held;
        ctx.log(`  ${records} records: replica ${ownPerRecord.toFixed(1)} B/record packed, ${heapPerRecord.toFixed(1)} B/record kept after GC, loaded in ${loadMs.toFixed(0)} ms; knotd RSS ${(knotRss / 2 ** 20).toFixed(1)} MiB = ${knotPerRecord.toFixed(1)} B/record`);
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
