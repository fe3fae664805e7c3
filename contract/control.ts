/**
 * @module The transfer-service's control port, as the Worker uses it: `POST /control/refresh` with the
 * internal token as a bearer token and a JSON body, which the Worker pushes for every API refresh and
 * webhook NOTIFY so the request reaches the service within a second (`workers/api/refresh-signal.ts`
 * sends it; `transfer-service/ops/control-http.ts` receives it). One schema for both: the receiver
 * validates with it, the sender's body is its input type.
 *
 * The Worker sends `/internal/v1`'s `Signal` as it stored it (zone, requestedAt, force, acceptLowerSerial);
 * everything but the zone is optional here so an operator can also poke a zone by hand with curl.
 */
import { z } from "zod";
import { REFRESH_FORCES } from "./vocabulary.ts";

/** The path on the service's HTTP port, after the control URL's origin. */
export const CONTROL_REFRESH_PATH = "/control/refresh";

/** Why a refresh is asked for. `notify`: a webhook NOTIFY (same meaning as a DNS NOTIFY: the refresh timer expired). */
export const REFRESH_REASONS = ["notify", "refresh"] as const;

export const ControlRefresh = z.object({
  /** The zone's name, as the Worker stores it. */
  zone: z.string().min(1).max(255),
  /** When the request was stored; acknowledged with it once served (compare-and-set in D1). */
  requestedAt: z.number().int().min(0).optional(),
  reason: z.enum(REFRESH_REASONS).default("refresh"),
  /** Skip IXFR and take a full transfer. */
  force: z.enum(REFRESH_FORCES).nullish(),
  /** Take the primary's zone even when its serial is lower than ours (serial regression repair). */
  acceptLowerSerial: z.boolean().default(false),
});
/** A refresh request as the service acts on it (defaults applied). */
export type ControlRefresh = z.infer<typeof ControlRefresh>;
/** A refresh request as a sender may write it (defaults left out). */
export type ControlRefreshBody = z.input<typeof ControlRefresh>;
