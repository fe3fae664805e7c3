/**
 * @module Entry point of the transfer-service (`tsx transfer-service/main.ts`; `npm start` runs it beside
 * the Worker). Reads the configuration from the environment, starts the service, and shuts it down
 * gracefully on SIGTERM/SIGINT: stop taking new work, let in-flight transfers finish within the grace
 * period, then exit. A second signal exits at once.
 */
import { hostname } from "node:os";
import { CommitEvents, watchCommits } from "./server/query/commit-watch.ts";
import { ConfigError, describeConfig, loadConfig } from "./config.ts";
import { startDohFront } from "./server/doh-front.ts";
import { nodeHmac } from "../dns/hmac.node.ts";
import { createLogger } from "./ops/log.ts";
import { Metrics } from "./ops/metrics.ts";
import { startService } from "./service.ts";
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
  const log = createLogger({ level: config.logLevel, base: { service: "transfer-service", instance: config.instanceId } });
  log.info({ config: describeConfig(config) }, "starting");

  const worker = new WorkerClient({ baseUrl: config.workerUrl, token: config.internalToken, timeoutMs: config.workerTimeoutMs });
  const metrics = new Metrics();
  // The port-53 front's cache drops a zone's answers the moment this instance commits a new version of it.
  const commits = new CommitEvents();
  const zones = new ZoneSet({ worker: watchCommits(worker, commits), settings: config, log: log.child({ part: "refresh" }), metrics, hmac: nodeHmac });
  const service = await startService(config, log, { zones, metrics, commits });
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
  log.info({ dns: service.dnsAddresses, http: service.httpAddress, doh: doh?.port, h2c: doh?.h2cPort }, "listening");

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

main().catch((err: unknown) => {
  console.error(`transfer-service failed to start: ${(err as Error).message}`);
  process.exit(1);
});
