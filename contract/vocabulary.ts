/**
 * @module The words both runtimes use for a zone and its transfers, each spelled once: the Worker stores
 * them (`workers/db/schema.ts` column enums), validates them (`/api/v1`, `/internal/v1`), and the
 * transfer-service sends and reads them back (`transfer-service/worker/worker-api.ts`). Every list is an
 * `as const` array, so zod (`z.enum`) and drizzle (`text(…, { enum })`) take it as is, with its union type
 * beside it. Adding a word here is a D1 migration (the column enums) and a contract change on both sides.
 */
import type { TsigAlgorithm } from "../dns/tsig/algorithm.ts";

/** Who serves the zone and how: a live secondary, a stealth (hidden) one, or (later) a primary. */
export const ZONE_MODELS = ["secondary", "hidden", "primary"] as const;
export type ZoneModel = (typeof ZONE_MODELS)[number];

/** A zone's state, always explained in words beside it (`statusDetail`). */
export const ZONE_STATUSES = ["pending", "active", "refreshing", "failing", "expired", "serial-regressed"] as const;
export type ZoneStatus = (typeof ZONE_STATUSES)[number];

/** TSIG algorithms (RFC 8945 §6) by the short names operators write; `dns/tsig/algorithm.ts` implements them. */
export const TSIG_ALGORITHMS = ["hmac-md5", "hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384", "hmac-sha512"] as const;
export type TsigAlgorithmName = (typeof TSIG_ALGORITHMS)[number];

/**
 * The names the Worker accepts are exactly the algorithms the protocol core signs with: a key the Worker
 * stores must be one the service can use. Checked by the compiler both ways.
 */
type SameUnion<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _tsigNamesAreTheCoresAlgorithms: SameUnion<TsigAlgorithmName, TsigAlgorithm> = true;

/** What one line of the transfer log did: an SOA query alone, or a transfer (RFC 1995 IXFR, RFC 5936 AXFR). */
export const TRANSFER_KINDS = ["soa", "ixfr", "axfr"] as const;
export type TransferKind = (typeof TRANSFER_KINDS)[number];

/**
 * How that line ended. The log accepts `refused`, but today the service sends every failure, a refusal
 * too, as `failed` with the reason in words (`worker-client.ts`).
 */
/** Which way a logged transfer went: from a primary to us, or from us to a downstream (issue 21). */
export const TRANSFER_DIRECTIONS = ["in", "out"] as const;
export type TransferDirection = (typeof TRANSFER_DIRECTIONS)[number];

export const TRANSFER_RESULTS = ["ok", "up-to-date", "failed", "refused", "serial-regressed"] as const;
export type TransferResult = (typeof TRANSFER_RESULTS)[number];

/** How a version of a zone was built: a full transfer into a fresh version, or changesets over the served one. */
export const VERSION_KINDS = ["axfr", "ixfr"] as const;
export type VersionKind = (typeof VERSION_KINDS)[number];

/** What a refresh request may force: a full transfer (skipping IXFR). Absent (null) means none. */
export const REFRESH_FORCES = ["axfr"] as const;
export type RefreshForce = (typeof REFRESH_FORCES)[number];

/**
 * How a primary zone's serial moves at each change (issue 22): `increment` adds one (RFC 1982), `unixtime`
 * takes the clock's seconds, `dateserial` YYYYMMDDnn as BIND's `serial-update-method date`. The two clock
 * policies fall back to adding one when the clock would not move the serial forward, as BIND does.
 */
export const SERIAL_POLICIES = ["increment", "unixtime", "dateserial"] as const;
export type SerialPolicy = (typeof SERIAL_POLICIES)[number];

/** What an API token may do (issue 24): `read` (GET/HEAD) or `read` and `write` (every method). */
export const TOKEN_SCOPES = ["read", "write"] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];
