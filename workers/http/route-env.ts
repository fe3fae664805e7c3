/**
 * @module The hono environment of `/api/v1` and `/internal/v1` (and the panel, later): the Worker's
 * bindings, the request's D1 session (`http/d1-session`) and the principal its token resolved to
 * (`http/auth`).
 */
import type { Env } from "../env.d.ts";
import type { AuthVariables } from "./auth/index.ts";
import type { SessionVariables } from "./d1-session/index.ts";

export interface RouteEnv {
  Bindings: Env;
  Variables: SessionVariables & AuthVariables;
}
