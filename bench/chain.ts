/**
 * @module Benchmark 8, chain propagation (issue #21): Backstop in the middle of a chain of primaries.
 * knotd (the primary) NOTIFYs two middles, Backstop and a named secondary; each NOTIFYs its own downstream
 * knotd after every transfer (Backstop's `alsoNotify`, named's `also-notify`), which then takes the change
 * by IXFR from it. `--changes` single-record edits on the primary, one after another (a knotc transaction,
 * as benchmark 2); the clock starts just before `zone-commit` and runs until each downstream knotd answers
 * the edited A record's new address over UDP, asked every 10 ms. Target: Backstop's p99 ≤ 1.2× named's.
 * The zone has `--load-records` records and is its own (so benchmark 2's edits do not race these).
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { RRType } from "../dns/constants.ts";
import { startKnotd } from "../test/peers/knotd.ts";
import { freePorts } from "../test/peers/ports.ts";
import type { PeerHandle, TsigKey } from "../test/peers/types.ts";
import { waitFor } from "../test/transfer/service-under-test.ts";
import { generatedRecord, writeZoneFile, type ZoneRecord } from "../test/zones/generate.ts";
import { udpAnswers, untilAnswered } from "./answer-probe.ts";
import type { Benchmark } from "./context.ts";
import { figure, percentile } from "./figure.ts";
import { commitEdits, stageEdits } from "./knot-edit.ts";
import { startNamedSecondary } from "./named-secondary.ts";
import { transferBudgetMs, ZONE_SEED } from "./zone-setup.ts";

/** A fresh TEST-NET-3 address for edit k (RFC 5737), never one the generated zone uses (10/8). */
const addressOf = (k: number) => `203.0.${113 + Math.floor(k / 256)}.${k % 256}`;

export const chain: Benchmark = {
  id: "chain",
  title: "Chain propagation: knotd edit → middle (Backstop | named) → downstream knotd answers",
  async run(ctx) {
    const stack = await ctx.stack();
    const records = ctx.options.loadRecords;
    const zone = `chain${records}.bench`;
    const key: TsigKey = { name: `${zone}.key`, algorithm: "hmac-sha256", secret: randomBytes(32).toString("base64") };
    const dir = await mkdtemp(path.join(tmpdir(), "backstop-bench-chain-"));
    const cleanups: Array<() => Promise<void>> = [() => rm(dir, { recursive: true, force: true })];
    try {
      const file = path.join(dir, "zone");
      await writeZoneFile(file, { origin: zone, records, seed: ZONE_SEED, serial: 1 });
      const [backstopDownPort, namedDownPort] = (await freePorts(2)) as [number, number];
      const named = await startNamedSecondary([key]);
      cleanups.push(() => named.stop());
      const budget = transferBudgetMs(records);
      const primary = await startKnotd({
        keys: [key],
        zones: [{ name: zone, file, transferKey: key.name, notify: [`127.0.0.1:${stack.dnsPort}`, `127.0.0.1:${named.port}`], signNotify: true }],
        startTimeoutMs: budget,
      });
      cleanups.push(() => primary.stop());

      await stack.addTsigKey(key);
      await stack.api(
        "POST",
        "/zones",
        {
          name: zone,
          model: "secondary",
          primaries: [{ address: "127.0.0.1", port: primary.port, tsigKey: key.name }],
          notifyAllow: ["127.0.0.1/32"],
          transferAllow: [{ address: "127.0.0.1" }],
          alsoNotify: [{ address: "127.0.0.1", port: backstopDownPort }],
        },
        201,
      );
      await named.addZone(zone, primary.port, key, [namedDownPort]);
      await waitFor(`${zone} at serial 1 in Backstop`, async () => (await stack.serial(zone).catch(() => undefined)) === 1, budget);

      // Downstreams: unsigned transfers from loopback, NOTIFY accepted from their middle's address.
      const downstreams: PeerHandle[] = [];
      for (const port of [backstopDownPort, namedDownPort]) {
        const middle = port === backstopDownPort ? stack.dnsPort : named.port;
        const down = await startKnotd({ port, zones: [{ name: zone, secondaryOf: { address: "127.0.0.1", port: middle } }] });
        cleanups.push(() => down.stop());
        downstreams.push(down);
      }
      const [backstopDown, namedDown] = downstreams as [PeerHandle, PeerHandle];
      for (const down of downstreams) await waitFor(`${zone} at serial 1 downstream`, async () => (await down.serial(zone).catch(() => 0)) === 1, budget);

      const targets: ZoneRecord[] = [];
      const step = Math.max(1, Math.floor((records - 3) / (ctx.options.chainChanges * 2.5)));
      for (let i = 0; i < records - 3 && targets.length < ctx.options.chainChanges; i += step) {
        const r = generatedRecord(zone, ZONE_SEED, i);
        if (r.type === "A") targets.push(r);
      }
      const viaBackstop: number[] = [];
      const viaNamed: number[] = [];
      for (const [k, record] of targets.entries()) {
        const address = addressOf(k);
        await stageEdits(primary, zone, [
          { op: "unset", owner: record.owner, type: "A" },
          { op: "set", owner: record.owner, ttl: record.ttl, type: "A", data: address },
        ]);
        const since = performance.now();
        await commitEdits(primary, zone);
        const opts = { since, timeoutMs: 30_000, maxDelayMs: 10 };
        const [b, n] = await Promise.all([
          untilAnswered(() => udpAnswers(backstopDown.port, record.owner, RRType.A), address, { ...opts, what: `knotd behind Backstop, edit ${k}` }),
          untilAnswered(() => udpAnswers(namedDown.port, record.owner, RRType.A), address, { ...opts, what: `knotd behind named, edit ${k}` }),
        ]);
        viaBackstop.push(b);
        viaNamed.push(n);
        if ((k + 1) % 10 === 0) ctx.log(`  ${k + 1}/${targets.length} edits: last via Backstop ${b.toFixed(0)} ms, via named ${n.toFixed(0)} ms`);
      }
      const slowest = (xs: number[]) =>
        xs
          .map((ms, k) => ({ ms, k }))
          .sort((a, b) => b.ms - a.ms)
          .slice(0, 2)
          .map(({ ms, k }) => `edit ${k} ${ms.toFixed(0)} ms`)
          .join(", ");
      const note =
        `${targets.length} edits on a ${records.toLocaleString("en")}-record zone; knotd primary → middle → knotd downstream; ` +
        `slowest via Backstop: ${slowest(viaBackstop)}; via named: ${slowest(viaNamed)}`;
      return [
        figure({ bench: "chain", what: "p50 edit → answered downstream", unit: "ms", backstop: percentile(viaBackstop, 50), peer: percentile(viaNamed, 50), peerName: "named", note }),
        figure({
          bench: "chain",
          what: "p99 edit → answered downstream",
          unit: "ms",
          backstop: percentile(viaBackstop, 99),
          peer: percentile(viaNamed, 99),
          peerName: "named",
          target: { ratioAtMost: 1.2 },
          note,
        }),
      ];
    } finally {
      for (const c of cleanups.reverse()) await c().catch(() => undefined);
    }
  },
};
