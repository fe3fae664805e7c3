/**
 * @module `backstop token …`: scoped API tokens (`/api/v1/tokens`, issue 24 item 4): `read` or `read,write`,
 * optionally limited to some zones and with an expiry. The token is shown once, at creation.
 */
import type { Command } from "commander";
import { seg } from "../api.ts";
import type { ContextFactory } from "../context.ts";
import { usage } from "../errors.ts";
import { printJson, table } from "../output.ts";

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

export function tokenBody(name: string, opts: { scope: string; zone?: string[]; expires?: string }): Record<string, unknown> {
  const scopes = opts.scope === "read" ? ["read"] : opts.scope === "write" || opts.scope === "read,write" ? ["read", "write"] : undefined;
  if (!scopes) throw usage(`--scope must be read or write, not "${opts.scope}"`);
  const body: Record<string, unknown> = { name, scopes };
  if (opts.zone) body.zones = opts.zone;
  if (opts.expires !== undefined) {
    const at = new Date(opts.expires);
    if (Number.isNaN(at.getTime())) throw usage(`--expires "${opts.expires}" is not a date (like 2027-01-31 or 2027-01-31T12:00:00Z)`);
    body.expiresAt = at.toISOString();
  }
  return body;
}

export function addTokenCommands(program: Command, context: ContextFactory): void {
  const token = program.command("token").description("scoped API tokens: add, list, rm");

  token
    .command("add")
    .description("make a token; prints it once")
    .argument("<name>")
    .option("--scope <scope>", "read, or write (read and write)", "read")
    .option("--zone <name>", "limit the token to this zone, repeatable", collect)
    .option("--expires <date>", "when the token stops working (ISO 8601)")
    .action(async (name: string, opts: { scope: string; zone?: string[]; expires?: string }, cmd: Command) => {
      const body = tokenBody(name, opts);
      const ctx = context(cmd);
      const r = await ctx.api.json<{ name: string; token: string }>("POST", "/tokens", { json: body });
      if (ctx.out.json) printJson(ctx.out, r);
      else ctx.out.stdout(`token ${r.name} (shown once): ${r.token}\n`);
    });

  token
    .command("list")
    .description("tokens (never their secrets)")
    .action(async (_opts: unknown, cmd: Command) => {
      const ctx = context(cmd);
      type Row = { name: string; scopes: string[]; zones?: string[] | null; expiresAt?: string | null; createdAt?: string | null; lastUsedAt?: string | null };
      const r = await ctx.api.json<{ tokens: Row[] } | Row[]>("GET", "/tokens");
      const rows = Array.isArray(r) ? r : r.tokens;
      if (ctx.out.json) printJson(ctx.out, rows);
      else ctx.out.stdout(table(["NAME", "SCOPES", "ZONES", "EXPIRES", "CREATED"], rows.map((t) => [t.name, t.scopes, t.zones ?? "all", t.expiresAt, t.createdAt])));
    });

  token
    .command("rm")
    .description("revoke a token at once")
    .argument("<name>")
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const ctx = context(cmd);
      await ctx.api.request("DELETE", `/tokens/${seg(name)}`);
      if (ctx.out.json) printJson(ctx.out, { revoked: name });
      else ctx.out.stdout(`revoked token ${name}\n`);
    });
}
