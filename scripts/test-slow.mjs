#!/usr/bin/env node
/**
 * @module `npm run test:slow`: the whole of `npm test` on about half a core, to prove that no test
 * depends on the machine's speed (issue 16). Everything runs pinned to one core (`taskset -c 0`, which
 * every child inherits: vitest's workers, workerd, the DNS peers), and a busy process competes for that
 * same core the whole time, so the suite gets about half of it.
 *
 * The competitor is bounded: it stops when the suite ends, when this script dies (it watches its parent),
 * and after `BACKSTOP_SLOW_MAX_MIN` minutes (default 90) in any case.
 * Arguments after `--` go to `npm test` (`npm run test:slow -- test/port53`).
 */
import { spawn, spawnSync } from "node:child_process";

const CORE = process.env.BACKSTOP_SLOW_CORE ?? "0";
const MAX_MIN = Number(process.env.BACKSTOP_SLOW_MAX_MIN ?? 90);

if (spawnSync("taskset", ["-c", CORE, "true"]).status !== 0) {
  console.error("test:slow needs taskset (Debian package util-linux) and a core numbered " + CORE);
  process.exit(1);
}

// Busy-loops in slices of 50 ms, checking between slices that its parent is alive and the bound is not past.
const competitorSource = `
const parent = process.ppid, until = Date.now() + ${MAX_MIN} * 60_000;
let x = 0;
for (;;) {
  const slice = Date.now() + 50;
  while (Date.now() < slice) x = (x * 1103515245 + 12345) >>> 0;
  if (Date.now() > until || process.ppid !== parent) process.exit(0);
}`;
const competitor = spawn("taskset", ["-c", CORE, process.execPath, "-e", competitorSource], { stdio: "ignore" });

const started = Date.now();
const args = process.argv.slice(2);
const suite = spawn("taskset", ["-c", CORE, "npm", "test", ...(args.length ? ["--", ...args] : [])], { stdio: "inherit" });
const stop = () => competitor.kill("SIGKILL");
for (const sig of /** @type {const} */ (["SIGINT", "SIGTERM"])) process.on(sig, () => { suite.kill(sig); stop(); });
suite.on("exit", (code, signal) => {
  stop();
  console.log(`test:slow: npm test on core ${CORE} beside a busy competitor: exit ${code ?? signal} after ${Math.round((Date.now() - started) / 1000)} s`);
  process.exit(code ?? 1);
});
