/**
 * @module `backstop status`: zones counted by status, and the zones with problems (failing, expired,
 * serial-regressed) with their status in words. Exit 1 when any zone has a problem, so a monitoring script
 * can run it as a check.
 */
import type { Command } from "commander";
import { type ContextFactory, fail } from "../context.ts";
import { EXIT } from "../errors.ts";
import { printJson, table } from "../output.ts";
import { allZones, zonePage, type ZoneView } from "./zone-list.ts";

export const PROBLEMS = ["failing", "expired", "serial-regressed"] as const;

export function addStatusCommand(program: Command, context: ContextFactory): void {
  program
    .command("status")
    .description("zones by status and the zones with problems; exit 1 when there are any")
    .action(async (_opts: unknown, cmd: Command) => {
      const ctx = context(cmd);
      const { totals } = await zonePage(ctx, {}, 1);
      const problems: ZoneView[] = [];
      for (const status of PROBLEMS) if ((totals[status] ?? 0) > 0) problems.push(...(await allZones(ctx, { status })));
      if (ctx.out.json) printJson(ctx.out, { totals, problems: problems.map((z) => ({ name: z.name, status: z.status, statusDetail: z.statusDetail, serial: z.serial, primarySerial: z.primarySerial })) });
      else {
        const order = ["total", "active", "pending", "refreshing", ...PROBLEMS];
        const keys = [...order.filter((k) => k in totals), ...Object.keys(totals).filter((k) => !order.includes(k))];
        ctx.out.stdout(table(["STATUS", "ZONES"], keys.map((k) => [k, (totals as Record<string, number>)[k]])));
        if (problems.length > 0) {
          ctx.out.stdout("\nzones with problems:\n");
          ctx.out.stdout(table(["NAME", "STATUS", "SERIAL", "PRIMARY", "DETAIL"], problems.map((z) => [z.name, z.status, z.serial, z.primarySerial, z.statusDetail])));
        } else ctx.out.stdout("\nno zone has a problem\n");
      }
      if (problems.length > 0) fail(EXIT.failed);
    });
}
