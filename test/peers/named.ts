/**
 * @module BIND 9 (named 9.18) as a real primary on loopback, run with `-g` (foreground, log to stderr).
 *
 * `ixfr-from-differences yes` makes named compare each reloaded zone file with the zone it served and
 * keep the difference in its journal, so a rewritten file is served as IXFR (RFC 1995).
 * `notify explicit` sends NOTIFY only to the targets we list, never to the zone's NS names, and
 * `notify-delay 0` sends it at once. rndc talks to named over a control channel on a second free port
 * with a generated key; without `controls`, named would try the system-wide 127.0.0.1#953 and parallel
 * tests would fight over it.
 */
import { randomBytes } from "node:crypto";
import { rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { launchPeer, type PeerRecipe } from "./launch.ts";
import { freePort } from "./ports.ts";
import { runToolOk } from "./run-tool.ts";
import type { PeerHandle, PeerOptions } from "./types.ts";
import { bare, notifyTarget, transferKeyOf, zoneFileName } from "./zone-spec.ts";

const q = (s: string) => JSON.stringify(s);
const RNDC_KEY = "backstop-rndc";

/** named.conf for `opts` on `port`, with rndc on `controlPort`. */
export function namedConfig(opts: PeerOptions, dir: string, port: number, controlPort: number, rndcSecret: string): string {
  const out: string[] = [
    "options {",
    `  directory ${q(dir)};`,
    `  pid-file ${q(path.join(dir, "named.pid"))};`,
    `  session-keyfile ${q(path.join(dir, "session.key"))};`,
    `  managed-keys-directory ${q(dir)};`,
    `  listen-on port ${port} { 127.0.0.1; };`,
    "  listen-on-v6 { none; };",
    "  recursion no;",
    "  dnssec-validation no;",
    "  allow-transfer { none; };",
    "  notify explicit;",
    "  notify-delay 0;",
    "  ixfr-from-differences yes;",
    "};",
    `key ${q(RNDC_KEY)} { algorithm hmac-sha256; secret ${q(rndcSecret)}; };`,
    `controls { inet 127.0.0.1 port ${controlPort} allow { 127.0.0.1; } keys { ${q(RNDC_KEY)}; }; };`,
  ];
  for (const k of opts.keys ?? []) {
    out.push(`key ${q(bare(k.name))} { algorithm ${k.algorithm}; secret ${q(k.secret)}; };`);
  }
  for (const zone of opts.zones) {
    if (zone.secondaryOf) {
      // A secondary: transfers from `secondaryOf` (signed with its key, as a `server` clause says), takes
      // its NOTIFY, and lets loopback read the copy back. The copy is written as raw (named's own format).
      const from = zone.secondaryOf;
      const fromKey = from.key === undefined ? undefined : transferKeyOf(opts, { ...zone, transferKey: from.key });
      if (fromKey) out.push(`server ${from.address} { keys { ${q(bare(fromKey.name))}; }; };`);
      out.push(
        `zone ${q(bare(zone.name) || ".")} {`,
        "  type secondary;",
        `  file ${q(`${zoneFileName(zone.name)}.secondary`)};`,
        `  primaries port ${from.port} { ${from.address}; };`,
        `  allow-notify { ${from.address}; };`,
        "  allow-transfer { 127.0.0.1; ::1; };",
        "};",
      );
      continue;
    }
    const key = transferKeyOf(opts, zone);
    const acl = key ? `key ${q(bare(key.name))};` : "127.0.0.1; ::1;";
    const targets = (zone.notify ?? []).map((t) => {
      const { address, port: p } = notifyTarget(t);
      return `${address} port ${p}${zone.signNotify && key ? ` key ${q(bare(key.name))}` : ""};`;
    });
    out.push(
      `zone ${q(bare(zone.name) || ".")} {`,
      "  type primary;",
      `  file ${q(zoneFileName(zone.name))};`,
      `  allow-transfer { ${acl} };`,
      ...(targets.length ? [`  also-notify { ${targets.join(" ")} };`] : []),
      "};",
    );
  }
  return `${out.join("\n")}\n`;
}

export function namedRecipe(opts: PeerOptions): PeerRecipe {
  const rndcSecret = randomBytes(32).toString("base64");
  const rndc = (dir: string, ...args: string[]) =>
    runToolOk("rndc", ["-c", path.join(dir, "rndc.conf"), ...args], { timeoutMs: 15_000 });
  return {
    kind: "named",
    async prepare(dir, port) {
      const controlPort = await freePort();
      await writeFile(path.join(dir, "named.conf"), namedConfig(opts, dir, port, controlPort, rndcSecret));
      await writeFile(
        path.join(dir, "rndc.conf"),
        `key ${q(RNDC_KEY)} { algorithm hmac-sha256; secret ${q(rndcSecret)}; };\n` +
          `options { default-key ${q(RNDC_KEY)}; default-server 127.0.0.1; default-port ${controlPort}; };\n`,
      );
    },
    // Runs as root here without -u: named keeps root and writes its journals into our dir.
    command: (dir) => ({ command: "named", args: ["-g", "-c", path.join(dir, "named.conf")] }),
    reload: async (dir) => {
      await rndc(dir, "reload");
    },
    loadZone: async (dir, zone) => {
      await rndc(dir, "reload", bare(zone.name) || ".");
    },
    forget: async (dir, zone) => {
      await rm(path.join(dir, `${zoneFileName(zone.name)}.jnl`), { force: true });
    },
    refusesOlderSerial: true,
  };
}

/** Start named serving `opts.zones` on a free loopback port. */
export function startNamed(opts: PeerOptions): Promise<PeerHandle> {
  return launchPeer(namedRecipe(opts), opts);
}
