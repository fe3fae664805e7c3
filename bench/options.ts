/**
 * @module The bench's command line (`npm run bench -- --records 100000,1000000 --only transfer,ixfr`).
 * Every size and duration has a default chosen so that the whole default run ends within 15 minutes on a
 * 2-core machine; every value is bounded, so a typo cannot start an hour-long run by accident.
 */
import { parseArgs } from "node:util";

export const BENCHMARK_IDS = ["transfer", "propagation", "doh", "cpu", "udp", "replica", "ixfr", "xfr-out", "chain", "zones", "panel"] as const;
export type BenchmarkId = (typeof BENCHMARK_IDS)[number];

export interface BenchOptions {
  /** Zone sizes for the full transfer (benchmark 1). */
  records: number[];
  only: BenchmarkId[];
  /** Zone size for propagation, DoH, CPU and UDP (a size from `records` is reused, not transferred again). */
  loadRecords: number;
  /** Single-record changes for propagation. */
  changes: number;
  /** Single-record changes for chain propagation (knotd → Backstop | named → knotd). */
  chainChanges: number;
  /** Zone size and changeset size for the IXFR benchmark. */
  ixfrRecords: number;
  ixfrChanges: number;
  /** Seconds per load round (DoH, CPU, dnsperf). */
  seconds: number;
  /** Concurrent HTTP connections of the DoH load. */
  connections: number;
  /** Zones for the many-zones benchmark (issue 19): N by bulk create and N more by a catalog. */
  zones: number;
  /** Write a CPU profile of the transfer-service (node --cpu-prof) next to the results. */
  profile: boolean;
  /** Results directory. */
  out: string;
}

export const USAGE = `npm run bench -- [options]
  --records N,N,…       full-transfer zone sizes (default 100000,1000000)
  --only ID,ID,…        any of ${BENCHMARK_IDS.join(", ")} (default: all)
  --load-records N      zone for propagation, doh, cpu, udp, chain (default 100000)
  --changes N           single-record changes for propagation (default 50)
  --chain-changes N     single-record changes for chain propagation (default 20)
  --ixfr-records N      zone the IXFR changeset lands on (default 1000000)
  --ixfr-changes N      records in the IXFR changeset (default 1000)
  --seconds S           length of each load round (default 5)
  --connections N       concurrent DoH connections (default 16)
  --zones N             zones for the many-zones row, N by bulk create and N by catalog (default 10000)
  --profile             CPU profile of the transfer-service into the results dir
  --out DIR             results dir (default bench/results)`;

export class UsageError extends Error {}

function int(name: string, text: string, min: number, max: number): number {
  const n = Number(text.replace(/_/g, ""));
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name}: ${JSON.stringify(text)} is not a whole number in [${min}, ${max}]`);
  return n;
}

export function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      records: { type: "string", default: "100000,1000000" },
      only: { type: "string", default: BENCHMARK_IDS.join(",") },
      "load-records": { type: "string", default: "100000" },
      changes: { type: "string", default: "50" },
      "chain-changes": { type: "string", default: "20" },
      "ixfr-records": { type: "string", default: "1000000" },
      "ixfr-changes": { type: "string", default: "1000" },
      seconds: { type: "string", default: "5" },
      connections: { type: "string", default: "16" },
      zones: { type: "string", default: "10000" },
      profile: { type: "boolean", default: false },
      out: { type: "string", default: "bench/results" },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) throw new UsageError("");
  const only = values.only.split(",").map((s) => s.trim()).filter(Boolean);
  for (const id of only) if (!(BENCHMARK_IDS as readonly string[]).includes(id)) throw new UsageError(`--only: unknown benchmark ${JSON.stringify(id)}`);
  const ixfrRecords = int("ixfr-records", values["ixfr-records"], 1000, 10_000_000);
  const ixfrChanges = int("ixfr-changes", values["ixfr-changes"], 1, 100_000);
  // Changes land on distinct A records; about 40% of a generated zone's records are A records.
  if (ixfrChanges > ixfrRecords * 0.3) throw new UsageError("--ixfr-changes must stay below 30% of --ixfr-records");
  return {
    records: values.records.split(",").map((s) => int("records", s.trim(), 100, 10_000_000)),
    only: only as BenchmarkId[],
    loadRecords: int("load-records", values["load-records"], 100, 10_000_000),
    changes: int("changes", values.changes, 1, 1000),
    chainChanges: int("chain-changes", values["chain-changes"], 1, 1000),
    ixfrRecords,
    ixfrChanges,
    seconds: int("seconds", values.seconds, 1, 120),
    connections: int("connections", values.connections, 1, 256),
    zones: int("zones", values.zones, 10, 100_000),
    profile: values.profile,
    out: values.out,
  };
}
