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
  /**
   * Issue 22: not a refresh but news. The Worker committed this version of a primary zone itself (an API
   * edit), so the service drops the zone's cached answers and sends NOTIFY out as after its own commits.
   */
  committed: z.number().int().min(1).optional(),
});
/** A refresh request as the service acts on it (defaults applied). */
export type ControlRefresh = z.infer<typeof ControlRefresh>;
/** A refresh request as a sender may write it (defaults left out). */
export type ControlRefreshBody = z.input<typeof ControlRefresh>;

// --- Verify (issue 24): the service compares the primary's zone with the served version. ---

/** `POST /control/verify` on the service's HTTP port: the Worker asks, the service answers a `VerifyResult`. */
export const CONTROL_VERIFY_PATH = "/control/verify";

/** At most this many records in each of `missing` and `extra`; the totals count them all. */
export const VERIFY_LIST_LIMIT = 100;

export const ControlVerify = z.object({ zone: z.string().min(1).max(255) });
export type ControlVerify = z.infer<typeof ControlVerify>;

/** One of the zone's published nameservers (its served apex NS set) asked for the SOA. */
export const NameserverCheck = z.object({
  /** The NS target, no trailing dot. */
  name: z.string(),
  /** `address:port` asked ([v6]:port), null when no address is known. */
  address: z.string().nullable(),
  /** Its SOA serial, null when it did not answer one. */
  serial: z.number().int().min(0).max(0xffffffff).nullable(),
  /** Why there is no serial, in words. */
  error: z.string().optional(),
});
export type NameserverCheck = z.infer<typeof NameserverCheck>;

/**
 * What a verification found. `match`: the primary's AXFR and the served version hold the same records
 * (SOA included, so the serials are equal too). Records are master-file lines with absolute owners.
 * `error`: the primary could not be asked (then `match` is false and the primary's fields are null).
 */
export const VerifyResult = z.object({
  zone: z.string(),
  match: z.boolean(),
  servedSerial: z.number().int().nullable(),
  primarySerial: z.number().int().nullable(),
  servedCount: z.number().int().min(0),
  primaryCount: z.number().int().min(0).nullable(),
  /** At the primary, not served. */
  missing: z.array(z.string()).max(VERIFY_LIST_LIMIT),
  /** Served, not at the primary. */
  extra: z.array(z.string()).max(VERIFY_LIST_LIMIT),
  missingTotal: z.number().int().min(0),
  extraTotal: z.number().int().min(0),
  /** `address:port` of the primary that answered (or the last one tried). */
  primary: z.string().nullable(),
  error: z.string().optional(),
  /** The guide's "they should converge": each published nameserver's SOA serial. */
  nameservers: z.array(NameserverCheck),
  /** Every nameserver answered the primary's serial. */
  converged: z.boolean(),
  checkedAt: z.string(),
  durationMs: z.number().int().min(0),
});
export type VerifyResult = z.infer<typeof VerifyResult>;
