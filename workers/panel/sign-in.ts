/**
 * @module Who may sign in to the panel: the one function the sign-in form asks. Today the operator's
 * ADMIN_TOKEN (compared in constant time through `http/auth`'s `configuredPrincipals`); scoped API tokens
 * (issue 24) plug in here, as one more lookup returning their principal, and nothing else changes.
 */
import type { Env } from "../env.d.ts";
import { configuredPrincipals } from "../http/auth/index.ts";

/** What a panel session is stored as (`panel_sessions.principal`). */
export type PanelPrincipal = "admin";

/** The principal `token` signs in as, or null when it opens no panel session. */
export async function panelPrincipalForToken(token: string, env: Env): Promise<PanelPrincipal | null> {
  if (token === "") return null;
  const principals = await configuredPrincipals(token, env);
  return principals.some((p) => p.kind === "admin") ? "admin" : null;
}
