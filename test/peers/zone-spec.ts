/**
 * @module Turning {@link ZoneSpec}s into files in a peer's dir, and the small facts about them each config
 * generator needs: the origin with and without its dot, the NOTIFY targets parsed, the key a zone uses,
 * and the SOA serial a master file declares (to know when a reload has taken effect).
 */
import { copyFile, writeFile } from "node:fs/promises";
import path from "node:path";
import type { NotifyTarget, PeerOptions, TsigKey, ZoneSpec } from "./types.ts";

/** `example.test.` → `example.test` (and lower case: config files and our maps key on it). */
export function bare(name: string): string {
  return name.replace(/\.$/, "").toLowerCase();
}

/** `example.test` → `example.test.` */
export function absolute(name: string): string {
  return `${bare(name)}.`;
}

/** The file name a zone gets inside the peer dir. */
export function zoneFileName(zone: string): string {
  return `${bare(zone) || "root"}.zone`;
}

/** Write (or copy) every zone's master file into `dir`. */
export async function writeZoneFiles(dir: string, zones: ZoneSpec[]): Promise<void> {
  for (const zone of zones) {
    if (zone.secondaryOf || zone.catalog?.role === "generate") {
      if (zone.text !== undefined || zone.file !== undefined) throw new Error(`zone ${zone.name}: a secondary or generated catalog zone takes no text or file`);
      continue;
    }
    const target = path.join(dir, zoneFileName(zone.name));
    if ((zone.text === undefined) === (zone.file === undefined)) {
      throw new Error(`zone ${zone.name}: give exactly one of text or file`);
    }
    if (zone.text !== undefined) await writeFile(target, zone.text);
    else await copyFile(zone.file as string, target);
  }
}

/** `"127.0.0.1:5053"`, `"[::1]:5053"` or `{address, port}` → `{address, port}`. */
export function notifyTarget(t: NotifyTarget | string): NotifyTarget {
  if (typeof t !== "string") return t;
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(t) ?? /^([^:]+):(\d+)$/.exec(t);
  if (!m) throw new Error(`NOTIFY target ${JSON.stringify(t)} is not address:port`);
  return { address: m[1] as string, port: Number(m[2]) };
}

/** The key guarding `zone`, checked to exist in `opts.keys`. */
export function transferKeyOf(opts: PeerOptions, zone: ZoneSpec): TsigKey | undefined {
  if (zone.transferKey === undefined) return undefined;
  const key = (opts.keys ?? []).find((k) => bare(k.name) === bare(zone.transferKey as string));
  if (!key) throw new Error(`zone ${zone.name}: transferKey ${zone.transferKey} is not among opts.keys`);
  return key;
}

/**
 * The serial of the first SOA record in master-file text (RFC 1035 §5.1 layout: owner, optional TTL and
 * class, `SOA`, MNAME, RNAME, then `(` SERIAL …). Comments and parentheses are dropped first, so
 * multi-line SOAs work. Good enough for the zones tests write; not a zone-file parser.
 */
export function soaSerialOf(text: string): number {
  const tokens = text
    .split("\n")
    .map((line) => line.replace(/;.*$/, ""))
    .join(" ")
    .replace(/[()]/g, " ")
    .split(/\s+/)
    .filter(Boolean);
  const at = tokens.findIndex((t) => t.toUpperCase() === "SOA");
  const serial = at >= 0 ? tokens[at + 3] : undefined;
  if (serial === undefined || !/^\d+$/.test(serial)) throw new Error("no SOA record with a numeric serial in zone text");
  return Number(serial);
}
