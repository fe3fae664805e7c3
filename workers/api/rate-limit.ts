/**
 * @module `/api/v1`'s rate limit (issue 24: infrastructure-as-code tools expect `429` with `Retry-After`
 * and back off). The counting is Cloudflare's Workers Rate Limiting binding, `API_RATE_LIMITER` (a
 * `[[ratelimits]]` block in wrangler.toml, commented out there by default); without the binding, nothing is
 * limited. Each principal has its own budget, keyed by who it is (`admin`, the API token's name, the
 * webhook's zone), so one busy CI token cannot starve another. A refused request answers 429
 * `rate-limited` in the error shape with `Retry-After`: the binding's period (`API_RATE_LIMIT_PERIOD`,
 * 60 s by default, as the binding counts in windows of 10 or 60 s).
 */
import type { MiddlewareHandler } from "hono";
import type { Principal } from "../http/auth/index.ts";
import { errorBody } from "../http/errors/index.ts";
import type { RouteEnv } from "../http/route-env.ts";

/** The budget a principal's requests count against. */
export function rateLimitKey(p: Principal | undefined): string {
  if (p === undefined) return "public";
  switch (p.kind) {
    case "token":
      return `token:${p.name}`;
    case "webhook":
      return `webhook:${p.zone}`;
    default:
      return p.kind;
  }
}

/** Seconds a refused client waits: the binding's period. */
function retryAfter(period: string | undefined): number {
  const seconds = Number(period);
  return Number.isInteger(seconds) && seconds > 0 ? seconds : 60;
}

/** After `apiAuth` (so the principal is known): 429 + `Retry-After` when the principal's budget is spent. */
export const rateLimit: MiddlewareHandler<RouteEnv> = async (c, next) => {
  const limiter = c.env.API_RATE_LIMITER;
  if (limiter === undefined) return next();
  const { success } = await limiter.limit({ key: rateLimitKey(c.get("principal")) });
  if (success) return next();
  const wait = retryAfter(c.env.API_RATE_LIMIT_PERIOD);
  c.header("Retry-After", String(wait));
  return c.json(errorBody("rate-limited", `too many requests for this token; retry after ${wait} s`), 429);
};
