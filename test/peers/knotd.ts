/**
 * @module Knot DNS (knotd 3.2) as a real primary on loopback.
 *
 * The zone file is loaded with `zonefile-load: difference` and `journal-content: changes`: when a test
 * rewrites the file with a higher serial, knotd computes the difference, keeps it in its journal and
 * serves it as IXFR (RFC 1995), as an operator's knotd would. A lower serial is refused by knotd (it logs
 * the error and keeps serving the old zone), so serial-regression tests should use named or nsd.
 * `zonefile-sync: -1` keeps knotd from ever writing our zone files back.
 */
import { rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { launchPeer, type PeerRecipe } from "./launch.ts";
import { runToolOk } from "./run-tool.ts";
import type { PeerHandle, PeerOptions, ZoneSpec } from "./types.ts";
import { absolute, notifyTarget, transferKeyOf, zoneFileName } from "./zone-spec.ts";

const q = (s: string) => JSON.stringify(s);

/** knotd's YAML-like config for `opts` on `port`. */
export function knotdConfig(opts: PeerOptions, dir: string, port: number): string {
  const lines: string[] = [
    "server:",
    `    rundir: ${q(dir)}`,
    `    pidfile: ${q(path.join(dir, "knot.pid"))}`,
    `    listen: 127.0.0.1@${port}`,
    "    background-workers: 1",
    "control:",
    `    listen: ${q(path.join(dir, "knot.sock"))}`,
    "log:",
    "  - target: stderr",
    "    any: info",
    "database:",
    `    storage: ${q(dir)}`,
  ];
  if (opts.keys?.length) {
    lines.push("key:");
    for (const k of opts.keys) {
      lines.push(`  - id: ${absolute(k.name)}`, `    algorithm: ${k.algorithm}`, `    secret: ${k.secret}`);
    }
  }
  const remotes: string[] = [];
  const acls: string[] = [];
  const zones: string[] = [];
  opts.zones.forEach((zone: ZoneSpec, i) => {
    if (zone.secondaryOf) {
      // A secondary: transfers from `secondaryOf`, signed with its key, and takes NOTIFY from it.
      const from = zone.secondaryOf;
      const fromKey = from.key === undefined ? undefined : transferKeyOf(opts, { ...zone, transferKey: from.key });
      remotes.push(`  - id: primary${i}`, `    address: ${from.address}@${from.port}`);
      if (fromKey) remotes.push(`    key: ${absolute(fromKey.name)}`);
      acls.push(`  - id: notify${i}`, "    action: notify", `    address: [${from.address}]`);
      if (fromKey) acls.push(`    key: ${absolute(fromKey.name)}`);
      // Tests read the secondary's copy back with an unsigned AXFR from loopback.
      acls.push(`  - id: xfr${i}`, "    action: transfer", "    address: [127.0.0.1, ::1]");
      zones.push(`  - domain: ${absolute(zone.name)}`, `    master: [primary${i}]`, `    acl: [notify${i}, xfr${i}]`, "    journal-content: all");
      return;
    }
    const key = transferKeyOf(opts, zone);
    // RFC 5936 §6: the ACL is the operator's choice; ours is "this key from anywhere" or "loopback, unsigned".
    acls.push(`  - id: xfr${i}`, "    action: transfer");
    if (key) acls.push(`    key: ${absolute(key.name)}`);
    else acls.push("    address: [127.0.0.1, ::1]");
    const notifyIds = (zone.notify ?? []).map((t, j) => {
      const { address, port: p } = notifyTarget(t);
      const id = `notify${i}_${j}`;
      remotes.push(`  - id: ${id}`, `    address: ${address}@${p}`);
      if (zone.signNotify && key) remotes.push(`    key: ${absolute(key.name)}`);
      return id;
    });
    zones.push(`  - domain: ${absolute(zone.name)}`);
    // A generated catalog has no file of ours: knotd writes it from its members (RFC 9432).
    if (zone.catalog?.role !== "generate") zones.push(`    file: ${q(path.join(dir, zoneFileName(zone.name)))}`);
    zones.push(`    acl: [xfr${i}]`);
    if (notifyIds.length) zones.push(`    notify: [${notifyIds.join(", ")}]`);
    if (zone.catalog?.role === "generate") zones.push("    catalog-role: generate");
    if (zone.catalog?.role === "member") {
      zones.push("    catalog-role: member", `    catalog-zone: ${absolute(zone.catalog.zone)}`);
      if (zone.catalog.group) zones.push(`    catalog-group: ${zone.catalog.group}`);
    }
  });
  if (remotes.length) lines.push("remote:", ...remotes);
  lines.push("acl:", ...acls);
  lines.push(
    "template:",
    "  - id: default",
    `    storage: ${q(dir)}`,
    "    zonefile-sync: -1",
    "    zonefile-load: difference",
    "    journal-content: changes",
    "    semantic-checks: off",
  );
  lines.push("zone:", ...zones);
  return `${lines.join("\n")}\n`;
}

const knotc = (dir: string, ...args: string[]) =>
  runToolOk("knotc", ["-c", path.join(dir, "knot.conf"), "-t", "10", ...args], { timeoutMs: 15_000 });

export function knotdRecipe(opts: PeerOptions): PeerRecipe {
  return {
    kind: "knotd",
    async prepare(dir, port) {
      await writeFile(path.join(dir, "knot.conf"), knotdConfig(opts, dir, port));
    },
    command: (dir) => ({ command: "knotd", args: ["-c", path.join(dir, "knot.conf")] }),
    reload: async (dir) => {
      await knotc(dir, "reload");
    },
    loadZone: async (dir, zone) => {
      await knotc(dir, "zone-reload", absolute(zone.name));
    },
    // The journal (and timers) of every zone live in LMDB databases under the storage dir.
    forget: async (dir) => {
      await rm(path.join(dir, "journal"), { recursive: true, force: true });
      await rm(path.join(dir, "timers"), { recursive: true, force: true });
    },
    refusesOlderSerial: true,
  };
}

/** Start knotd serving `opts.zones` on a free loopback port. */
export function startKnotd(opts: PeerOptions): Promise<PeerHandle> {
  return launchPeer(knotdRecipe(opts), opts);
}
