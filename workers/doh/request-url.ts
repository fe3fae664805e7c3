/**
 * @module Reading a DoH request's URL without `new URL()` (a parse of the whole URL per query, for one
 * parameter): whether it is `/dns-query`, and the `dns` parameter's value (RFC 8484 §4.1). Anything these
 * do not recognise falls back to the general path (hono, URLSearchParams), so they only need to be right,
 * not complete.
 */

/**
 * The first value of the query parameter `name` in `url`, percent-decoded as URLSearchParams would
 * (`+` is a space); undefined when absent. Cheaper than parsing the whole URL, for the `dns` parameter
 * of every GET; a value that needs no decoding (base64url never does) is returned as it stands.
 */
/** A key or value as application/x-www-form-urlencoded decodes it; malformed escapes stay as they are. */
function decoded(text: string): string {
  if (!text.includes("%") && !text.includes("+")) return text;
  const spaced = text.replace(/\+/g, " ");
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}

export function queryParam(url: string, name: string): string | undefined {
  const q = url.indexOf("?");
  if (q < 0) return undefined;
  const end = url.indexOf("#", q);
  const query = end < 0 ? url.slice(q + 1) : url.slice(q + 1, end);
  for (const pair of query.split("&")) {
    const eq = pair.indexOf("=");
    if (decoded(eq < 0 ? pair : pair.slice(0, eq)) !== name) continue;
    return decoded(eq < 0 ? "" : pair.slice(eq + 1));
  }
  return undefined;
}

/** True when `url` is `/dns-query` exactly (with or without a query string): the entry's fast path. */
export function isDohUrl(url: string): boolean {
  const path = url.indexOf("/", url.indexOf("//") + 2);
  if (path < 0 || !url.startsWith("/dns-query", path)) return false;
  const next = url.charCodeAt(path + 10);
  return Number.isNaN(next) || next === 0x3f /* ? */ || next === 0x23 /* # */;
}
