/**
 * @module The header names of the contract between the port-53 front
 * (`transfer-service/server/query/query-forward.ts`, `worker-upstream.ts`) and the Worker's `/dns-query`.
 * Requests carry the first three (believed only with the internal token, `workers/doh/forwarded.ts`);
 * answers to such requests may carry the last three (`workers/doh/version-headers.ts`), which tell the
 * front what it may cache and until when.
 */

/** `udp` or `tcp`: how the query reached port 53. */
export const TRANSPORT_HEADER = "x-backstop-transport";
/** 512–65535: the most the front sends back over UDP (caps the size negotiated from the query's OPT). */
export const UDP_SIZE_HEADER = "x-backstop-udp-size";
/** The DNS client's IP address, for a zone's answerAllow list. */
export const CLIENT_HEADER = "x-backstop-client";

/** The apexes of the zones the answer was read from (lowercase, absolute), space-separated. */
export const ZONE_HEADER = "x-backstop-zone";
/**
 * Each of those zones' served version, in the same order, space-separated.
 *
 * Same string as `/internal/v1`'s `RECORDS_VERSION_HEADER` (`internal-v1.ts`), by history rather than by
 * need: that one names the single version a record-stream response holds, and the two never meet on one
 * response (this one only on `/dns-query` answers, that one only on `/internal/v1` record streams). The
 * wire strings are kept as they are so that no deployed peer sees a change.
 */
export const ZONE_VERSIONS_HEADER = "x-backstop-version";
/** Milliseconds between the start of the read that gave those versions and the answer (never negative). */
export const VERSION_AGE_HEADER = "x-backstop-version-age-ms";
