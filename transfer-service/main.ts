/**
 * @module Entry point of the transfer-service (`tsx transfer-service/main.ts`; `npm start` runs it beside
 * the Worker). Reads the configuration from the environment, starts the service, and shuts it down
 * gracefully on SIGTERM/SIGINT: stop taking new work, let in-flight transfers finish within the grace
 * period, then exit. A second signal exits at once.
 *
 * With `BACKSTOP_FRONT_PROCESSES` above 1 (the default on a machine of several cores) this process is the
 * owner (`server/front-processes.ts`): it starts that many query processes (node:cluster workers, which run
 * this same file and take the `startQueryProcess` branch) and supervises them. A query process ignores
 * SIGTERM and SIGINT (a terminal's Ctrl-C reaches the whole process group): the owner stops it when the
 * owner stops, and a query process whose owner is gone exits (node:cluster's own rule).
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { CommitEvents, watchCommits } from "./server/query/commit-watch.ts";
import { type Config, ConfigError, describeConfig, loadConfig } from "./config.ts";
import { startDohFront } from "./server/doh-front.ts";
import { nodeHmac } from "../dns/hmac.node.ts";
import { createLogger } from "./ops/log.ts";
import { Metrics } from "./ops/metrics.ts";
import { querySlot } from "./server/front-processes.ts";
import { startQueryProcess, startService } from "./service.ts";
import { WorkerClient } from "./worker/worker-client.ts";
import { ZoneSet } from "./zones/zone-set.ts";

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env, `${hostname()}-${process.pid}`);
  } catch (err) {
    if (err instanceof ConfigError) {
      // Before the logger exists; the message names variables, never their values.
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const slot = querySlot();
  if (slot !== undefined) return queryProcess(config, slot);
  const log = createLogger({ level: config.logLevel, base: { service: "transfer-service", instance: config.instanceId } });
  log.info({ config: describeConfig(config) }, "starting");
  // Several query processes must issue and accept the same DNS cookies: without a configured secret, the
  // owner makes one for all of them (as one process makes one for itself).
  const processes = config.front.processes;
  const frontEnv: Record<string, string> = {};
  if (processes > 1 && config.cookies.secret === undefined) {
    log.warn("BACKSTOP_COOKIE_SECRET is not set: DNS cookies use a random secret of this instance's processes (set one shared secret when several instances answer for one address)");
    frontEnv.BACKSTOP_COOKIE_SECRET = randomBytes(16).toString("hex");
  }

  const metrics = new Metrics();
  const worker = new WorkerClient({
    baseUrl: config.workerUrl,
    token: config.internalToken,
    timeoutMs: config.workerTimeoutMs,
    cutBlocks: config.ingestCut === "service",
    onCall: (route) => metrics.workerCalls.inc({ route }),
  });
  // The port-53 front's cache drops a zone's answers the moment this instance commits a new version of it.
  const commits = new CommitEvents();
  const zones = new ZoneSet({ worker: watchCommits(worker, commits), settings: config, log: log.child({ part: "refresh" }), metrics, hmac: nodeHmac });
  const service = await startService(config, log, { zones, metrics, commits, ...(processes > 1 ? { frontProcesses: { processes, env: frontEnv } } : {}) });
  const doh = config.doh.listen === undefined
    ? undefined
    : await startDohFront({
        workerUrl: config.workerUrl,
        host: config.doh.listen.host,
        port: config.doh.listen.port,
        h2cPort: config.doh.h2cPort,
        tls: config.doh.tls,
        internalToken: config.internalToken,
      });
  log.info({ dns: service.dnsAddresses, http: service.httpAddress, doh: doh?.port, h2c: doh?.h2cPort, frontProcesses: processes }, "listening");

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    stopping = true;
    log.info({ signal, graceMs: config.shutdownGraceMs }, "shutting down");
    const deadline = setTimeout(() => {
      log.warn("grace period over: exiting with work in flight");
      process.exit(1);
    }, config.shutdownGraceMs);
    deadline.unref();
    service.stop().then(
      async () => {
        await doh?.close();
        await worker.close();
        log.info("stopped");
        log.flush();
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err: { message: (err as Error).message } }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

/** A query process of a multi-process front: the port-53 front on the shared sockets, until the owner says stop. */
async function queryProcess(config: Config, slot: number): Promise<void> {
  const log = createLogger({ level: config.logLevel, base: { service: "transfer-service", instance: config.instanceId, frontProcess: slot } });
  const ignore = (signal: NodeJS.Signals) => log.debug({ signal }, "query process: signals are the owner's to act on");
  process.on("SIGTERM", ignore);
  process.on("SIGINT", ignore);
  let stopping = false;
  const running = await startQueryProcess(config, log, {
    slot,
    processes: config.front.processes,
    onOwnerStop: () => {
      if (stopping) return;
      stopping = true;
      running.stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    },
  });
  log.debug({ dns: running.dnsAddresses }, "query process listening");
}

main().catch((err: unknown) => {
  console.error(`transfer-service failed to start: ${(err as Error).message}`);
  process.exit(1);
});
