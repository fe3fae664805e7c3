/**
 * @module Cloudflare's documented zone-transfer addresses, the one place in the code that names them: the
 * panel's add-zone step pre-fills a zone's NOTIFY sources with them, for a zone whose primary is Cloudflare.
 *
 * Source: Cloudflare's "Cloudflare IP addresses" page for zone transfers,
 * https://developers.cloudflare.com/dns/zone-setups/zone-transfers/access-control-lists/cloudflare-ip-addresses
 * ("Cloudflare as Primary": the allow range NOTIFY comes from, and the addresses transfers are served from).
 * The page changed in 2026: since 2026-04-15 it lists 104.30.167.163, 104.30.167.173 and
 * 2a09:bac0:1000:c47::/64, and the old ranges (198.41.144.240/28, 198.41.150.240/28, 2a06:98c0:3601::/48,
 * 2a06:98c0:1401::/48) stopped working on 2026-12-01. Read the page again before relying on this list;
 * older copies of the page (and of this file's search corpus) still show the old ranges.
 */

/** Where the list comes from, shown beside it in the panel. */
export const CLOUDFLARE_IP_PAGE =
  "https://developers.cloudflare.com/dns/zone-setups/zone-transfers/access-control-lists/cloudflare-ip-addresses";

/** The NOTIFY sources of Cloudflare as a primary, as CIDR prefixes (a zone's `notifyAllow` takes prefixes). */
export const CLOUDFLARE_NOTIFY_PREFIXES: readonly string[] = Object.freeze([
  "104.30.167.163/32",
  "104.30.167.173/32",
  "2a09:bac0:1000:c47::/64",
]);

/** The day the old ranges stopped working, for the panel's note. */
export const CLOUDFLARE_OLD_RANGES_ENDED = "2026-12-01";
