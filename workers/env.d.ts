/**
 * @module The Worker's bindings (see wrangler.toml). Secrets come from `wrangler secret put`,
 * or from `.dev.vars`, which `npm start` writes locally.
 */
export interface Env {
  DB: D1Database;
  ZONE_CACHE: KVNamespace;
  SERVICE_CONTROL_URLS?: string;
  ADMIN_TOKEN?: string;
  INTERNAL_TOKEN?: string;
  TSIG_ENCRYPTION_KEY?: string;
  /** This Worker's NSID (RFC 5001) for DoH answers it serves directly; empty or unset: none (doh/index.ts). */
  NSID?: string;
  /**
   * `true` only in a deployment on Cloudflare's edge: `CF-Connecting-IP` is then the DoH client's address
   * (`doh/client-address.ts`). Set with `wrangler secret put`, never in wrangler.toml's `[vars]`.
   */
  TRUST_CF_CONNECTING_IP?: string;
  /**
   * This deployment's nameserver names, comma-separated (issue 23): what a live zone's apex NS set must
   * include, shown to copy to the primary (`GET /api/v1/deployment`, the panel). Unset: a warning there.
   */
  BACKSTOP_NAMESERVERS?: string;
  /**
   * The addresses this deployment transfers from (the transfer-service hosts), comma-separated: what the
   * primary's transfer ACL must allow. Unset: a warning in `GET /api/v1/deployment` and the panel.
   */
  BACKSTOP_TRANSFER_ADDRESSES?: string;
  // Alerts (issue 25, `alerts/`): `ns-mismatch` checks each zone's apex NS set against BACKSTOP_NAMESERVERS above.
  /** Seconds before the first retry of an alert delivery (doubling, for up to an hour); 30 when unset. */
  BACKSTOP_ALERT_RETRY_BASE_S?: string;
  /**
   * Issue 24: the Workers Rate Limiting binding of `/api/v1` (wrangler.toml `[[ratelimits]]`); unset: no
   * limit. `API_RATE_LIMIT_PERIOD` is its period in seconds (10 or 60, 60 by default), sent as `Retry-After`.
   */
  API_RATE_LIMITER?: RateLimit;
  API_RATE_LIMIT_PERIOD?: string;
  /**
   * Issue 22 item 5: the base URL of Cloudflare's API, which a primary zone with a Cloudflare source polls
   * (`store/primary/cloudflare-source.ts`); unset or empty: https://api.cloudflare.com. Tests point it at a
   * loopback stand-in.
   */
  CLOUDFLARE_API_BASE?: string;
}
