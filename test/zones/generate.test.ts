/**
 * @module The generator's promises, checked: same seed same zone, a smaller zone is a prefix of a bigger
 * one (so record-count changes are known IXFR differences), exact record counts, the type mix, unique
 * owners (no CNAME beside other data), the streamed file equal to the in-memory text, and real
 * `named-checkzone` accepting the result.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { runTool } from "../peers/run-tool.ts";
import { type GenerateZoneOptions, formatRecord, generateZone, writeZoneFile, zoneRecords } from "./generate.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "backstop-zones-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const records = (opts: GenerateZoneOptions) => [...zoneRecords(opts)];

describe("determinism", () => {
  test.each([
    ["same options", { origin: "a.test", records: 500, seed: 1 }, { origin: "a.test", records: 500, seed: 1 }, true],
    ["another seed", { origin: "a.test", records: 500, seed: 1 }, { origin: "a.test", records: 500, seed: 2 }, false],
    ["another serial", { origin: "a.test", records: 500, seed: 1 }, { origin: "a.test", records: 500, seed: 1, serial: 2 }, false],
  ])("%s", (_label, a, b, same) => {
    expect(generateZone(a) === generateZone(b)).toBe(same);
  });

  test.each([
    [3, 10],
    [100, 101],
    [1000, 1500],
  ])("%i records are a prefix of %i (apart from the SOA)", (small, big) => {
    const a = records({ origin: "p.test", records: small, seed: 9 }).slice(1).map(formatRecord);
    const b = records({ origin: "p.test", records: big, seed: 9, serial: 2 }).slice(1).map(formatRecord);
    expect(b.slice(0, a.length)).toEqual(a);
  });
});

describe("shape", () => {
  test.each([3, 4, 100, 20_000])("%i records exactly, SOA first, owners unique", (n) => {
    const rs = records({ origin: "s.test", records: n, seed: 5 });
    expect(rs.length).toBe(n);
    expect(rs[0]?.type).toBe("SOA");
    expect(rs.filter((r) => r.type === "SOA").length).toBe(1);
    // Each generated record has its own owner (the origin holds SOA and NS): a CNAME never shares one.
    const owners = rs.slice(2).map((r) => r.owner);
    expect(new Set(owners).size).toBe(owners.length);
  });

  test("20k records mix the types in the intended shares", () => {
    const rs = records({ origin: "mix.test", records: 20_000, seed: 3 });
    const share = (type: string) => rs.filter((r) => r.type === type).length / rs.length;
    const want: Array<[string, number]> = [
      ["A", 0.4],
      ["AAAA", 0.2],
      ["TXT", 0.15],
      ["MX", 0.1],
      ["CNAME", 0.1],
      ["SRV", 0.05],
    ];
    for (const [type, expected] of want) expect(Math.abs(share(type) - expected)).toBeLessThan(0.015);
  });

  test.each([0, 2, 2.5, -1])("records = %s is a RangeError", (n) => {
    expect(() => generateZone({ origin: "x.test", records: n, seed: 1 })).toThrow(RangeError);
  });
});

describe("files", () => {
  test("writeZoneFile streams exactly generateZone's text", async () => {
    const opts = { origin: "w.test", records: 5003, seed: 11, serial: 77 };
    const file = path.join(dir, "w.zone");
    const res = await writeZoneFile(file, opts);
    const text = await readFile(file, "utf8");
    expect(text).toBe(generateZone(opts));
    expect(res).toEqual({ path: file, records: 5003, bytes: Buffer.byteLength(text) });
  });

  test.each([
    ["a small zone", "small.test", 50],
    ["a 20k-record zone", "big.test", 20_000],
    ["the root zone's spelling", ".", 50],
  ])("named-checkzone accepts %s", async (_label, origin, n) => {
    const file = path.join(dir, `${n}-${origin}.zone`);
    await writeZoneFile(file, { origin, records: n, seed: 2 });
    const res = await runTool("named-checkzone", ["-i", "full", origin, file]);
    expect(res.stderr + res.stdout).not.toMatch(/warning|error|has no address/i);
    expect(res.code).toBe(0);
  });
});
