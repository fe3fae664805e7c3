/**
 * @module Plays every folder of test/cases/: each is an interop fault a real primary once caused, replayed
 * by a scripted primary (transfer-service/testing/scripted-primary.ts) against the real transfer-service
 * in-process, storing into the in-memory Worker. The README says what a folder holds.
 *
 * For each case: parse `primary.script`, start it on a free loopback port, add the zone to a fresh
 * `MemoryWorker` (with the faults `secondary.json` asks for), start the service, and wait, bounded by
 * `expect.json`'s `withinS`, until everything `expect.json` says holds and the script was played to the
 * end, or until a query arrives that no rule fits. A failure lists each expectation still unmet beside
 * what was seen, the primary's transcript and the transfer log.
 */
import { readdirSync, readFileSync, existsSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { ResourceRecord } from "../../dns/message.ts";
import { MemoryWorker } from "../../transfer-service/testing/memory-worker.ts";
import { parseScript, startScriptedPrimary, type Script, type ScriptedPrimary } from "../../transfer-service/testing/scripted-primary.ts";
import { startServiceUnderTest, type ServiceUnderTest } from "../transfer/service-under-test.ts";

const CASES = path.dirname(new URL(import.meta.url).pathname);

/** `secondary.json`: how the service and its Worker are set up for the case. */
interface Secondary {
  /** The zone's TSIG key: a `key` of the script, by name. */
  key?: string;
  /** Extra `BACKSTOP_*` settings for the service. */
  env?: Record<string, string>;
  worker?: {
    /** Calls of the Worker API that fail as if the Worker were unreachable: `"report #2"` is the second report. */
    fail?: string[];
    /** Holds the first chunk of a transfer's records until a line of the primary's transcript matches this. */
    holdIngestUntil?: string;
    /** The D1 size (octets) each full ingest reports when it begins, in order; the last one repeats. */
    dbBytes?: number[];
  };
  /** The zone's own transfer limits, as the API sets them. */
  limits?: { maxRecords?: number | null; maxBytes?: number | null };
}

/** `expect.json`: the outcome. Every field is optional; all given must hold at once. */
interface Expected {
  /** The zone's status in the Worker. */
  status?: string;
  /** The served serial (null: nothing served). */
  serial?: number | null;
  /** The served records equal this version of the script. */
  served?: string;
  /** The transfer log, an entry a line: `kind result`, or `kind result: <regex the error matches>`. */
  log?: string[];
  /** A regex the last stored report's statusDetail matches. */
  detail?: string;
  /**
   * The first reports the Worker stored, in order: status, a regex for the detail, and `retryAfterS`, the
   * time from the start of the attempt to the next one it asked for (bracketed by when the attempt could
   * have started and when its report was seen, so a slow machine cannot fail it).
   */
  reports?: Array<{ status?: string; detail?: string; retryAfterS?: number }>;
  /** Regexes that lines of the primary's transcript must match, each by some line. */
  primary?: string[];
  /** How long the case may take to reach all this (default 20 s). */
  withinS?: number;
}

/** The in-memory Worker with the case's faults. */
class CaseWorker extends MemoryWorker {
  private readonly calls = new Map<string, number>();
  /** `secondary.json`'s `worker.dbBytes`. */
  reportedSizes: number[] = [];

  override beginIngest(...args: Parameters<MemoryWorker["beginIngest"]>): ReturnType<MemoryWorker["beginIngest"]> {
    if (this.reportedSizes.length > 0) this.dbBytes = this.reportedSizes.length > 1 ? this.reportedSizes.shift() : this.reportedSizes[0];
    return super.beginIngest(...args);
  }

  constructor(failures: string[]) {
    super();
    const failing = new Set(failures);
    for (const method of ["zones", "acquireLease", "renewLease", "releaseLease", "report", "reportRefreshing", "logTransfer", "beginIngest"] as const) {
      const original = this[method].bind(this) as (...args: unknown[]) => Promise<unknown>;
      (this as unknown as Record<string, unknown>)[method] = async (...args: unknown[]) => {
        const n = (this.calls.get(method) ?? 0) + 1;
        this.calls.set(method, n);
        if (failing.has(`${method} #${n}`)) throw new Error(`the Worker is unreachable (case fault: ${method} #${n})`);
        return original(...args);
      };
    }
  }
}

const json = <T>(file: string, fallback: T): T => (existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as T) : fallback);
/** A record's identity in a zone: owner (case-folded), type and RDATA; TTLs too, since a transfer carries them. */
const recordKey = (rr: ResourceRecord) => `${rr.name.key} ${rr.type} ${rr.ttl} ${Buffer.from(rr.rdata).toString("hex")}`;

const folders = readdirSync(CASES, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(path.join(CASES, d.name, "primary.script")))
  .map((d) => d.name)
  .sort();

describe("interop cases (test/cases/<slug>)", () => {
  it("finds the cases", () => {
    expect(folders.length).toBeGreaterThan(0);
  });

  it.each(folders)("%s", async (slug) => {
    const dir = path.join(CASES, slug);
    const script = parseScript(readFileSync(path.join(dir, "primary.script"), "utf8"), (f) => readFileSync(path.join(dir, f), "utf8"), `${slug}/primary.script`);
    const secondary = json<Secondary>(path.join(dir, "secondary.json"), {});
    const expected = json<Expected>(path.join(dir, "expect.json"), {});
    await play(slug, script, secondary, expected);
  }, 60_000);
});

async function play(slug: string, script: Script, secondary: Secondary, expected: Expected): Promise<void> {
  const zone = script.zone.toString().slice(0, -1).toLowerCase();
  const worker = new CaseWorker(secondary.worker?.fail ?? []);
  let primary: ScriptedPrimary | undefined;
  let sut: ServiceUnderTest | undefined;
  try {
    primary = await startScriptedPrimary(script);
    const key = secondary.key === undefined ? undefined : script.keys.find((k) => k.name === secondary.key);
    if (secondary.key !== undefined && !key) throw new Error(`${slug}: secondary.json names key ${secondary.key}, which the script does not declare`);
    worker.addZone({
      name: zone,
      model: "secondary",
      primaries: [{ address: primary.address, port: primary.port }],
      tsigKey: key?.name ?? null,
      keys: key ? [key] : [],
      notifyAllow: [],
      limits: { maxRecords: secondary.limits?.maxRecords ?? null, maxBytes: secondary.limits?.maxBytes ?? null },
    });
    worker.reportedSizes = [...(secondary.worker?.dbBytes ?? [])];
    const hold = secondary.worker?.holdIngestUntil;
    if (hold !== undefined) {
      let held = false;
      const p = primary;
      worker.ingestHook = async (_zone, step) => {
        if (step !== "records" || held) return;
        held = true;
        await p.waitFor(new RegExp(hold), 30_000).catch(() => undefined);
      };
    }

    const startedAt = Date.now();
    // A generous SOA timeout: a loaded machine's answer must not pass for silence (the two cases about a
    // silent primary set their own, short one in secondary.json).
    sut = await startServiceUnderTest(worker, { instanceId: `case-${slug}`, env: { BACKSTOP_SOA_TIMEOUT_MS: "5000", ...secondary.env } });
    primary.notifyTo = { address: "127.0.0.1", port: sut.dnsPort };

    const seenAt: number[] = [];
    const want = expected.served === undefined ? undefined : new Set((script.versions.get(expected.served) ?? []).map(recordKey));
    const unmet = (): string[] => {
      const out: string[] = [];
      const config = worker.config(zone);
      const reports = worker.reports(zone);
      const now = Date.now();
      while (seenAt.length < reports.length) seenAt.push(now);
      const log = worker.log.filter((e) => e.zone === zone).map((e) => `${e.kind} ${e.result}${e.error === undefined ? "" : `: ${e.error}`}`);
      if (expected.status !== undefined && config.status !== expected.status) out.push(`status: want ${expected.status}, have ${config.status}`);
      if (expected.serial !== undefined && config.serial !== expected.serial) out.push(`serial: want ${expected.serial}, have ${config.serial}`);
      if (want !== undefined) {
        // Counted first: comparing a big zone record by record is only worth it once the sizes agree.
        const have = worker.records(zone);
        if (have.length !== want.size || !have.every((rr) => want.has(recordKey(rr)))) {
          out.push(`served: want version ${expected.served} (${want.size} records), have ${have.length} records${have.length === want.size ? " that differ" : ""}`);
        }
      }
      if (expected.log !== undefined) {
        const ok =
          log.length === expected.log.length &&
          expected.log.every((line, i) => {
            const [head, ...rest] = line.split(": ");
            const have = log[i]!;
            if (rest.length === 0) return have === head || have.startsWith(`${head}: `);
            return have.startsWith(`${head}: `) && new RegExp(rest.join(": ")).test(have.slice(head!.length + 2));
          });
        if (!ok) out.push(`log: want ${JSON.stringify(expected.log)}, have ${JSON.stringify(log)}`);
      }
      if (expected.detail !== undefined) {
        const detail = reports.at(-1)?.statusDetail;
        if (detail === undefined || !new RegExp(expected.detail).test(detail)) out.push(`detail: want /${expected.detail}/, have ${JSON.stringify(detail)}`);
      }
      (expected.reports ?? []).forEach((want, i) => {
        const have = reports[i];
        if (!have) return void out.push(`report ${i + 1}: not stored yet (${reports.length} so far)`);
        if (want.status !== undefined && have.status !== want.status) out.push(`report ${i + 1}: want status ${want.status}, have ${have.status}`);
        if (want.detail !== undefined && !new RegExp(want.detail).test(have.statusDetail)) out.push(`report ${i + 1}: want detail /${want.detail}/, have ${JSON.stringify(have.statusDetail)}`);
        if (want.retryAfterS !== undefined) {
          // The attempt began no earlier than the case (first) or the time the previous report asked for.
          const earliest = i === 0 ? startedAt : reports[i - 1]!.nextRefreshAt;
          const ms = want.retryAfterS * 1000;
          if (have.nextRefreshAt < earliest + ms || have.nextRefreshAt > seenAt[i]! + ms) {
            out.push(`report ${i + 1}: want the next attempt ${want.retryAfterS} s after this one began, have it ${((have.nextRefreshAt - earliest) / 1000).toFixed(1)} s after the earliest start`);
          }
        }
      });
      for (const pattern of expected.primary ?? []) {
        if (!primary!.transcript.some((l) => new RegExp(pattern).test(l))) out.push(`primary: no transcript line matches /${pattern}/`);
      }
      const unplayed = primary!.unplayed();
      if (unplayed.length > 0) out.push(`script: rules not played yet: ${unplayed.join("; ")}`);
      return out;
    };

    const deadline = Date.now() + (expected.withinS ?? 20) * 1000;
    let left = unmet();
    // A query no rule fits means the exchange has left the script: no point waiting for the rest.
    while (left.length > 0 && Date.now() < deadline && primary.unexpected().length === 0) {
      await new Promise((r) => setTimeout(r, 50));
      left = unmet();
    }
    const context = `\nprimary transcript:\n  ${primary.transcript.join("\n  ")}\ntransfer log:\n  ${worker.log
      .map((e) => `${e.kind} ${e.result}${e.error ? `: ${e.error}` : ""}`)
      .join("\n  ")}`;
    expect(primary.unexpected(), `${slug}: queries no rule of the script fits${context}`).toEqual([]);
    expect(left, `${slug}: not reached within ${expected.withinS ?? 20} s${context}`).toEqual([]);
  } finally {
    await sut?.stop();
    await primary?.stop();
  }
}
