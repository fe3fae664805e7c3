/**
 * @module What the port-53 front may cache from an answer, told in response headers
 * (`contract/forwarded-headers.ts`): which zones the answer was read from, at which versions, and how old the read of
 * those version pointers was. The D1 store reuses its pointers for up to a second, so an answer can be that
 * much behind a commit; the front expires what it caches from the read (`pointerReadAt`), not from the
 * answer, and so never serves anything more than a second after a newer version was committed.
 *
 * Headers are given only when caching is safe for everyone who asks the same question:
 *   1. the rcode is NOERROR or NXDOMAIN (never SERVFAIL, REFUSED, FORMERR: those may be passing faults);
 *   2. the answer came from at least one zone, every one of them loaded (a version);
 *   3. no zone has an answerAllow list: a restricted (e.g. hidden) zone's answer depends on who asks.
 * Only requests with the internal token get them (`index.ts`); a DoH client learns nothing about versions.
 */
import { Rcode } from "../../dns/constants.ts";
import type { ZoneInfo } from "../../answer/zone-store.ts";
import { VERSION_AGE_HEADER, ZONE_HEADER, ZONE_VERSIONS_HEADER } from "../../contract/forwarded-headers.ts";

/** The version headers for an answer with `rcode` read from `zones` at `now`; undefined when it must not be cached. */
export function versionHeaders(zones: readonly ZoneInfo[], rcode: number, now: number): Record<string, string> | undefined {
  if (rcode !== Rcode.NOERROR && rcode !== Rcode.NXDOMAIN) return undefined;
  if (zones.length === 0) return undefined;
  let readAt = now;
  const names: string[] = [];
  const versions: string[] = [];
  for (const zone of zones) {
    if (zone.version === null || zone.answerAllow.length > 0) return undefined;
    // A store that never lags (memory) leaves pointerReadAt unset: its read is as fresh as the answer.
    readAt = Math.min(readAt, zone.pointerReadAt ?? now);
    names.push(zone.name.key);
    versions.push(String(zone.version));
  }
  return {
    [ZONE_HEADER]: names.join(" "),
    [ZONE_VERSIONS_HEADER]: versions.join(" "),
    [VERSION_AGE_HEADER]: String(Math.max(0, Math.ceil(now - readAt))),
  };
}
