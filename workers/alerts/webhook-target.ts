/**
 * @module Which URLs an alert webhook may have: http or https, no credentials in the URL, and a host that
 * passes the outbound-address rule (`contract/outbound-address.ts`) when it is an address literal, so the
 * Worker is never made to POST to a metadata service or a link-local address. A host name is taken as given
 * (the Worker cannot resolve it before fetching; on Cloudflare's edge, fetch does not reach private ranges).
 */
import { outboundAddressProblem } from "../../contract/outbound-address.ts";

/** Why `url` may not be a webhook target, in words; undefined when it may. */
export function webhookUrlProblem(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return "not an absolute URL";
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") return `scheme ${u.protocol.replace(/:$/, "")} is not http or https`;
  if (u.username || u.password) return "credentials in the URL would be stored in the clear; put them in the path or use the secret";
  const host = u.hostname.replace(/^\[(.*)\]$/, "$1");
  if (/^[\d.]+$/.test(host) || host.includes(":")) {
    const problem = outboundAddressProblem(host);
    if (problem) return problem;
  }
  return undefined;
}
