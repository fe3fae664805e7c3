/**
 * @module Benchmark 1, full transfer: for each size N of `--records`, a zone of N records on knotd is
 * added to named (`rndc addzone`) and to Backstop (`POST /api/v1/zones`), and the clock runs until each
 * answers the zone's last A record (UDP for named, DoH for Backstop). Peak RSS is sampled from /proc
 * every 20 ms: named's, the transfer-service's (target ≤ 256 MiB whatever the size) and workerd's.
 * The measuring itself lives in `zone-setup.ts`, because the later benchmarks reuse the zones.
 */
import type { Benchmark } from "./context.ts";
import { figure, type Figure } from "./figure.ts";
import { MiB } from "./proc.ts";

export const fullTransfer: Benchmark = {
  id: "transfer",
  title: "Full transfer (AXFR) from knotd: add → last record answered",
  async run(ctx) {
    const figures: Figure[] = [];
    for (const records of ctx.options.records) {
      const { transfer: t } = await ctx.zone(records);
      const n = records.toLocaleString("en");
      figures.push(
        figure({
          bench: "transfer",
          what: `${n} records: add → last record answered`,
          unit: "s",
          backstop: t.backstopMs / 1000,
          peer: t.namedMs / 1000,
          peerName: "named",
          target: { ratioAtMost: 1.0 },
          note:
            `committed in D1 after ${(t.backstopCommitMs / 1000).toFixed(2)} s; ` +
            `CPU meanwhile: transfer-service ${(t.serviceCpuMs / 1000).toFixed(2)} s, workerd ${(t.workerdCpuMs / 1000).toFixed(2)} s, knotd ${(t.knotdForBackstopCpuMs / 1000).toFixed(2)} s; ` +
            `named's side: named ${(t.namedCpuMs / 1000).toFixed(2)} s, knotd ${(t.knotdForNamedCpuMs / 1000).toFixed(2)} s` +
            (t.failedAttempts.length ? `; ${t.failedAttempts.length} failed attempt(s), refreshed through the API: ${t.failedAttempts.join("; ")}` : ""),
        }),
        figure({
          bench: "transfer",
          what: `${n} records: peak RSS, transfer-service vs named`,
          unit: "MiB",
          backstop: t.servicePeakRss / MiB,
          peer: t.namedPeakRss / MiB,
          peerName: "named",
          target: { valueAtMost: 256 },
        }),
        ...(Number.isNaN(t.replicaAfterCommitMs)
          ? []
          : [
              figure({
                bench: "transfer",
                what: `${n} records: commit → the replica holds the version`,
                unit: "ms",
                backstop: t.replicaAfterCommitMs,
                note: `issue 27: from the commit seen in D1 until the service's /metrics counts the replica's load (kind ${t.replicaLoadKind}: ${t.replicaLoadKind === "owner" ? "packed from the transfer's own stream, nothing read back" : "read back from the Worker"}); both polled, so ± a few tens of ms`,
              }),
            ]),
        figure({
          bench: "transfer",
          what: `${n} records: peak RSS of workerd (Worker + local D1) meanwhile`,
          unit: "MiB",
          backstop: t.workerdPeakRss / MiB,
          note: "local D1 is SQLite inside workerd; on Cloudflare it is remote",
        }),
      );
    }
    return figures;
  },
};
