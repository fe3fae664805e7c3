/**
 * @module Where the time goes: V8 CPU profiles of both halves of Backstop, and a short summary of them.
 *
 * - The transfer-service runs under `node --cpu-prof` (`backstop-stack.ts`), which writes a
 *   `.cpuprofile` when it exits.
 * - The Worker is profiled through workerd's inspector (the Chrome DevTools Protocol, as DevTools
 *   does under `wrangler dev`): `Profiler.start` / `Profiler.stop` around one benchmark step.
 *
 * Both are standard `.cpuprofile` files (open them in Chrome DevTools or speedscope); `summarise` gives
 * the functions with the most self time, so the report can say where a missed target's time went.
 * Local D1 runs in workerd too, but as native SQLite behind another isolate: a Worker waiting on D1 shows
 * as idle here, and only workerd's /proc CPU time counts it.
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { WebSocket } from "undici";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  totalMs: number;
  /** Sampled time not in JavaScript: idle (waiting on I/O), GC and "(program)" listed apart. */
  idleMs: number;
  /** Functions by self time, each with the caller that spent most of it. */
  top: Array<{ fn: string; selfMs: number; caller?: string }>;
}

const frameName = (frame: ProfileNode["callFrame"]) =>
  `${frame.functionName || "(anonymous)"}${frame.url ? ` ${frame.url.split("/").slice(-2).join("/")}:${frame.lineNumber + 1}` : ""}`;

export function summarise(profile: CpuProfile, count = 12): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<string, number>();
  const callers = new Map<string, Map<string, number>>();
  let total = 0;
  let idle = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    total += us;
    const frame = byId.get(id)?.callFrame;
    if (!frame || frame.functionName === "(idle)") {
      idle += us;
      return;
    }
    const key = frameName(frame);
    self.set(key, (self.get(key) ?? 0) + us);
    const up = byId.get(parent.get(id) ?? -1)?.callFrame;
    if (up) {
      const m = callers.get(key) ?? new Map<string, number>();
      m.set(frameName(up), (m.get(frameName(up)) ?? 0) + us);
      callers.set(key, m);
    }
  });
  const top = [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([fn, us]) => {
      const caller = [...(callers.get(fn) ?? new Map<string, number>()).entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
      return { fn, selfMs: Math.round(us / 100) / 10, ...(caller ? { caller } : {}) };
    });
  return { totalMs: Math.round(total / 1000), idleMs: Math.round(idle / 1000), top };
}

export function describeSummary(s: ProfileSummary): string {
  const busy = s.totalMs - s.idleMs;
  return [
    `${s.totalMs} ms sampled, ${busy} ms busy (${s.idleMs} ms idle); most self time:`,
    ...s.top.map((t) => `    ${t.selfMs.toFixed(1).padStart(8)} ms  ${t.fn}${t.caller ? `  ← ${t.caller}` : ""}`),
  ].join("\n");
}

/** The `.cpuprofile` files `node --cpu-prof` left in `dir`, summarised. */
export async function summariseDir(dir: string): Promise<Array<{ file: string; summary: ProfileSummary }>> {
  const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith(".cpuprofile") && f.startsWith("CPU."));
  const out: Array<{ file: string; summary: ProfileSummary }> = [];
  for (const file of files) out.push({ file, summary: summarise(JSON.parse(await readFile(path.join(dir, file), "utf8")) as CpuProfile) });
  return out;
}

/** A running CDP profile of one Worker; `stop()` returns the profile. */
export interface WorkerProfiler {
  stop(): Promise<CpuProfile>;
}

/**
 * Starts V8's sampling profiler in the isolate of Worker `name` through workerd's inspector at
 * `inspector` (`ws://127.0.0.1:PORT`). Every CDP call is bounded by 10 s.
 */
export async function profileWorker(inspector: URL, name: string): Promise<WorkerProfiler> {
  const targets = (await (await fetch(new URL("/json", inspector.href.replace(/^ws/, "http")))).json()) as Array<{ id: string; webSocketDebuggerUrl: string }>;
  const target = targets.find((t) => t.id === `core:user:${name}`);
  if (!target) throw new Error(`workerd's inspector lists no Worker ${name} (has ${targets.map((t) => t.id).join(", ")})`);
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener("open", () => resolve());
    ws.addEventListener("error", () => reject(new Error(`cannot connect to ${target.webSocketDebuggerUrl}`)));
  });
  let next = 0;
  const pending = new Map<number, (m: { result?: unknown; error?: { message: string } }) => void>();
  ws.addEventListener("message", (e) => {
    const m = JSON.parse(String(e.data)) as { id?: number; result?: unknown; error?: { message: string } };
    if (m.id !== undefined) pending.get(m.id)?.(m);
  });
  const call = (method: string, params: object = {}): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const id = ++next;
      const timer = setTimeout(() => reject(new Error(`${method}: no reply from workerd's inspector in 10 s`)), 10_000);
      pending.set(id, (m) => {
        clearTimeout(timer);
        pending.delete(id);
        if (m.error) reject(new Error(`${method}: ${m.error.message}`));
        else resolve(m.result);
      });
      ws.send(JSON.stringify({ id, method, params }));
    });
  await call("Profiler.enable");
  await call("Profiler.setSamplingInterval", { interval: 200 });
  await call("Profiler.start");
  return {
    async stop() {
      try {
        const result = (await call("Profiler.stop")) as { profile: CpuProfile };
        return result.profile;
      } finally {
        ws.close();
      }
    },
  };
}
