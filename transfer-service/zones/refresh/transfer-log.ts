/**
 * @module The transfer log entries of one refresh attempt: every SOA check, IXFR and AXFR, with its
 * primary, serials, size, time and error in words, as a log line, a metric and a row in D1.
 *
 * Entries are written one after another in the order they were made (a chain), so the attempt may leave
 * one running beside its next step (the SOA check's entry beside the transfer: ~40 ms of D1 the ingest
 * session need not wait for) and the log still reads in order. The attempt waits for `settled()` before
 * its final report, so the report never lands before the entries that explain it.
 *
 * Held (issue 19): when the Worker takes an attempt's end in one call (`WorkerApi.finish`), the entries are
 * kept here instead and `take()` hands them to that call, in order, before the report they explain: a
 * refresh then costs no log request of its own. (An instance killed mid-attempt loses them; the next one
 * says in the zone's status that the attempt stopped without a report.)
 */
import type { Logger } from "../../ops/log.ts";
import type { Metrics } from "../../ops/metrics.ts";
import type { XfrResult } from "../../remote/xfr-in.ts";
import type { TransferKind, TransferLogEntry, WorkerApi } from "../../worker/worker-api.ts";

export interface TransferLogDeps {
  worker: WorkerApi;
  instanceId: string;
  log: Logger;
  metrics?: Metrics | undefined;
  now: () => number;
  /** Keep the entries for `take()` instead of writing each (see the module comment). */
  held?: boolean | undefined;
}

export class TransferLog {
  /** The writes in flight, chained in order; never rejects. */
  private chain: Promise<void> = Promise.resolve();
  /** The entries kept for `take()` (held mode). */
  private kept: TransferLogEntry[] = [];

  constructor(
    private readonly zone: string,
    private readonly deps: TransferLogDeps,
  ) {}

  /** Writes one entry after those before it; resolves when it (and they) are stored or given up. */
  write(
    kind: TransferKind,
    peer: string,
    before: number | null,
    after: number | null,
    startedAt: number,
    result: TransferLogEntry["result"],
    error?: string,
    xfr?: XfrResult,
  ): Promise<void> {
    const { log, metrics, worker } = this.deps;
    const durationMs = this.deps.now() - startedAt;
    metrics?.transfers.inc({ kind, result });
    metrics?.transferDuration.observe({ kind, result }, durationMs / 1000);
    const entry = {
      zone: this.zone,
      primary: peer,
      kind,
      serialBefore: before,
      serialAfter: after,
      records: xfr?.records ?? 0,
      bytes: xfr?.bytes ?? 0,
      durationMs,
      result,
      instance: this.deps.instanceId,
      startedAt,
      ...(error !== undefined ? { error } : {}),
    };
    (result === "ok" || result === "up-to-date" ? log.info : log.warn).call(log, entry, `${kind} ${result}`);
    if (this.deps.held) {
      this.kept.push(entry);
      return this.chain;
    }
    this.chain = this.chain.then(() =>
      worker.logTransfer(entry).catch((err: unknown) => {
        log.warn({ zone: this.zone, reason: (err as Error).message }, "could not write the transfer log");
      }),
    );
    return this.chain;
  }

  /** The entries kept so far, in order (held mode), and none kept after. */
  take(): TransferLogEntry[] {
    const kept = this.kept;
    this.kept = [];
    return kept;
  }

  /** Resolves when every entry written so far is stored (or given up). */
  settled(): Promise<void> {
    return this.chain;
  }
}
