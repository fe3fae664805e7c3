/**
 * @module The panel's zone list with 1,000 zones (issue 23: "renders in under 300 ms of Worker time"): 1,000
 * zones bulk-created (model `primary`, so no transfer runs meanwhile), one panel session, then `GET /`
 * rendered again and again. Worker time is workerd's own CPU (utime + stime from /proc, as `cpu-per-query.ts`
 * measures it; local D1's SQLite runs in the same process, so its queries count too) divided by the pages
 * rendered; the trivial Worker's CPU for the same number of requests is the peer. Wall time per page beside.
 * The zones are deleted afterwards. A figure, never a timed test.
 */
import type { Benchmark } from "./context.ts";
import { figure } from "./figure.ts";
import { cpuMs } from "./proc.ts";

const ZONES = 1000;
const RENDERS = 20;

async function signIn(base: string, token: string): Promise<string> {
  const login = await fetch(`${base}/login`);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await login.text())?.[1];
  const loginCookie = login.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
  const res = await fetch(`${base}/login`, {
    method: "POST",
    headers: { cookie: loginCookie, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ _csrf: csrf ?? "", token }).toString(),
    redirect: "manual",
  });
  const session = res.headers.getSetCookie().find((c) => c.startsWith("backstop_session="));
  if (res.status !== 303 || !session) throw new Error(`panel sign-in answered ${res.status}`);
  return session.split(";")[0]!;
}

export const panelList: Benchmark = {
  id: "panel",
  title: "the panel's zone list with 1,000 zones: Worker CPU per page",
  async run(ctx) {
    const stack = await ctx.stack();
    const names = Array.from({ length: ZONES }, (_, i) => `panel-bench-${String(i).padStart(4, "0")}.example`);
    await stack.api("POST", "/zones/bulk", { create: names.map((name) => ({ name, model: "primary" })) }, 201);
    try {
      const cookie = await signIn(stack.worker.backstop, stack.adminToken);
      const pid = stack.worker.workerdPid;
      const render = async (base: string, path: string) => {
        const res = await fetch(`${base}${path}`, { headers: { cookie } });
        const body = await res.text();
        // A full page: 100 zone rows. Not a given name: in the default run the zones of earlier rows are listed
        // too, and those that sort before the bench's push its names to later pages.
        const rows = body.match(/href="\/zones\/(?!new")[^"]+"/g)?.length ?? 0;
        if (base === stack.worker.backstop && (res.status !== 200 || rows < 100)) throw new Error(`the zone list answered ${res.status} with ${rows} zone rows`);
      };
      await render(stack.worker.backstop, "/");
      let cpu = cpuMs(pid);
      const started = performance.now();
      for (let i = 0; i < RENDERS; i++) await render(stack.worker.backstop, "/");
      const wallMs = (performance.now() - started) / RENDERS;
      const backstopCpu = (cpuMs(pid) - cpu) / RENDERS;
      cpu = cpuMs(pid);
      for (let i = 0; i < RENDERS; i++) await render(stack.worker.trivial, "/");
      const trivialCpu = (cpuMs(pid) - cpu) / RENDERS;
      ctx.log(`  zone list of ${ZONES} zones (100 a page, totals over all): ${backstopCpu.toFixed(1)} ms workerd CPU per page, ${wallMs.toFixed(1)} ms wall; trivial Worker ${trivialCpu.toFixed(1)} ms`);
      return [
        figure({
          bench: "panel",
          what: `panel zone list, ${ZONES} zones: workerd CPU per page`,
          unit: "ms",
          backstop: backstopCpu,
          peer: trivialCpu,
          peerName: "trivial Worker",
          target: { valueAtMost: 300 },
          note: `${RENDERS} pages, ${wallMs.toFixed(1)} ms wall each; CPU includes local D1 (same process); /proc ticks are 10 ms`,
        }),
      ];
    } finally {
      await stack.api("POST", "/zones/bulk", { delete: names }, 200);
    }
  },
};
