/**
 * @module A zone's status as shown, from the stored row and the clock. The transfer-service writes the
 * status, but two facts can overtake what it wrote, and both live in the data:
 *
 * 1. `refreshing` is true only while the refresh lease that goes with it is live. An instance that died
 *    mid-transfer never writes its final report; once its lease has run out the zone shows what is known
 *    instead (expired, pending or failing, saying the transfer stopped), never `refreshing` forever.
 * 2. Past `expiresAt` the answer engine refuses the zone (SERVFAIL) whether or not any service is running,
 *    so the zone shows `expired` then too, even if the last report said `active`. A transfer in progress
 *    (`refreshing` with a live lease) still shows as such: its own words say the zone has expired.
 */
import type { ZoneStatus } from "./schema.ts";

export interface StatusFacts {
  status: ZoneStatus;
  statusDetail: string;
  serial: number | null;
  expiresAt: number | null;
  leaseUntil: number | null;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The status and its words as `/api/v1` shows them at `now`. */
export function shownStatus(z: StatusFacts, now: number): { status: ZoneStatus; statusDetail: string } {
  const leaseLive = z.leaseUntil !== null && z.leaseUntil > now;
  const expired = z.expiresAt !== null && now > z.expiresAt;
  if (z.status === "refreshing") {
    if (leaseLive) return { status: z.status, statusDetail: z.statusDetail };
    const stopped =
      `a transfer stopped without a report (the instance running it stopped or lost the Worker` +
      (z.leaseUntil !== null ? `; its lease ran out at ${iso(z.leaseUntil)}` : "") +
      `); it was ${z.statusDetail}`;
    if (expired) return { status: "expired", statusDetail: `expired at ${iso(z.expiresAt!)}; ${stopped}` };
    if (z.serial === null) return { status: "pending", statusDetail: `no transfer yet: ${stopped}` };
    return { status: "failing", statusDetail: stopped };
  }
  if (expired && z.status !== "expired") {
    return { status: "expired", statusDetail: `expired at ${iso(z.expiresAt!)} with no successful check since; last report: ${z.statusDetail}` };
  }
  return { status: z.status, statusDetail: z.statusDetail };
}
