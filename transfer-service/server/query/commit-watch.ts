/**
 * @module Where this instance commits a new zone version, as an event: the refresh machinery (`refresh.ts`)
 * commits through `WorkerApi.beginIngest(...).commit()`, and `watchCommits` wraps a `WorkerApi` so that
 * every commit that succeeds is announced to the listeners — the port-53 front's response cache drops the
 * zone's entries at once (`response-cache.ts`). The wrapper changes nothing else the API does.
 *
 * A listener may return a promise, and the commit resolves only once every such promise has settled: the
 * multi-process front (`../front-processes.ts`) tells each query process's cache and waits for their word
 * (bounded), so when the refresh machine sees a version committed, no process still serves the one before.
 */
import type { IngestSession, WorkerApi } from "../../worker/worker-api.ts";

export type CommitListener = (zone: string, version: number) => void | Promise<void>;

/** The commit events of one service instance. */
export class CommitEvents {
  private readonly listeners = new Set<CommitListener>();

  on(listener: CommitListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Tells every listener; resolves once the promises they returned have settled (never rejects). */
  async emit(zone: string, version: number): Promise<void> {
    // A listener's fault must not turn a committed transfer into a failed one.
    const waits: Array<Promise<void>> = [];
    for (const listener of this.listeners) {
      try {
        const result = listener(zone, version);
        if (result instanceof Promise) waits.push(result);
      } catch {
        // ignored: listeners are caches and fan-outs, the commit stands
      }
    }
    if (waits.length > 0) await Promise.allSettled(waits);
  }
}

/**
 * `worker`, with every successful ingest commit announced on `events`. A Proxy rather than a copy of each
 * method, so whatever the API gains later passes through untouched (and bound to the real client).
 */
export function watchCommits(worker: WorkerApi, events: CommitEvents): WorkerApi {
  const beginIngest: WorkerApi["beginIngest"] = async (zone, owner, kind, serial, options) => {
    const session: IngestSession = await worker.beginIngest(zone, owner, kind, serial, options);
    const commit = session.commit.bind(session);
    // The session object itself is kept (its sink methods and state); only commit is wrapped.
    session.commit = async () => {
      const result = await commit();
      await events.emit(zone, result.version);
      return result;
    };
    return session;
  };
  return new Proxy(worker, {
    get(target, prop) {
      if (prop === "beginIngest") return beginIngest;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
