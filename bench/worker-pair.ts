/**
 * @module Backstop's Worker and a trivial Worker in ONE workerd process, so DoH load on each is served by
 * the same runtime, threads and allocator, and workerd's CPU time (from /proc) can be split by round.
 *
 * How: wrangler bundles the Worker exactly as for a deploy (`wrangler deploy --dry-run --outdir`), and
 * Miniflare (the library under `wrangler dev`) runs both scripts in one workerd with a direct socket per
 * Worker (`unsafeDirectSockets`), so neither pays for Miniflare's entry router or wrangler's dev proxy.
 * D1 and KV are real local ones (SQLite under a temp dir), the D1 schema applied with
 * `wrangler d1 migrations apply --local` to the same persist dir, as `npm start` does.
 *
 * The trivial Worker answers every request with one fixed DoH message (an A answer for
 * `fixed.bench.`, of the size Backstop answers a hot A query with): the floor of what a DoH answer costs
 * on this workerd.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Readable } from "node:stream";
import { Miniflare } from "miniflare";
import { descendantsNamed } from "./proc.ts";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const wrangler = path.join(root, "node_modules/.bin/wrangler");
/** The ids in wrangler.toml: locally they only name the SQLite files, and the migrations look them up. */
const D1_ID = "00000000-0000-0000-0000-000000000000";
const KV_ID = "00000000000000000000000000000000";

/** `fixed.bench. 300 IN A 192.0.2.1`, id 0, QR AA RD: 45 octets, like a hot A answer. */
const FIXED_ANSWER = [
  0, 0, 0x85, 0, 0, 1, 0, 1, 0, 0, 0, 0, 5, ...Buffer.from("fixed"), 5, ...Buffer.from("bench"), 0, 0, 1, 0, 1,
  0xc0, 12, 0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 192, 0, 2, 1,
];
const TRIVIAL_SCRIPT = `
const body = new Uint8Array(${JSON.stringify(FIXED_ANSWER)});
export default {
  fetch() {
    return new Response(body, { headers: { "content-type": "application/dns-message", "cache-control": "max-age=300" } });
  },
};`;

export interface WorkerPairOptions {
  adminToken: string;
  internalToken: string;
  /** Where the Worker pushes refresh signals (the transfer-service's control listener). */
  serviceControlUrl: string;
  /** Open workerd's inspector (for CPU profiles of the Worker). */
  inspector?: boolean;
}

export interface WorkerPair {
  /** Backstop's Worker, `http://127.0.0.1:PORT`. */
  backstop: string;
  /** The trivial Worker on the same workerd. */
  trivial: string;
  /** workerd's pid, for /proc CPU and RSS. */
  workerdPid: number;
  /** workerd's inspector (`ws://…`), when asked for. */
  inspector?: URL;
  /** The tail of what workerd printed (Worker logs, uncaught errors), kept off the bench's console. */
  runtimeOutput(): string;
  /** How many requests workerd cancelled as hung ("…detected that your Worker's code had hung…") so far. */
  hungRequests(): number;
  /**
   * One row from Backstop's D1, read from Node through Miniflare's binding: past the Worker, so no
   * request reaches Backstop's isolate (a management-API call would drop its cached zone pointers and
   * make the very answer path being measured fresher than it is).
   */
  d1First<T>(sql: string, ...params: unknown[]): Promise<T | null>;
  stop(): Promise<void>;
}

function runOk(args: string[], env: NodeJS.ProcessEnv): void {
  const r = spawnSync(wrangler, args, { cwd: root, env, encoding: "utf8", timeout: 180_000 });
  if (r.status !== 0) throw new Error(`wrangler ${args.join(" ")} failed: ${r.stdout}${r.stderr}`);
}

export async function startWorkerPair(options: WorkerPairOptions): Promise<WorkerPair> {
  const dir = await mkdtemp(path.join(tmpdir(), "backstop-bench-worker-"));
  const env = { ...process.env, CI: "1" };
  let mf: Miniflare | undefined;
  let output = "";
  let hung = 0;
  const keep = (chunk: Buffer | string) => {
    const text = String(chunk);
    hung += text.split("code had hung").length - 1;
    output = (output + text).slice(-20_000);
  };
  try {
    const out = path.join(dir, "bundle");
    const persist = path.join(dir, "state");
    runOk(["deploy", "--dry-run", "--outdir", out], env);
    runOk(["d1", "migrations", "apply", "DB", "--local", "--persist-to", persist], env);
    mf = new Miniflare({
      host: "127.0.0.1",
      port: 0,
      ...(options.inspector ? { inspectorPort: 0 } : {}),
      handleRuntimeStdio(stdout: Readable, stderr: Readable) {
        stdout.on("data", keep);
        stderr.on("data", keep);
      },
      d1Persist: path.join(persist, "v3", "d1"),
      kvPersist: path.join(persist, "v3", "kv"),
      workers: [
        {
          name: "backstop",
          // The bundle as one module, listed rather than walked: wrangler leaves the optional validators of
          // hono-openapi's standard-json (`import("effect")`, `import("sury")`, …) as dynamic imports that
          // nothing resolves, and Miniflare's module walk refuses them; workerd only resolves a dynamic import
          // when it runs, and ours never run (zod is the only validator).
          modulesRoot: out,
          modules: [{ type: "ESModule", path: path.join(out, "index.js") }],
          compatibilityDate: "2026-04-26",
          compatibilityFlags: ["nodejs_compat"],
          d1Databases: { DB: D1_ID },
          kvNamespaces: { ZONE_CACHE: KV_ID },
          bindings: {
            ADMIN_TOKEN: options.adminToken,
            INTERNAL_TOKEN: options.internalToken,
            TSIG_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
            SERVICE_CONTROL_URLS: options.serviceControlUrl,
          },
          unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
        },
        {
          name: "trivial",
          modules: true,
          script: TRIVIAL_SCRIPT,
          compatibilityDate: "2026-04-26",
          unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
        },
      ],
    });
    await mf.ready;
    const backstop = (await mf.unsafeGetDirectURL("backstop")).origin;
    const trivial = (await mf.unsafeGetDirectURL("trivial")).origin;
    const [workerdPid] = descendantsNamed(process.pid, "workerd");
    if (workerdPid === undefined) throw new Error("no workerd process under this one");
    const health = await fetch(`${backstop}/healthz`);
    if (!health.ok) throw new Error(`Backstop's /healthz answered ${health.status}: ${await health.text()}`);
    const running = mf;
    const inspector = options.inspector ? await mf.getInspectorURL() : undefined;
    return {
      backstop,
      trivial,
      workerdPid,
      ...(inspector ? { inspector } : {}),
      runtimeOutput: () => output,
      async d1First<T>(sql: string, ...params: unknown[]) {
        const db = await running.getD1Database("DB", "backstop");
        return (await db.prepare(sql).bind(...params).first()) as T | null;
      },
      hungRequests: () => hung,
      async stop() {
        await running.dispose();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await mf?.dispose().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
