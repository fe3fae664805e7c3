/**
 * @module The life cycle all four peers share, given a per-peer recipe: make a temp dir, write zones and
 * config, start the daemon in the foreground, wait until it answers SOA for every zone, and hand back a
 * {@link PeerHandle}. The recipe says only what differs: the config, the command line, and how the
 * peer is told to reload.
 */
import { rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { type Daemon, lastLines, makePeerDir, startDaemon } from "./daemon.ts";
import { freePort } from "./ports.ts";
import { querySoa, waitForSoa } from "./soa-probe.ts";
import type { PeerHandle, PeerKind, PeerOptions, ZoneSpec } from "./types.ts";
import { absolute, bare, soaSerialOf, writeZoneFiles, zoneFileName } from "./zone-spec.ts";

export interface PeerRecipe {
  kind: PeerKind;
  /** Write the config (and any database) into `dir` for `port`. Zone files are already there. */
  prepare(dir: string, port: number): Promise<void>;
  /** The foreground command line. */
  command(dir: string): { command: string; args: string[] };
  /** Re-read config and zones. */
  reload(dir: string): Promise<void>;
  /** The zone's file in `dir` was rewritten: make the daemon load it (and NOTIFY). */
  loadZone(dir: string, zone: ZoneSpec): Promise<void>;
  /** The daemon is stopped: delete the zone's history (journals) so it starts from the file alone. */
  forget(dir: string, zone: ZoneSpec): Promise<void>;
  /** Refuses, on reload, a file whose serial is not newer than the one served (knotd, named). */
  refusesOlderSerial: boolean;
}

/** A peer that did not come up; the message carries the daemon's output tail. */
export class PeerStartError extends Error {
  constructor(
    readonly kind: PeerKind,
    /** The peer's dir: removed by now unless keepDir (or BACKSTOP_KEEP_PEER_DIRS=1) was set. */
    readonly dir: string,
    readonly port: number,
    cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = "PeerStartError";
  }
}

const ADDRESS = "127.0.0.1";
/** Output of a daemon that could not bind its port: worth one more try on another port. */
const PORT_TAKEN = /address (already )?in use|EADDRINUSE|could not listen|cannot bind|can't bind|unable to bind|failed to bind/i;
const START_ATTEMPTS = 3;

/** Start a peer from `recipe` with `opts`; see {@link PeerHandle}. */
export async function launchPeer(recipe: PeerRecipe, opts: PeerOptions): Promise<PeerHandle> {
  if (opts.zones.length === 0) throw new Error(`${recipe.kind}: at least one zone is needed`);
  const dir = await makePeerDir(recipe.kind);
  const keepDir = opts.keepDir ?? process.env.BACKSTOP_KEEP_PEER_DIRS === "1";
  try {
    await writeZoneFiles(dir, opts.zones);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }

  // Loading scales with size (named needs ~15 s for a 1M-record, 55 MB zone here): 20 s plus 1 s per 1.5 MB.
  const primaryZones = opts.zones.filter((z) => !z.secondaryOf && z.catalog?.role !== "generate");
  const zoneBytes = (await Promise.all(primaryZones.map((z) => stat(path.join(dir, zoneFileName(z.name)))))).reduce((n, s) => n + s.size, 0);
  const timeoutMs = opts.startTimeoutMs ?? 20_000 + Math.ceil(zoneBytes / 1_500_000) * 1000;
  let daemon: Daemon | undefined;
  let port = 0;
  const exitedCheck = (d: Daemon) => () => {
    if (!d.running) {
      throw new Error(`${recipe.kind} exited before it served every zone; output:\n${lastLines(d.output())}`);
    }
  };
  // named keeps running when it cannot bind TCP; stop waiting as soon as any daemon says its port is taken.
  const startCheck = (d: Daemon) => () => {
    exitedCheck(d)();
    if (PORT_TAKEN.test(d.output())) throw new Error(`${recipe.kind} could not bind port ${port}; output:\n${lastLines(d.output())}`);
  };
  const run = async (): Promise<void> => {
    const { command, args } = recipe.command(dir);
    const d = startDaemon({ name: recipe.kind, command, args, cwd: dir });
    daemon = d;
    try {
      // knotd answers no queries for a catalog it generates (RFC 9432 §1: not meant to be queried), only
      // transfers: its members show that it runs.
      const queryable = opts.zones.filter((z) => z.catalog?.role !== "generate");
      for (const zone of queryable) {
        await waitForSoa({ address: ADDRESS, port, zone: absolute(zone.name), timeoutMs, check: startCheck(d) });
      }
      const first = absolute((queryable[0] as ZoneSpec).name);
      await waitForSoa({ address: ADDRESS, port, zone: first, timeoutMs: 5000, check: startCheck(d), transport: "tcp" });
    } catch (err) {
      await d.stop(1000);
      await writeFile(path.join(dir, `${recipe.kind}.log`), d.output());
      const message = (err as Error).message;
      throw new Error(
        message.includes("output:") ? message : `${recipe.kind} failed to start: ${message}; output:\n${lastLines(d.output())}`,
        { cause: err },
      );
    }
  };

  for (let attempt = 1; ; attempt++) {
    daemon = undefined;
    try {
      port = opts.port ?? (await freePort());
      await recipe.prepare(dir, port);
      await run();
      break;
    } catch (err) {
      const taken = daemon !== undefined && PORT_TAKEN.test((daemon as Daemon).output());
      if (!taken || attempt >= START_ATTEMPTS || opts.port !== undefined) {
        if (!keepDir) await rm(dir, { recursive: true, force: true });
        throw new PeerStartError(recipe.kind, dir, port, err);
      }
    }
  }

  const current = (): Daemon => daemon as Daemon;
  const zoneSpec = (zone: string): ZoneSpec => {
    const spec = opts.zones.find((z) => bare(z.name) === bare(zone));
    if (!spec) throw new Error(`${recipe.kind} does not serve ${zone}`);
    return spec;
  };
  let stopped = false;

  const handle: PeerHandle = {
    kind: recipe.kind,
    address: ADDRESS,
    port,
    dir,
    get pid() {
      return current().pid;
    },
    get exited() {
      return current().exited;
    },
    zoneFile: (zone) => path.join(dir, zoneFileName(zoneSpec(zone).name)),
    async serial(zone) {
      const answer = await querySoa(ADDRESS, port, absolute(zone), 1000);
      if (answer.serial === undefined) throw new Error(`${recipe.kind} answered ${answer.rcode} with no SOA for ${zone}`);
      return answer.serial;
    },
    reload: () => recipe.reload(dir),
    async updateZone(zone, text, how = {}) {
      const spec = zoneSpec(zone);
      const serial = soaSerialOf(text);
      if (how.restart) {
        // An operator re-initialising the primary: stop, drop its history, start from the file.
        await current().stop();
        await writeFile(handle.zoneFile(zone), text);
        await recipe.forget(dir, spec);
        await recipe.prepare(dir, port);
        await run();
        return;
      }
      if (recipe.refusesOlderSerial) {
        const served = await handle.serial(zone);
        // RFC 1982 §3.2: `serial` is newer than `served` when the forward distance is in (0, 2^31).
        const distance = (serial - served + 2 ** 32) % 2 ** 32;
        if (distance === 0 || distance >= 2 ** 31) {
          throw new Error(
            `${recipe.kind} serves serial ${served} for ${zone} and refuses to reload an older or equal serial ` +
              `(${serial}); pass { restart: true } to updateZone to start it afresh from the new file`,
          );
        }
      }
      await writeFile(handle.zoneFile(zone), text);
      await recipe.loadZone(dir, spec);
      const d = current();
      await waitForSoa({
        address: ADDRESS,
        port,
        zone: absolute(zone),
        serial,
        timeoutMs: 30_000 + Math.ceil(text.length / 1_500_000) * 1000,
        check: exitedCheck(d),
        // A reload can race the file's mtime or a transfer in progress; asking again is harmless.
        nudge: () => recipe.loadZone(dir, spec),
        nudgeEveryMs: 2000,
        // Until every query gets it: the old server process may still answer for a while.
        settled: 6,
      }).catch((err: Error) => {
        throw new Error(`${recipe.kind} did not take the update of ${zone}: ${err.message}\n${lastLines(d.output())}`, {
          cause: err,
        });
      });
    },
    kill: (signal = "SIGKILL") => current().kill(signal),
    async restart() {
      if (stopped) throw new Error(`${recipe.kind} was stopped and its dir removed; start a new peer instead`);
      if (current().running) throw new Error(`${recipe.kind} is still running; stop or kill it first`);
      await run();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await current().stop();
      if (keepDir) await writeFile(path.join(dir, `${recipe.kind}.log`), current().output());
      else await rm(dir, { recursive: true, force: true });
    },
    output: () => current().output(),
  };
  return handle;
}
