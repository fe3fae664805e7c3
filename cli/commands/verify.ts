/**
 * @module `backstop verify ZONE…` and `backstop verify --all` (also `zone verify`): asks Backstop to compare
 * each zone with its primary (`POST /api/v1/zones/:name/verify`, run by the transfer-service) and prints what
 * differs: both serials and counts, the missing and extra records, and each published nameserver's serial.
 * Exit 0 when every zone matched, 1 otherwise. `--all` walks every zone with at most `--concurrency` at once.
 */
import type { Command } from "commander";
import type { VerifyResult } from "../../contract/control.ts";
import { seg } from "../api.ts";
import { type ContextFactory, type Ctx, fail } from "../context.ts";
import { CliError, EXIT, usage } from "../errors.ts";
import { printJson } from "../output.ts";
import { allZones } from "./zone-list.ts";

export function describeVerification(r: VerifyResult): string {
  const lines: string[] = [];
  const counts = (serial: number | null, count: number | null) => `serial ${serial ?? "none"}, ${count ?? "?"} records`;
  if (r.match) lines.push(`${r.zone}: match (${counts(r.servedSerial, r.servedCount)})`);
  else if (r.error !== undefined) lines.push(`${r.zone}: NOT VERIFIED: ${r.error}`);
  else lines.push(`${r.zone}: MISMATCH: served ${counts(r.servedSerial, r.servedCount)}; primary ${r.primary ?? ""} ${counts(r.primarySerial, r.primaryCount)}`);
  if (r.missingTotal > 0) {
    lines.push(`  missing here (at the primary, not served): ${r.missingTotal}${r.missingTotal > r.missing.length ? ` (first ${r.missing.length})` : ""}`);
    for (const m of r.missing) lines.push(`    + ${m}`);
  }
  if (r.extraTotal > 0) {
    lines.push(`  extra here (served, not at the primary): ${r.extraTotal}${r.extraTotal > r.extra.length ? ` (first ${r.extra.length})` : ""}`);
    for (const e of r.extra) lines.push(`    - ${e}`);
  }
  if (r.nameservers.length > 0) {
    lines.push(`  nameservers${r.converged ? " (converged)" : " (not converged)"}:`);
    for (const ns of r.nameservers) lines.push(`    ${ns.name}  ${ns.address ?? "-"}  ${ns.serial !== null ? `serial ${ns.serial}` : (ns.error ?? "no answer")}`);
  }
  return lines.join("\n") + "\n";
}

/** Runs `fn` over `items` with at most `limit` running at once; results in the order of `items`. */
export async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  });
  await Promise.all(workers);
  return results;
}

type Outcome = { zone: string; result?: VerifyResult; error?: string };

async function verifyOne(ctx: Ctx, zone: string): Promise<VerifyResult> {
  return ctx.api.json<VerifyResult>("POST", `/zones/${seg(zone)}/verify`);
}

export function addVerify(parent: Command, context: ContextFactory, name = "verify"): Command {
  return parent
    .command(name)
    .description("compare zones with their primaries (run by the transfer-service); exit 0 when all match, 1 otherwise")
    .argument("[zones...]", "zone names")
    .option("--all", "verify every zone (secondary and hidden; primary zones have nothing to compare with)")
    .option("--concurrency <n>", "zones verified at once with --all", (v) => positiveInt(v, "--concurrency"), 4)
    .action(async (zones: string[], opts: { all?: boolean; concurrency: number }, cmd: Command) => {
      if (opts.all && zones.length > 0) throw usage("give zone names or --all, not both");
      if (!opts.all && zones.length === 0) throw usage("give a zone name, or --all");
      const ctx = context(cmd);
      if (!opts.all && zones.length === 1) {
        const r = await verifyOne(ctx, zones[0]!);
        if (ctx.out.json) printJson(ctx.out, r);
        else ctx.out.stdout(describeVerification(r));
        if (!r.match) fail(EXIT.failed);
        return;
      }
      const names = opts.all ? (await allZones(ctx, {})).filter((z) => z.model !== "primary").map((z) => z.name) : zones;
      const outcomes = await mapBounded(names, opts.concurrency, async (zone): Promise<Outcome> => {
        try {
          const result = await verifyOne(ctx, zone);
          if (!ctx.out.json) ctx.out.stdout(describeVerification(result));
          return { zone, result };
        } catch (err) {
          if (!(err instanceof CliError) || err.exitCode === EXIT.unreachable) throw err;
          if (!ctx.out.json) ctx.out.stdout(`${zone}: NOT VERIFIED: ${err.message}\n`);
          return { zone, error: err.message };
        }
      });
      const matched = outcomes.filter((o) => o.result?.match).length;
      if (ctx.out.json) printJson(ctx.out, outcomes.map((o) => o.result ?? { zone: o.zone, match: false, error: o.error }));
      else ctx.out.stdout(`${matched} of ${outcomes.length} zones match\n`);
      if (matched !== outcomes.length) fail(EXIT.failed);
    });
}

export function positiveInt(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw usage(`${what} must be a whole number of 1 or more, not "${text}"`);
  return n;
}
