/**
 * @module The multi-process port-53 front (`BACKSTOP_FRONT_PROCESSES=N`, issue 18): one Node process tops
 * out at about one core, so N query processes answer the DNS port, and one owner process keeps everything
 * that must exist once.
 *
 * Roles (node:cluster):
 * - The **owner** is the cluster's primary. It runs the refresh machine (zones/), NOTIFY handling, transfers
 *   out, NOTIFY out, the control HTTP port (health, `/metrics`, `/control/refresh`) and the DoH front. It
 *   does not answer queries itself, and restarts a query process that dies (the others keep answering).
 * - The **query processes** (cluster workers, slots 1..N) each run the port-53 front: listener, response
 *   cache, RRL, cookies, forward to the Worker. What they do not answer themselves (every opcode but QUERY,
 *   and zone transfers: `dns-dispatch.ts` `owner`) they hand to the owner as it came, with the client's
 *   address, and send its reply back; a transfer's many messages come back one by one, at most
 *   `STREAM_WINDOW` (8) ahead of what the client has taken.
 *
 * Sockets: each query process binds the configured addresses without `exclusive`, so the primary holds
 * one UDP socket per address and every query process reads from it (the kernel hands each datagram to one
 * reader), and TCP connections are accepted by the primary and handed out in turn (node:cluster's default
 * on Linux). Node 20's dgram has no `reusePort`, and an `exclusive` UDP bind per process on one port
 * fails (EADDRINUSE), so the shared socket is the one way for N processes to share a UDP port.
 *
 * What crosses between processes (IPC, structured clone, `serialization: "advanced"`):
 * - **commits**: every commit the owner's refresh machine makes is sent to every query process, whose cache
 *   drops the zone at once (`response-cache.ts` `committed`); the commit resolves once each has said so
 *   (at most `COMMIT_ACK_MS`, a second, past which the cache's own one-second bound has dropped the old
 *   answers anyway). So the never-stale rule holds in every process, and what follows a commit in the
 *   owner (the zone's serial in /metrics, NOTIFY out) happens after every process has dropped the zone.
 * - **metrics**: `/metrics` on the owner asks each query process for its registry and merges them with its
 *   own (prom-client's `AggregatorRegistry.aggregate`: counters and histograms summed).
 * - the cookie secret: without `BACKSTOP_COOKIE_SECRET`, the owner makes one and gives it to every query
 *   process, so a cookie one issues is valid at the others.
 * RRL: each query process keeps its own table with the rates divided by N (`rrl.ts` `perProcessRates`).
 */
import cluster, { type Worker } from "node:cluster";
import type { ListenAddress } from "../addresses.ts";
import type { Logger } from "../ops/log.ts";
import type { Metrics, MetricsJson } from "../ops/metrics.ts";
import type { CommitEvents } from "./query/commit-watch.ts";
import type { DnsHandler, DnsReply, RequestContext } from "./request-context.ts";
import { mkdtemp, open, rm, unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { encodeRecordStream, parseRecordStream } from "../../contract/record-stream.ts";
import { Name } from "../../dns/name.ts";
import type { OwnerLoad, OwnerOffer } from "./replica/owner-load.ts";
import type { Replica, ReplicaOffer } from "./replica/replica.ts";

/**
 * Messages of a transfer the owner may send ahead of what the query process has handed to the client: at
 * ~64 KiB each, half a megabyte held per transfer at most, and IPC kept busy meanwhile.
 */
export const STREAM_WINDOW = 8;
/**
 * How long a commit waits for the query processes to drop the zone from their caches: a second, so that when
 * the commit resolves either every process has dropped the zone or a second has passed since the commit, by
 * which time every entry stored before it has expired anyway (response-cache.ts, rule 1).
 */
export const COMMIT_ACK_MS = 1_000;
/** How long `/metrics` waits for a query process's registry before leaving it out. */
const METRICS_WAIT_MS = 2_000;
/** How long a query process waits for the owner's reply to a handed-over message before dropping it. */
const OWNER_REPLY_MS = 30_000;
/** The environment variable that tells a query process its slot (1..N). */
export const SLOT_VARIABLE = "BACKSTOP_FRONT_PROCESS_SLOT";

/** Query process → owner. */
type ToOwner =
  | { t: "front:ready"; addresses: ListenAddress[] }
  | { t: "front:ask"; id: number; wire: Uint8Array; ctx: RequestContext }
  | { t: "front:more"; id: number; n: number }
  | { t: "front:cancel"; id: number }
  | { t: "front:committed"; id: number }
  | { t: "front:metrics"; id: number; json: MetricsJson };

/** Owner → query process. */
type ToQuery =
  | { t: "front:reply"; id: number; wire: Uint8Array | null }
  | { t: "front:stream"; id: number }
  | { t: "front:chunk"; id: number; wire: Uint8Array }
  | { t: "front:end"; id: number; error?: string }
  | { t: "front:commit"; id: number; zone: string; version: number }
  | { t: "front:offer"; zone: string; offer: RelayedOffer }
  | { t: "front:withdraw"; zone: string }
  | { t: "front:metrics"; id: number }
  | { t: "front:stop" };

/**
 * A version built by the owner's transfer, as it crosses to the query processes (issue 27): a packed zone as
 * the path of a snapshot file the owner wrote (each process reads it into its own heap: Node maps no file),
 * changesets as record streams. Bounded: one pending offer per zone in each process (a newer one replaces
 * it), a file is removed when the next version of its zone replaces it or after `SNAPSHOT_KEEP_MS`, and
 * changesets over `RELAY_MAX_BYTES` are not relayed (the processes read the journal instead).
 */
export type RelayedOffer =
  | { kind: "file"; path: string }
  | { kind: "changes"; fromSerial: number; toSerial: number; changesets: Array<{ deletions: Uint8Array; additions: Uint8Array }> };

/** How long a snapshot file stays for a query process slow to read it (it reads the Worker after that). */
export const SNAPSHOT_KEEP_MS = 60_000;
/** Octets of changesets relayed over IPC for one commit. */
const RELAY_MAX_BYTES = 16 * 2 ** 20;

const isFront = (m: unknown): m is { t: string } => typeof m === "object" && m !== null && typeof (m as { t?: unknown }).t === "string" && (m as { t: string }).t.startsWith("front:");

// ---- Owner side ---------------------------------------------------------------------------------------

export interface FrontProcessesOptions {
  processes: number;
  /** Answers what query processes hand over (a dispatcher without a front: NOTIFY, transfers, NOTIMP). */
  owner: DnsHandler;
  commits: CommitEvents | undefined;
  metrics: Metrics;
  log: Logger;
  /** Added to each query process's environment (the cookie secret the owner made). */
  env?: Record<string, string>;
  /** How long a query process may take to bind and say so. Default 60 s. */
  startTimeoutMs?: number;
  /**
   * The query processes hold replicas (issue 27): the versions the owner's transfers build are relayed to
   * them (`ownerLoad`), up to this many records a zone (BACKSTOP_REPLICA_MAX_RECORDS). Undefined: replica off.
   */
  replicaMaxRecords?: number | undefined;
}

interface Slot {
  slot: number;
  worker: Worker | undefined;
  ready: boolean;
  startedAt: number;
  /** Deaths in a row within 10 s of starting: the restart waits longer each time. */
  quickDeaths: number;
}

interface OutStream {
  credit: number;
  cancelled: boolean;
  wake: (() => void) | undefined;
}

/** The owner's side: forks the query processes, restarts them, answers what they hand over. */
export class FrontProcesses {
  private readonly slots: Slot[] = [];
  private readonly streams = new Map<string, OutStream>();
  private readonly waits = new Map<number, { pending: Set<number>; done: (workerId: number, json?: MetricsJson) => void }>();
  private nextId = 1;
  private stopping = false;
  private unwatch: (() => void) | undefined;
  /** Where the owner writes snapshot files (made at the first one, removed at stop). */
  private snapshotDir: Promise<string> | undefined;
  private snapshotSeq = 0;
  /** The newest snapshot file of each zone, and when it goes. */
  private readonly snapshots = new Map<string, { path: string; timer: NodeJS.Timeout }>();
  /** Zones with an offer the query processes hold that no commit has taken yet. */
  private readonly offered = new Set<string>();
  /** Where the query processes listen (as the first to be ready reported it). */
  addresses: ListenAddress[] = [];

  constructor(private readonly options: FrontProcessesOptions) {
    for (let slot = 1; slot <= options.processes; slot++) this.slots.push({ slot, worker: undefined, ready: false, startedAt: 0, quickDeaths: 0 });
  }

  /** Forks every query process and resolves once each listens; rejects when one fails to start. */
  async start(): Promise<void> {
    cluster.setupPrimary({ serialization: "advanced" });
    cluster.on("message", (worker, message: unknown) => {
      if (isFront(message)) this.onMessage(worker, message as ToOwner);
    });
    this.unwatch = this.options.commits?.on((zone, version) => this.fanOutCommit(zone, version));
    this.options.metrics.mergeProcesses(() => this.collectMetrics());
    const timeoutMs = this.options.startTimeoutMs ?? 60_000;
    await Promise.all(
      this.slots.map(
        (s) =>
          new Promise<void>((resolve, reject) => {
            const worker = this.fork(s);
            const timer = setTimeout(() => reject(new Error(`query process ${s.slot} did not listen within ${timeoutMs} ms`)), timeoutMs);
            const onExit = (code: number | null, signal: string | null) => {
              clearTimeout(timer);
              reject(new Error(`query process ${s.slot} exited while starting (${signal ?? `code ${code}`})`));
            };
            worker.once("exit", onExit);
            worker.once("front-ready", () => {
              clearTimeout(timer);
              worker.off("exit", onExit);
              resolve();
            });
          }),
      ),
    ).catch(async (err: unknown) => {
      await this.stop();
      throw err;
    });
  }

  /** Query processes listening now. */
  get running(): number {
    return this.slots.filter((s) => s.ready).length;
  }

  private fork(s: Slot): Worker {
    const worker = cluster.fork({ ...this.options.env, [SLOT_VARIABLE]: String(s.slot) });
    s.worker = worker;
    s.ready = false;
    s.startedAt = Date.now();
    worker.on("exit", (code, signal) => this.onExit(s, worker, code, signal));
    return worker;
  }

  private onExit(s: Slot, worker: Worker, code: number | null, signal: string | null): void {
    if (s.worker !== worker) return;
    s.worker = undefined;
    s.ready = false;
    this.options.metrics.frontProcesses.set(this.running);
    // Its transfers in flight stop; its metrics and commit acks are no longer awaited.
    for (const [key, stream] of this.streams) {
      if (key.startsWith(`${worker.id}:`)) {
        stream.cancelled = true;
        stream.wake?.();
      }
    }
    for (const wait of this.waits.values()) if (wait.pending.has(worker.id)) wait.done(worker.id);
    if (this.stopping) return;
    s.quickDeaths = Date.now() - s.startedAt < 10_000 ? s.quickDeaths + 1 : 0;
    const delayMs = s.quickDeaths === 0 ? 0 : Math.min(10_000, 100 * 2 ** (s.quickDeaths - 1));
    this.options.log.error({ slot: s.slot, pid: worker.process.pid, code, signal, restartInMs: delayMs }, "query process died; starting it again");
    this.options.metrics.frontProcessRestarts.inc();
    setTimeout(() => {
      if (!this.stopping && s.worker === undefined) this.fork(s);
    }, delayMs).unref();
  }

  private onMessage(worker: Worker, m: ToOwner): void {
    switch (m.t) {
      case "front:ready": {
        const s = this.slots.find((x) => x.worker === worker);
        if (!s) return;
        s.ready = true;
        if (this.addresses.length === 0) this.addresses = m.addresses;
        this.options.metrics.frontProcesses.set(this.running);
        this.options.log.info({ slot: s.slot, pid: worker.process.pid }, "query process listening");
        worker.emit("front-ready");
        return;
      }
      case "front:ask":
        void this.answer(worker, m.id, m.wire, m.ctx);
        return;
      case "front:more": {
        const stream = this.streams.get(`${worker.id}:${m.id}`);
        if (!stream) return;
        stream.credit += m.n;
        stream.wake?.();
        return;
      }
      case "front:cancel": {
        const stream = this.streams.get(`${worker.id}:${m.id}`);
        if (!stream) return;
        stream.cancelled = true;
        stream.wake?.();
        return;
      }
      case "front:committed":
        this.waits.get(m.id)?.done(worker.id);
        return;
      case "front:metrics":
        this.waits.get(m.id)?.done(worker.id, m.json);
        return;
    }
  }

  private send(worker: Worker, m: ToQuery): void {
    if (worker.isConnected()) worker.send(m);
  }

  /** A handed-over message answered: one reply, or a transfer's messages within the stream window. */
  private async answer(worker: Worker, id: number, wire: Uint8Array, ctx: RequestContext): Promise<void> {
    let reply: DnsReply;
    try {
      reply = await this.options.owner(wire, ctx);
    } catch (err) {
      this.options.log.error({ err: { message: (err as Error).message } }, "owner failed a handed-over message");
      reply = null;
    }
    if (reply === null || reply instanceof Uint8Array) {
      this.send(worker, { t: "front:reply", id, wire: reply });
      return;
    }
    const key = `${worker.id}:${id}`;
    const stream: OutStream = { credit: STREAM_WINDOW, cancelled: false, wake: undefined };
    this.streams.set(key, stream);
    this.send(worker, { t: "front:stream", id });
    try {
      for await (const message of reply.stream) {
        while (stream.credit <= 0 && !stream.cancelled) await new Promise<void>((resolve) => (stream.wake = resolve));
        stream.wake = undefined;
        if (stream.cancelled) break; // leaving the loop returns the iterator, which releases what it reads from
        stream.credit--;
        this.send(worker, { t: "front:chunk", id, wire: message });
      }
      if (!stream.cancelled) this.send(worker, { t: "front:end", id });
    } catch (err) {
      this.send(worker, { t: "front:end", id, error: (err as Error).message });
    } finally {
      this.streams.delete(key);
    }
  }

  /**
   * Sends `m(id)` to every connected query process and resolves with what each answered (`json` for
   * metrics), or after `ms` with what came (a process that died or hung is left out).
   */
  private gather(m: (id: number) => ToQuery, ms: number, readyOnly: boolean): Promise<MetricsJson[]> {
    const id = this.nextId++;
    const got: MetricsJson[] = [];
    return new Promise((resolve) => {
      const pending = new Set<number>();
      const finish = () => {
        clearTimeout(timer);
        this.waits.delete(id);
        resolve(got);
      };
      const timer = setTimeout(finish, ms);
      this.waits.set(id, {
        pending,
        done: (workerId, json) => {
          if (!pending.delete(workerId)) return;
          if (json) got.push(json);
          if (pending.size === 0) finish();
        },
      });
      for (const s of this.slots) {
        if (s.worker?.isConnected() && (s.ready || !readyOnly)) {
          pending.add(s.worker.id);
          this.send(s.worker, m(id));
        }
      }
      if (pending.size === 0) finish();
    });
  }

  private async fanOutCommit(zone: string, version: number): Promise<void> {
    // An offer made before this commit is taken by it in each process (`Replica.committed`).
    this.offered.delete(zone);
    // Every process, ready or still starting: one that listens before the owner hears so may hold answers.
    await this.gather((id) => ({ t: "front:commit", id, zone, version }), COMMIT_ACK_MS, false);
  }

  /**
   * Where the owner's refresh machine offers the versions its transfers built (`replica/owner-load.ts`): to
   * every query process, before the commit whose fan-out (`front:commit`) installs them there.
   */
  ownerLoad(): OwnerLoad {
    return {
      maxRecords: this.options.replicaMaxRecords ?? 0,
      offer: async (zone, offer) => {
        const relayed = await this.relay(zone, offer);
        this.offered.add(zone);
        this.broadcast({ t: "front:offer", zone, offer: relayed });
      },
      withdraw: (zone) => {
        if (this.offered.delete(zone)) this.broadcast({ t: "front:withdraw", zone });
      },
    };
  }

  private broadcast(m: ToQuery): void {
    for (const s of this.slots) if (s.worker?.isConnected()) this.send(s.worker, m);
  }

  /** An offer as it crosses: a packed zone written to a snapshot file, changesets as record streams. */
  private async relay(zoneName: string, offer: OwnerOffer): Promise<RelayedOffer> {
    if (offer.kind === "changes") {
      const changesets = offer.changesets.map((c) => ({ deletions: encodeRecordStream(c.deletions), additions: encodeRecordStream(c.additions) }));
      const bytes = changesets.reduce((n, c) => n + c.deletions.length + c.additions.length, 0);
      if (bytes > RELAY_MAX_BYTES) throw new Error(`changesets of ${bytes} octets are not relayed (at most ${RELAY_MAX_BYTES})`);
      return { kind: "changes", fromSerial: offer.fromSerial, toSerial: offer.toSerial, changesets };
    }
    const zone = offer.zone;
    this.snapshotDir ??= mkdtemp(path.join(tmpdir(), "backstop-replica-"));
    const file = path.join(await this.snapshotDir, `${++this.snapshotSeq}.zone`);
    const handle = await open(file, "w", 0o600);
    try {
      for (const part of zone.toParts()) await handle.write(part);
    } catch (err) {
      await handle.close();
      await unlink(file).catch(() => undefined);
      throw err;
    }
    await handle.close();
    const before = this.snapshots.get(zoneName);
    if (before) {
      clearTimeout(before.timer);
      void unlink(before.path).catch(() => undefined);
    }
    const timer = setTimeout(() => {
      if (this.snapshots.get(zoneName)?.path !== file) return;
      this.snapshots.delete(zoneName);
      void unlink(file).catch(() => undefined);
    }, SNAPSHOT_KEEP_MS);
    timer.unref();
    this.snapshots.set(zoneName, { path: file, timer });
    return { kind: "file", path: file };
  }

  private collectMetrics(): Promise<MetricsJson[]> {
    // A process still starting has counted nothing (and may not listen for the question yet).
    return this.gather((id) => ({ t: "front:metrics", id }), METRICS_WAIT_MS, true);
  }

  /**
   * Stops restarting, and ends every query process: each is told to close its listener and exit, and is
   * killed if it has not within `graceMs`.
   */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    this.unwatch?.();
    const exits = this.slots.map((s) => {
      const worker = s.worker;
      if (!worker || worker.isDead()) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const kill = setTimeout(() => worker.process.kill("SIGKILL"), graceMs);
        worker.once("exit", () => {
          clearTimeout(kill);
          resolve();
        });
        if (worker.isConnected()) this.send(worker, { t: "front:stop" });
        else worker.process.kill("SIGTERM");
      });
    });
    await Promise.all(exits);
    for (const { timer } of this.snapshots.values()) clearTimeout(timer);
    this.snapshots.clear();
    const dir = await this.snapshotDir?.catch(() => undefined);
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  }
}

// ---- Query process side --------------------------------------------------------------------------------

/** This process's slot when it is a query process of a multi-process front, else undefined. */
export function querySlot(env: Record<string, string | undefined> = process.env): number | undefined {
  if (!cluster.isWorker) return undefined;
  const slot = Number(env[SLOT_VARIABLE]);
  return Number.isInteger(slot) && slot > 0 ? slot : undefined;
}

interface Pending {
  resolve: (reply: DnsReply) => void;
  timer: NodeJS.Timeout;
}

/** The messages of a transfer as the owner sends them, as an async iterable for the listener to write. */
class InStream implements AsyncIterable<Uint8Array> {
  private readonly queue: Uint8Array[] = [];
  private done = false;
  private error: string | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly id: number,
    private readonly link: OwnerLink,
  ) {}

  push(wire: Uint8Array): void {
    this.queue.push(wire);
    this.wake?.();
  }

  end(error: string | undefined): void {
    this.done = true;
    this.error = error;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    let taken = 0;
    try {
      for (;;) {
        const next = this.queue.shift();
        if (next !== undefined) {
          // More credit each half window taken: the owner stays at most a window ahead of the client.
          if (++taken % (STREAM_WINDOW / 2) === 0) this.link.send({ t: "front:more", id: this.id, n: STREAM_WINDOW / 2 });
          yield next;
          continue;
        }
        if (this.done) {
          if (this.error !== undefined) throw new Error(`transfer from the owner process failed: ${this.error}`);
          return;
        }
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
      }
    } finally {
      if (!this.done) this.link.send({ t: "front:cancel", id: this.id });
      this.link.forget(this.id);
    }
  }
}

/**
 * A query process's link to the owner: `handler` hands a message over (dns-dispatch's `owner`); commits the
 * owner announces are emitted on `commits` (the front's cache listens) and acknowledged; metrics requests
 * are answered with `metrics`' registry.
 */
export class OwnerLink {
  private readonly pending = new Map<number, Pending>();
  private readonly streams = new Map<number, InStream>();
  private nextId = 1;

  /** Called when the owner says to stop (it is stopping the whole service). */
  onStop: () => void = () => process.exit(0);
  /** This process's replica: the versions the owner's transfers built are offered to it. */
  replica: Replica | undefined;

  constructor(
    private readonly commits: CommitEvents,
    private readonly metrics: Metrics,
  ) {
    process.on("message", (message: unknown) => {
      if (isFront(message)) void this.onMessage(message as ToQuery);
    });
  }

  readonly handler: DnsHandler = (wire, ctx) =>
    new Promise<DnsReply>((resolve) => {
      const id = this.nextId++;
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve(null);
      }, OWNER_REPLY_MS);
      this.pending.set(id, { resolve, timer });
      // A copy: the listener's message may be a view of a Buffer it reuses.
      this.send({ t: "front:ask", id, wire: wire.slice(), ctx: { transport: ctx.transport, remoteAddress: ctx.remoteAddress, remotePort: ctx.remotePort } });
    });

  /** Tells the owner this process listens on `addresses`. */
  ready(addresses: ListenAddress[]): void {
    this.send({ t: "front:ready", addresses });
  }

  send(m: ToOwner): void {
    if (process.connected) process.send!(m);
  }

  forget(id: number): void {
    this.streams.delete(id);
  }

  private settle(id: number, reply: DnsReply): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    p.resolve(reply);
  }

  private async onMessage(m: ToQuery): Promise<void> {
    switch (m.t) {
      case "front:reply":
        this.settle(m.id, m.wire);
        return;
      case "front:stream": {
        const stream = new InStream(m.id, this);
        this.streams.set(m.id, stream);
        this.settle(m.id, { stream });
        return;
      }
      case "front:chunk":
        this.streams.get(m.id)?.push(m.wire);
        return;
      case "front:end":
        this.streams.get(m.id)?.end(m.error);
        return;
      case "front:commit":
        await this.commits.emit(m.zone, m.version);
        this.send({ t: "front:committed", id: m.id });
        return;
      case "front:offer": {
        const offer = this.replica === undefined ? undefined : receivedOffer(m.zone, m.offer);
        if (offer !== undefined) this.replica!.offer(m.zone, offer);
        return;
      }
      case "front:withdraw":
        this.replica?.withdraw(m.zone);
        return;
      case "front:metrics":
        this.send({ t: "front:metrics", id: m.id, json: await this.metrics.json() });
        return;
      case "front:stop":
        this.onStop();
        return;
    }
  }
}

/** A relayed offer as the replica takes it (changesets decoded); undefined when it does not parse. */
function receivedOffer(zone: string, offer: RelayedOffer): ReplicaOffer | undefined {
  if (offer.kind === "file") return offer;
  try {
    const apex = Name.parseAbsolute(zone);
    const changesets = offer.changesets.map((c) => ({ deletions: parseRecordStream(c.deletions, apex), additions: parseRecordStream(c.additions, apex) }));
    return { kind: "changes", fromSerial: offer.fromSerial, toSerial: offer.toSerial, changesets, relayed: true };
  } catch {
    return undefined;
  }
}
