/**
 * @module `backstop zone …`: list, show, add (with `--wait` for the first transfer), edit, rm, refresh, notify,
 * export and import (zone files, with progress bars), verify and transfers, each one `/api/v1` call or a few.
 */
import { createWriteStream, statSync, createReadStream } from "node:fs";
import { Readable, type Writable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import type { Command } from "commander";
import { seg } from "../api.ts";
import type { ContextFactory, Ctx } from "../context.ts";
import { CliError, EXIT, usage } from "../errors.ts";
import { fields, printJson, table } from "../output.ts";
import { progressBar } from "../progress.ts";
import { addVerify, positiveInt } from "./verify.ts";
import { allZones, type ZoneView, zonePage } from "./zone-list.ts";

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** `192.0.2.1`, `192.0.2.1:5300`, `2001:db8::1`, `[2001:db8::1]:5300`, optionally `@key` at the end. */
export function parseHostPort(text: string, what: string): { address: string; port?: number; tsigKey?: string } {
  const [where, key] = text.split("@") as [string, string | undefined];
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(where);
  const v4 = /^([^:]+)(?::(\d+))?$/.exec(where);
  const m = bracketed ?? v4;
  const address = m ? m[1]! : where;
  const portText = m ? m[2] : undefined;
  if (address === "" || (!m && !where.includes(":"))) throw usage(`${what} "${text}" is not address[:port] or [v6]:port`);
  const out: { address: string; port?: number; tsigKey?: string } = { address };
  if (portText !== undefined) {
    const port = Number(portText);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw usage(`${what} "${text}": port must be 1 to 65535`);
    out.port = port;
  }
  if (key !== undefined) {
    if (key === "") throw usage(`${what} "${text}": a key name must follow @`);
    out.tsigKey = key;
  }
  return out;
}

/** `address` or `prefix`, optionally `@key` (transferAllow). */
function parseAllow(text: string): { address: string; tsigKey?: string } {
  const [address, key] = text.split("@") as [string, string | undefined];
  if (!address) throw usage(`--transfer-allow "${text}" is not address[/len][@key]`);
  return key === undefined ? { address } : { address, tsigKey: key };
}

interface ZoneFlags {
  model?: string;
  primary?: string[];
  key?: string | false;
  notifyAllow?: string[];
  transferAllow?: string[];
  alsoNotify?: string[];
  answerAllow?: string[];
  maxRecords?: number;
}

/** The zone fields the flags give (only those given: a PATCH leaves the others alone). */
export function zoneBody(flags: ZoneFlags): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (flags.model !== undefined) body.model = flags.model;
  if (flags.primary !== undefined) body.primaries = flags.primary.map((p) => parseHostPort(p, "--primary"));
  if (flags.key !== undefined) body.tsigKey = flags.key === false ? null : flags.key;
  if (flags.notifyAllow !== undefined) body.notifyAllow = flags.notifyAllow;
  if (flags.transferAllow !== undefined) body.transferAllow = flags.transferAllow.map(parseAllow);
  if (flags.alsoNotify !== undefined) body.alsoNotify = flags.alsoNotify.map((p) => parseHostPort(p, "--also-notify"));
  if (flags.answerAllow !== undefined) body.answerAllow = flags.answerAllow;
  if (flags.maxRecords !== undefined) body.maxRecords = flags.maxRecords;
  return body;
}

function zoneOptions(cmd: Command): Command {
  return cmd
    .option("--model <model>", "secondary, hidden or primary")
    .option("--primary <address>", "a primary: address[:port][@key], repeatable, in order", collect)
    .option("--key <name>", "the zone's TSIG key (transfers and NOTIFY)")
    .option("--no-key", "no zone TSIG key")
    .option("--notify-allow <prefix>", "NOTIFY also accepted from this prefix, repeatable", collect)
    .option("--transfer-allow <address>", "downstream allowed to transfer: address or prefix[@key], repeatable", collect)
    .option("--also-notify <address>", "downstream to NOTIFY after each commit: address[:port][@key], repeatable", collect)
    .option("--answer-allow <prefix>", "answer only these addresses or prefixes, repeatable", collect)
    .option("--max-records <n>", "records one transfer may hold", (v) => positiveInt(v, "--max-records"));
}

const when = (iso: string | null | undefined) => (iso ? iso.replace(/\.\d+Z$/, "Z") : null);

function zoneRow(z: ZoneView): unknown[] {
  return [z.name, z.model, z.status, z.serial, z.primarySerial, z.recordCount, when(z.lastTransfer?.at ?? null), z.status === "active" ? "" : z.statusDetail];
}
const ZONE_HEADERS = ["NAME", "MODEL", "STATUS", "SERIAL", "PRIMARY", "RECORDS", "LAST TRANSFER", "DETAIL"];

function showZone(ctx: Ctx, z: ZoneView): void {
  const v = z.lastVerification;
  ctx.out.stdout(
    fields([
      ["name", z.name],
      ["model", z.model],
      ["status", z.status],
      ["detail", z.statusDetail],
      ["serial", z.serial],
      ["primary serial", z.primarySerial],
      ["records", z.recordCount],
      ["primaries", z.primaries.map((p) => `${p.address.includes(":") ? `[${p.address}]` : p.address}:${p.port}${p.tsigKey ? `@${p.tsigKey}` : ""}`)],
      ["tsig key", z.tsigKey],
      ["notify allow", z.notifyAllow],
      ["transfer allow", z.transferAllow.map((t) => `${t.address}${t.tsigKey ? `@${t.tsigKey}` : ""}`)],
      ["also notify", z.alsoNotify.map((t) => `${t.address}:${t.port}`)],
      ["answer allow", z.answerAllow],
      ["last check", when(z.lastCheck)],
      ["last transfer", z.lastTransfer ? `${z.lastTransfer.kind} ${z.lastTransfer.result} at ${when(z.lastTransfer.at)}${z.lastTransfer.error ? `: ${z.lastTransfer.error}` : ""}` : null],
      ["next refresh", when(z.nextRefresh)],
      ["expires", when(z.expiresAt)],
      [
        "last verification",
        v ? `${v.match ? "match" : "MISMATCH"} at ${when(v.at)} (served ${v.servedSerial ?? "none"}, primary ${v.primarySerial ?? "none"}, ${v.missingTotal} missing, ${v.extraTotal} extra${v.converged ? ", nameservers converged" : ""})${v.error ? `: ${v.error}` : ""}` : null,
      ],
    ]),
  );
}

/** Polls the zone until its first transfer ends: active (ok) or failing/expired (CliError), bounded by `timeoutS`. */
async function waitForFirstTransfer(ctx: Ctx, name: string, timeoutS: number): Promise<ZoneView> {
  const started = Date.now();
  const bar = progressBar(ctx.progress, `waiting for the first transfer of ${name} [{bar}] {elapsed}s/{limit}s {status}`, timeoutS, { elapsed: 0, limit: timeoutS, status: "pending" });
  try {
    for (;;) {
      const z = await ctx.api.json<ZoneView>("GET", `/zones/${seg(name)}`);
      const elapsed = Math.round((Date.now() - started) / 1000);
      // A first attempt that failed leaves the zone pending with the reason ("no transfer yet: …"): shown as it comes.
      const status = z.status === "pending" && z.statusDetail ? `${z.status}: ${z.statusDetail.slice(0, 80)}` : z.status;
      bar.update(Math.min(elapsed, timeoutS), { elapsed, limit: timeoutS, status });
      if (z.status === "active" && z.serial !== null) return z;
      if (z.status === "failing" || z.status === "expired" || z.status === "serial-regressed") {
        throw new CliError(EXIT.failed, `${name}: ${z.status}: ${z.statusDetail ?? "no detail"}`);
      }
      if (Date.now() - started > timeoutS * 1000) throw new CliError(EXIT.failed, `${name} is still ${z.status} after ${timeoutS} s: ${z.statusDetail ?? ""}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  } finally {
    bar.stop();
  }
}

export function addZoneCommands(program: Command, context: ContextFactory): void {
  const zone = program.command("zone").description("zones: list, show, add, edit, rm, refresh, notify, export, import, verify, transfers");

  zone
    .command("list")
    .description("list zones (one page of 100 unless --all)")
    .option("--status <status>", "pending, active, refreshing, failing, expired or serial-regressed")
    .option("--model <model>", "secondary, hidden or primary")
    .option("--prefix <text>", "zone names starting with this")
    .option("--all", "every page")
    .action(async (opts: { status?: string; model?: string; prefix?: string; all?: boolean }, cmd: Command) => {
      const ctx = context(cmd);
      const filter = { status: opts.status, model: opts.model, prefix: opts.prefix };
      let zones: ZoneView[];
      let more = false;
      if (opts.all) zones = await allZones(ctx, filter);
      else {
        const page = await zonePage(ctx, filter, 100);
        zones = page.zones;
        more = page.nextCursor !== null;
      }
      if (ctx.out.json) return printJson(ctx.out, zones);
      ctx.out.stdout(table(ZONE_HEADERS, zones.map(zoneRow)));
      if (more) ctx.out.stderr("(more zones: add --all)\n");
    });

  zone
    .command("show")
    .description("one zone: settings, status, serials, last transfer and last verification")
    .argument("<name>")
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const ctx = context(cmd);
      const z = await ctx.api.json<ZoneView>("GET", `/zones/${seg(name)}`);
      if (ctx.out.json) printJson(ctx.out, z);
      else showZone(ctx, z);
    });

  zoneOptions(zone.command("add").description("add a zone; prints its webhook secret once").argument("<name>"))
    .option("--wait", "wait for the first transfer (exit 1 if it fails)")
    .option("--timeout <seconds>", "how long --wait waits", (v) => positiveInt(v, "--timeout"), 120)
    .action(async (name: string, opts: ZoneFlags & { wait?: boolean; timeout: number }, cmd: Command) => {
      const ctx = context(cmd);
      const created = await ctx.api.json<ZoneView>("POST", "/zones", { json: { name, ...zoneBody(opts) } });
      if (!ctx.out.json) {
        ctx.out.stdout(`added ${created.name} (${created.model})\n`);
        if (created.webhookSecret) ctx.out.stdout(`webhook secret (shown once): ${created.webhookSecret}\n`);
      }
      const final = opts.wait ? await waitForFirstTransfer(ctx, created.name, opts.timeout) : undefined;
      if (ctx.out.json) printJson(ctx.out, final ? { ...final, webhookSecret: created.webhookSecret } : created);
      else if (final) ctx.out.stdout(`${final.name} is active at serial ${final.serial} (${final.recordCount} records)\n`);
    });

  zoneOptions(zone.command("edit").description("change a zone's settings (only the flags given)").argument("<name>")).action(
    async (name: string, opts: ZoneFlags, cmd: Command) => {
      const body = zoneBody(opts);
      if (Object.keys(body).length === 0) throw usage("nothing to change: give at least one option (see backstop zone edit --help)");
      const ctx = context(cmd);
      const z = await ctx.api.json<ZoneView>("PATCH", `/zones/${seg(name)}`, { json: body });
      if (ctx.out.json) printJson(ctx.out, z);
      else showZone(ctx, z);
    },
  );

  zone
    .command("rm")
    .description("delete a zone and all its data")
    .argument("<name>")
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const ctx = context(cmd);
      await ctx.api.request("DELETE", `/zones/${seg(name)}`);
      if (ctx.out.json) printJson(ctx.out, { deleted: name });
      else ctx.out.stdout(`deleted ${name}\n`);
    });

  zone
    .command("refresh")
    .description("ask for a refresh now (SOA check, IXFR or AXFR)")
    .argument("<name>")
    .option("--axfr", "force a full transfer")
    .option("--accept-lower-serial", "take the primary's zone even when its serial went back (needs --axfr)")
    .action(async (name: string, opts: { axfr?: boolean; acceptLowerSerial?: boolean }, cmd: Command) => {
      if (opts.acceptLowerSerial && !opts.axfr) throw usage("--accept-lower-serial needs --axfr");
      const ctx = context(cmd);
      const body = { ...(opts.axfr ? { force: "axfr" } : {}), ...(opts.acceptLowerSerial ? { acceptLowerSerial: true } : {}) };
      const r = await ctx.api.json<unknown>("POST", `/zones/${seg(name)}/refresh`, { json: body });
      if (ctx.out.json) printJson(ctx.out, r);
      else ctx.out.stdout(`refresh of ${name} requested\n`);
    });

  zone
    .command("notify")
    .description("signal a change at the primary, as its NOTIFY would (the webhook)")
    .argument("<name>")
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const ctx = context(cmd);
      const r = await ctx.api.json<unknown>("POST", `/zones/${seg(name)}/notify`);
      if (ctx.out.json) printJson(ctx.out, r);
      else ctx.out.stdout(`NOTIFY for ${name} sent\n`);
    });

  zone
    .command("transfers")
    .description("the zone's transfer log, newest first")
    .argument("<name>")
    .option("--limit <n>", "entries", (v) => positiveInt(v, "--limit"), 20)
    .action(async (name: string, opts: { limit: number }, cmd: Command) => {
      const ctx = context(cmd);
      type Row = { at: string; direction: string; kind: string; result: string; primary: string | null; fromSerial: number | null; toSerial: number | null; records: number | null; durationMs: number | null; error: string | null };
      const r = await ctx.api.json<{ transfers: Row[] }>("GET", `/zones/${seg(name)}/transfers`, { query: { limit: opts.limit } });
      if (ctx.out.json) return printJson(ctx.out, r.transfers);
      ctx.out.stdout(
        table(
          ["AT", "DIR", "KIND", "RESULT", "PEER", "FROM", "TO", "RECORDS", "MS", "ERROR"],
          r.transfers.map((t) => [when(t.at), t.direction, t.kind, t.result, t.primary, t.fromSerial, t.toSerial, t.records, t.durationMs, t.error]),
        ),
      );
    });

  zone
    .command("export")
    .description("the served version as a zone file (stdout, or --output)")
    .argument("<name>")
    .option("-o, --output <file>", "write to this file")
    .action(async (name: string, opts: { output?: string }, cmd: Command) => {
      const ctx = context(cmd);
      const info = await ctx.api.json<ZoneView>("GET", `/zones/${seg(name)}`);
      const res = await ctx.api.request("GET", `/zones/${seg(name)}/export`);
      const total = info.recordCount ?? 0;
      const bar = progressBar(ctx.progress && opts.output !== undefined, `exporting ${info.name} [{bar}] {value}/{total} records`, total);
      const sink: Writable = opts.output === undefined ? process.stdout : createWriteStream(opts.output);
      let records = 0;
      try {
        for await (const chunk of Readable.fromWeb(res.body! as WebReadableStream<Uint8Array>)) {
          const bytes = chunk as Buffer;
          for (const b of bytes) if (b === 10) records++;
          if (!sink.write(bytes)) await new Promise<void>((resolve) => sink.once("drain", () => resolve()));
          bar.update(records);
        }
      } finally {
        bar.stop();
        if (sink !== process.stdout) await new Promise<void>((resolve, reject) => sink.end((err?: Error | null) => (err ? reject(err) : resolve())));
      }
      if (opts.output !== undefined) {
        const serial = res.headers.get("x-backstop-serial");
        if (ctx.out.json) printJson(ctx.out, { zone: info.name, serial: serial ? Number(serial) : null, records, file: opts.output });
        else ctx.out.stderr(`wrote ${records} records of ${info.name} (serial ${serial}) to ${opts.output}\n`);
      }
    });

  zone
    .command("import")
    .description("replace a primary zone's content with a zone file (POST /zones/:name/import, text/dns)")
    .argument("<name>")
    .argument("<file>", "an RFC 1035 master file ('-' for stdin)")
    .option("--dry-run", "show the difference without committing")
    .action(async (name: string, file: string, opts: { dryRun?: boolean }, cmd: Command) => {
      const ctx = context(cmd);
      let size = 0;
      if (file !== "-") {
        try {
          size = statSync(file).size;
        } catch (err) {
          throw usage(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
        }
      }
      const bar = progressBar(ctx.progress && size > 0, `importing ${file} [{bar}] {percentage}% of ${size} bytes`, size);
      let sent = 0;
      const source = file === "-" ? process.stdin : createReadStream(file);
      source.on("data", (chunk: Buffer | string) => {
        sent += chunk.length;
        bar.update(sent);
      });
      try {
        const body = Readable.toWeb(source) as unknown as ReadableStream<Uint8Array>;
        const r = await ctx.api.json<Record<string, unknown>>("POST", `/zones/${seg(name)}/import`, { body, contentType: "text/dns", query: { dryRun: opts.dryRun ? "true" : undefined } });
        bar.stop();
        if (ctx.out.json) printJson(ctx.out, r);
        else ctx.out.stdout(fields(Object.entries(r ?? {})));
      } finally {
        bar.stop();
      }
    });

  addVerify(zone, context);

}
