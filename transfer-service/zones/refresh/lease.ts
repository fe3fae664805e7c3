/**
 * @module The per-zone refresh lease (D1, through the Worker): two instances never transfer the same zone
 * at once. It spans an attempt and its report: acquired before the first transfer-log entry, renewed every
 * third of its TTL while the attempt runs (a 1M-record AXFR outlasts any sensible TTL), and released once
 * the final report has landed. If it is lost mid-attempt, the transfer in flight is stopped, since the
 * Worker would refuse its commit anyway; if the service shuts down, likewise.
 */
import type { Logger } from "../../ops/log.ts";
import type { WorkerApi } from "../../worker/worker-api.ts";

export interface LeaseDeps {
  worker: WorkerApi;
  instanceId: string;
  leaseTtlMs: number;
  log: Logger;
}

/**
 * Runs `work` under the zone's lease, with a signal that aborts when the lease is lost or `serviceAbort`
 * fires; "busy" when another instance holds the lease. The lease is kept afterwards: `releaseLease`.
 */
export async function underLease<T>(
  deps: LeaseDeps,
  zone: string,
  serviceAbort: AbortSignal,
  work: (signal: AbortSignal) => Promise<T>,
  zoneId?: number,
): Promise<T | "busy"> {
  const { worker, instanceId, leaseTtlMs, log } = deps;
  // With the zone's id: an attempt planned for a zone since deleted (and perhaps created again under its
  // name) gets no lease, so it neither asks the old primary nor reports into the new zone.
  if (!(await worker.acquireLease(zone, instanceId, leaseTtlMs, zoneId))) return "busy";
  log.debug({ zone }, "refresh lease acquired");
  const controller = new AbortController();
  const onServiceAbort = (): void => controller.abort(new Error("the service is shutting down"));
  serviceAbort.addEventListener("abort", onServiceAbort);
  const renew = setInterval(() => {
    worker.renewLease(zone, instanceId, leaseTtlMs).then(
      (held) => {
        if (!held) controller.abort(new Error("this instance lost the zone's refresh lease to another one"));
      },
      (err: unknown) => log.warn({ zone, reason: (err as Error).message }, "could not renew the refresh lease"),
    );
  }, Math.max(1000, leaseTtlMs / 3));
  try {
    return await work(controller.signal);
  } finally {
    clearInterval(renew);
    serviceAbort.removeEventListener("abort", onServiceAbort);
  }
}

/** Gives the lease back after the final report; a failure only means it runs out at its TTL. */
export async function releaseLease(deps: LeaseDeps, zone: string): Promise<void> {
  try {
    await deps.worker.releaseLease(zone, deps.instanceId);
  } catch (err) {
    deps.log.warn({ zone, reason: (err as Error).message }, "could not release the refresh lease");
  }
}
