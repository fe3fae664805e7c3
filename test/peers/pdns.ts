/**
 * @module PowerDNS Authoritative (pdns_server 4.7) as a real primary on loopback, with the gsqlite3 backend.
 *
 * The zone lives in an SQLite database built from Debian's schema and filled with `pdnsutil load-zone`;
 * TSIG keys are imported with `pdnsutil import-tsig-key`. Transfer ACLs are per zone metadata:
 * TSIG-ALLOW-AXFR for a keyed zone, ALLOW-AXFR-FROM loopback for an unkeyed one. The global
 * `allow-axfr-ips` is left empty on purpose: pdns lets an *unsigned* AXFR through when the client's
 * address is in it, even for a zone that has TSIG-ALLOW-AXFR, so "only with the key" would not hold.
 *
 * `primary=yes` makes pdns send NOTIFY to ALSO-NOTIFY targets; `only-notify=` (empty) keeps it from
 * notifying the zone's NS addresses. After a zone update pdns would notice the new serial only on its
 * next `xfr-cycle-interval` check, so updateZone asks with `pdns_control notify`. pdns signs NOTIFY with
 * the zone's TSIG-ALLOW-AXFR key whenever one is set. All caches are off so a reload is seen at once.
 * pdns answers IXFR with the whole zone (no IXFR-out from a database). With `secondaryOf` a zone is a
 * secondary instead (`create-secondary-zone`), fetched by AXFR (pdns 4.7 has IXFR in, but starts with AXFR).
 */
import { createReadStream } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { createInterface } from "node:readline";
import { launchPeer, type PeerRecipe } from "./launch.ts";
import { runToolOk } from "./run-tool.ts";
import type { PeerHandle, PeerOptions } from "./types.ts";
import { bare, notifyTarget, transferKeyOf, zoneFileName } from "./zone-spec.ts";

/** Debian 12's pdns-backend-sqlite3 schema (`dpkg -L pdns-backend-sqlite3`). */
export const PDNS_SQLITE_SCHEMA = "/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql";

/**
 * pdns.conf for `port`. With `secondary`, pdns also transfers zones in (`secondary=yes`) and checks its
 * secondary zones every second (`xfr-cycle-interval`, 60 s by default), so a new one is fetched at once.
 */
export function pdnsConfig(dir: string, port: number, secondary = false): string {
  return [
    "launch=gsqlite3",
    "gsqlite3-dnssec=yes",
    `gsqlite3-database=${path.join(dir, "pdns.sqlite")}`,
    "local-address=127.0.0.1",
    `local-port=${port}`,
    `socket-dir=${dir}`,
    "guardian=no",
    "daemon=no",
    "disable-syslog=yes",
    "log-timestamp=yes",
    "loglevel=6",
    "primary=yes",
    "allow-axfr-ips=",
    "only-notify=",
    "cache-ttl=0",
    "query-cache-ttl=0",
    "negquery-cache-ttl=0",
    "zone-cache-refresh-interval=0",
    "consistent-backends=yes",
    "webserver=no",
    "api=no",
    "receiver-threads=1",
    "distributor-threads=1",
    ...(secondary ? ["secondary=yes", "xfr-cycle-interval=1"] : []),
    "",
  ].join("\n");
}

/** The NSEC3PARAM rdata ("1 0 0 AB") of a signed master file, read line by line until found. */
export async function nsec3ParamOf(file: string): Promise<string | undefined> {
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  try {
    for await (const line of lines) {
      const m = /\sNSEC3PARAM\s+(\d+\s+\d+\s+\d+\s+\S+)/.exec(line.replace(/;.*$/, ""));
      if (m) return (m[1] as string).replace(/\s+/g, " ");
    }
  } finally {
    lines.close();
  }
  return undefined;
}

export function pdnsRecipe(opts: PeerOptions): PeerRecipe {
  const pdnsutil = (dir: string, ...args: string[]) =>
    runToolOk("pdnsutil", [`--config-dir=${dir}`, ...args], { timeoutMs: 300_000 });
  const control = (dir: string, ...args: string[]) =>
    runToolOk("pdns_control", [`--config-dir=${dir}`, ...args], { timeoutMs: 15_000 });
  return {
    kind: "pdns",
    async prepare(dir, port) {
      const db = path.join(dir, "pdns.sqlite");
      await rm(db, { force: true });
      await runToolOk("sqlite3", [db, `.read ${PDNS_SQLITE_SCHEMA}`]);
      await writeFile(path.join(dir, "pdns.conf"), pdnsConfig(dir, port, opts.zones.some((z) => z.secondaryOf)));
      for (const k of opts.keys ?? []) await pdnsutil(dir, "import-tsig-key", bare(k.name), k.algorithm, k.secret);
      for (const zone of opts.zones) {
        const name = bare(zone.name) || ".";
        if (zone.secondaryOf) {
          // A secondary (issue 21): transfers from `secondaryOf`, signed with its key (AXFR-MASTER-TSIG);
          // tests read the copy back with an unsigned AXFR from loopback.
          const from = zone.secondaryOf;
          const host = from.address.includes(":") ? `[${from.address}]` : from.address;
          await pdnsutil(dir, "create-secondary-zone", name, `${host}:${from.port}`);
          if (from.key !== undefined) await pdnsutil(dir, "activate-tsig-key", name, bare(from.key), "secondary");
          await pdnsutil(dir, "set-meta", name, "ALLOW-AXFR-FROM", "127.0.0.1/32", "::1/128");
          continue;
        }
        await pdnsutil(dir, "load-zone", name, path.join(dir, zoneFileName(zone.name)));
        await pdnsutil(dir, "set-kind", name, "primary");
        const key = transferKeyOf(opts, zone);
        if (key) await pdnsutil(dir, "set-meta", name, "TSIG-ALLOW-AXFR", bare(key.name));
        else await pdnsutil(dir, "set-meta", name, "ALLOW-AXFR-FROM", "127.0.0.1/32", "::1/128");
        const targets = (zone.notify ?? []).map(notifyTarget).map((t) => (t.address.includes(":") ? `[${t.address}]:${t.port}` : `${t.address}:${t.port}`));
        if (targets.length) await pdnsutil(dir, "set-meta", name, "ALSO-NOTIFY", ...targets);
        if (zone.presigned) {
          await pdnsutil(dir, "set-presigned", name);
          // A presigned NSEC3 zone needs its NSEC3PARAM as metadata too, or pdns synthesises NSEC records.
          const param = await nsec3ParamOf(path.join(dir, zoneFileName(zone.name)));
          if (param) await pdnsutil(dir, "set-meta", name, "NSEC3PARAM", param);
        }
      }
    },
    command: (dir) => ({ command: "pdns_server", args: [`--config-dir=${dir}`] }),
    // pdns has no zone files of its own: "reload" is reading every zone file into the database again.
    reload: async (dir) => {
      for (const zone of opts.zones) {
        if (zone.secondaryOf) continue;
        await pdnsutil(dir, "load-zone", bare(zone.name) || ".", path.join(dir, zoneFileName(zone.name)));
      }
      await control(dir, "purge");
    },
    // prepare() rebuilds the whole database from the zone files, so nothing else remembers the old zone.
    forget: async () => {},
    refusesOlderSerial: false,
    loadZone: async (dir, zone) => {
      const name = bare(zone.name) || ".";
      await pdnsutil(dir, "load-zone", name, path.join(dir, zoneFileName(zone.name)));
      await control(dir, "purge");
      if (zone.notify?.length) await control(dir, "notify", name);
    },
  };
}

/** Start pdns_server serving `opts.zones` on a free loopback port. */
export function startPdns(opts: PeerOptions): Promise<PeerHandle> {
  return launchPeer(pdnsRecipe(opts), opts);
}
