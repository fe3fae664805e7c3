/**
 * @module NSD 4.6 as a real primary on loopback, run with `-d` (foreground). NSD forks a server process
 * and xfrd; the daemon helper signals the whole process group, so none outlives the test.
 *
 * NSD 4.6 has no IXFR-out from zone-file differences (`create-ixfr` came in 4.7): an IXFR query is
 * answered with the whole zone, AXFR-style, which RFC 1995 §4 allows. `database: ""` keeps the zones in
 * memory (no nsd.db), and nsd-control talks over a unix socket in the peer dir, so no TLS keys and no
 * shared port are needed.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { launchPeer, type PeerRecipe } from "./launch.ts";
import { runToolOk } from "./run-tool.ts";
import type { PeerHandle, PeerOptions } from "./types.ts";
import { absolute, bare, notifyTarget, transferKeyOf, zoneFileName } from "./zone-spec.ts";

const q = (s: string) => JSON.stringify(s);

/** nsd.conf for `opts` on `port`. */
export function nsdConfig(opts: PeerOptions, dir: string, port: number): string {
  const out: string[] = [
    "server:",
    `  ip-address: 127.0.0.1@${port}`,
    `  port: ${port}`,
    "  do-ip6: no",
    `  zonesdir: ${q(dir)}`,
    `  pidfile: ${q(path.join(dir, "nsd.pid"))}`,
    '  database: ""',
    `  xfrdfile: ${q(path.join(dir, "xfrd.state"))}`,
    `  xfrdir: ${q(dir)}`,
    `  zonelistfile: ${q(path.join(dir, "zone.list"))}`,
    '  username: ""',
    '  chroot: ""',
    "  server-count: 1",
    "  verbosity: 2",
    "  zonefiles-write: 0",
    "remote-control:",
    "  control-enable: yes",
    `  control-interface: ${q(path.join(dir, "nsd.sock"))}`,
  ];
  for (const k of opts.keys ?? []) {
    out.push("key:", `  name: ${q(bare(k.name))}`, `  algorithm: ${k.algorithm}`, `  secret: ${q(k.secret)}`);
  }
  for (const zone of opts.zones) {
    if (zone.secondaryOf) {
      // A secondary: transfers from `secondaryOf` (IXFR first, as xfrd does), signed with its key; takes
      // its NOTIFY; lets loopback read the copy back. Kept in memory (`database: ""`), no zone file written.
      const from = zone.secondaryOf;
      const fromKey = from.key === undefined ? undefined : transferKeyOf(opts, { ...zone, transferKey: from.key });
      const keyName = fromKey ? bare(fromKey.name) : "NOKEY";
      out.push(
        "zone:",
        `  name: ${q(absolute(zone.name))}`,
        `  request-xfr: ${from.address}@${from.port} ${keyName}`,
        `  allow-notify: ${from.address} ${keyName}`,
        "  provide-xfr: 127.0.0.1 NOKEY",
      );
      continue;
    }
    const key = transferKeyOf(opts, zone);
    out.push("zone:", `  name: ${q(absolute(zone.name))}`, `  zonefile: ${q(zoneFileName(zone.name))}`);
    if (key) {
      // NSD's ACL needs an address: any address, but only with the key.
      out.push(`  provide-xfr: 0.0.0.0/0 ${bare(key.name)}`, `  provide-xfr: ::0/0 ${bare(key.name)}`);
    } else {
      out.push("  provide-xfr: 127.0.0.1 NOKEY", "  provide-xfr: ::1 NOKEY");
    }
    for (const t of zone.notify ?? []) {
      const { address, port: p } = notifyTarget(t);
      out.push(`  notify: ${address}@${p} ${zone.signNotify && key ? bare(key.name) : "NOKEY"}`);
    }
  }
  return `${out.join("\n")}\n`;
}

export function nsdRecipe(opts: PeerOptions): PeerRecipe {
  const control = (dir: string, ...args: string[]) =>
    runToolOk("nsd-control", ["-c", path.join(dir, "nsd.conf"), ...args], { timeoutMs: 15_000 });
  return {
    kind: "nsd",
    async prepare(dir, port) {
      await writeFile(path.join(dir, "nsd.conf"), nsdConfig(opts, dir, port));
    },
    command: (dir) => ({ command: "nsd", args: ["-d", "-c", path.join(dir, "nsd.conf")] }),
    reload: async (dir) => {
      await control(dir, "reconfig");
      await control(dir, "reload");
    },
    loadZone: async (dir, zone) => {
      await control(dir, "reload", absolute(zone.name));
    },
    // NSD keeps no zone history; xfrd.state only remembers transfers NSD made as a secondary.
    forget: async () => {},
    refusesOlderSerial: false,
  };
}

/** Start nsd serving `opts.zones` on a free loopback port. */
export function startNsd(opts: PeerOptions): Promise<PeerHandle> {
  return launchPeer(nsdRecipe(opts), opts);
}
