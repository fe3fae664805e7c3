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
}
