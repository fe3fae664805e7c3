/**
 * @module BIND 9 (named 9.18) as a SECONDARY on loopback, the server Backstop is measured against.
 * test/peers/ runs named as a primary; here it starts with no zones and `allow-new-zones yes`, and each
 * zone is added at run time with `rndc addzone` (type secondary, TSIG to the primary), the way an operator
 * adds a zone without a restart. named accepts the primary's NOTIFY (from the primary's address, signed
 * with the zone's key) and follows it with IXFR; it keeps each zone in a file and journal in its dir.
 */
import { randomBytes } from "node:crypto";
import { rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { lastLines, makePeerDir, startDaemon, type Daemon } from "../test/peers/daemon.ts";
import { freePorts } from "../test/peers/ports.ts";
import { runToolOk } from "../test/peers/run-tool.ts";
import { querySoa } from "../test/peers/soa-probe.ts";
import type { TsigKey } from "../test/peers/types.ts";
import { namedConfig } from "../test/peers/named.ts";
import { bare, zoneFileName } from "../test/peers/zone-spec.ts";
import { waitFor } from "../test/transfer/service-under-test.ts";

const q = (s: string) => JSON.stringify(s);
/** The control key name test/peers/named.ts writes into named.conf. */
const RNDC_KEY = "backstop-rndc";

export interface NamedSecondary {
  port: number;
  pid: number;
  /**
   * `rndc addzone`: `zone` as a secondary of 127.0.0.1:`primaryPort`, transfers signed with `key`. With
   * `alsoNotify` (loopback ports), named NOTIFYs those after every transfer and lets loopback transfer the
   * zone unsigned: named in the middle of a chain (`chain.ts`).
   */
  addZone(zone: string, primaryPort: number, key: TsigKey, alsoNotify?: readonly number[]): Promise<void>;
  output(): string;
  stop(): Promise<void>;
}

/** Starts named with `keys` known (so addzone can name them), answering on a free port. */
export async function startNamedSecondary(keys: TsigKey[]): Promise<NamedSecondary> {
  const dir = await makePeerDir("named-secondary");
  const [port, controlPort] = (await freePorts(2)) as [number, number];
  const rndcSecret = randomBytes(32).toString("base64");
  // test/peers/named.ts's config with no zones of its own (options, rndc control channel, the keys);
  // `allow-new-zones` lets rndc addzone add them. Its `notify explicit` with no also-notify sends none.
  const conf = namedConfig({ zones: [], keys }, dir, port, controlPort, rndcSecret).replace("  recursion no;\n", "  recursion no;\n  allow-new-zones yes;\n");
  if (!conf.includes("allow-new-zones")) throw new Error("named.conf from test/peers/named.ts no longer has the expected options");
  await writeFile(path.join(dir, "named.conf"), conf);
  await writeFile(
    path.join(dir, "rndc.conf"),
    `key ${q(RNDC_KEY)} { algorithm hmac-sha256; secret ${q(rndcSecret)}; };\n` +
      `options { default-key ${q(RNDC_KEY)}; default-server 127.0.0.1; default-port ${controlPort}; };\n`,
  );
  const daemon: Daemon = startDaemon({ name: "named", command: "named", args: ["-g", "-c", path.join(dir, "named.conf")], cwd: dir });
  const stop = async () => {
    await daemon.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    // Up once it answers anything (REFUSED for a zone it does not have) and rndc reaches it.
    await waitFor(
      "named secondary",
      async () => {
        if (!daemon.running) throw new Error(`named exited:\n${lastLines(daemon.output())}`);
        return (await querySoa("127.0.0.1", port, "bench.", 300).catch(() => undefined)) !== undefined;
      },
      20_000,
    );
    await runToolOk("rndc", ["-c", path.join(dir, "rndc.conf"), "status"], { timeoutMs: 10_000 });
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    port,
    pid: daemon.pid,
    async addZone(zone, primaryPort, key, alsoNotify = []) {
      const downstream = alsoNotify.length
        ? ` also-notify { ${alsoNotify.map((p) => `127.0.0.1 port ${p};`).join(" ")} }; allow-transfer { 127.0.0.1; };`
        : "";
      const spec = `{ type secondary; primaries { 127.0.0.1 port ${primaryPort} key ${q(bare(key.name))}; }; file ${q(zoneFileName(zone))};${downstream} };`;
      await runToolOk("rndc", ["-c", path.join(dir, "rndc.conf"), "addzone", bare(zone), spec], { timeoutMs: 15_000 });
    },
    output: () => daemon.output(),
    stop,
  };
}
