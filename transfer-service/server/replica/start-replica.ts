/**
 * @module The replica of one front process, as the service wires it (`service.ts` `createFront`): read from
 * the Worker's `/internal/v1`, told of this instance's commits (and given the versions this process's own
 * transfers built, `owner-load.ts`), and shown in /metrics. Undefined when
 * `BACKSTOP_REPLICA_MAX_BYTES` is 0 (every query the response cache misses is forwarded, as before issue 27).
 */
import type { Config } from "../../config.ts";
import type { Logger } from "../../ops/log.ts";
import type { Metrics } from "../../ops/metrics.ts";
import type { CommitEvents } from "../query/commit-watch.ts";
import { Replica } from "./replica.ts";
import { httpReplicaSource } from "./replica-source.ts";
import { registerOwnerLoad, type OwnerLoad } from "./owner-load.ts";

export interface StartedReplica {
  replica: Replica;
  stop(): Promise<void>;
}

/** The bound of one process's replica: BACKSTOP_REPLICA_MAX_BYTES is the instance's, shared by its `processes` query processes. */
export function replicaBytesPerProcess(maxBytes: number, processes: number): number {
  return processes <= 1 ? maxBytes : Math.max(1, Math.floor(maxBytes / processes));
}

export interface StartReplicaOptions {
  /** A replica of the versions this process's transfers build only (`ReplicaOptions.passive`): the multi-process owner's. */
  passive?: boolean;
  /** Where those versions go as well (the multi-process owner's query processes, `front-processes.ts`). */
  alsoTo?: OwnerLoad;
}

export function startReplica(config: Config, log: Logger, metrics: Metrics, commits: CommitEvents | undefined, processes = 1, options: StartReplicaOptions = {}): StartedReplica | undefined {
  if (config.replica.maxBytes === 0) return undefined;
  const { passive = false, alsoTo } = options;
  const replica = new Replica({
    passive,
    source: httpReplicaSource({ workerUrl: config.workerUrl, internalToken: config.internalToken, timeoutMs: Math.min(config.workerTimeoutMs, 2_000) }),
    log: log.child({ part: "replica" }),
    maxRecords: config.replica.maxRecords,
    // Each query process holds its own copy: together they stay within the instance's bound.
    maxBytes: replicaBytesPerProcess(config.replica.maxBytes, processes),
    pollMs: config.replica.pollMs,
    events: {
      loaded: (seconds, _records, kind) => metrics.replicaLoadSeconds.observe({ kind }, seconds),
      staleWindow: (seconds) => metrics.replicaStaleSeconds.observe(seconds),
    },
  });
  metrics.watchReplica(() => replica.stats());
  const unwatch = commits?.on((zone, version) => replica.committed(zone, version));
  // The versions this process's own transfers commit come from the transfer, not read back (`owner-load.ts`).
  const unregister = registerOwnerLoad(
    config.instanceId,
    // Packed as the stream goes (issue 28: keeping the pieces until the commit held them beside the packed zone).
    {
      maxRecords: config.replica.maxRecords,
      offer: (zone, offer) => {
        replica.offer(zone, offer);
        return alsoTo?.offer(zone, offer);
      },
      withdraw: (zone) => {
        replica.withdraw(zone);
        alsoTo?.withdraw(zone);
      },
      // Issue 28: an IXFR's changed nodes from the base version held, so that the Worker reads no block.
      nodesFor: (zone, offer) => replica.nodesFor(zone, offer),
    },
    log.child({ part: "replica" }),
  );
  void replica.start();
  return {
    replica,
    async stop() {
      unregister();
      unwatch?.();
      await replica.stop();
    },
  };
}
