/**
 * @module The guide harness (`guide-blocks.ts`) on a fixture guide (`fixtures/guide-fixture.md`): its
 * named.conf and knot.conf blocks are extracted, filled, and started as real named and knotd, which
 * then do what the guide says: transfer the zone only with the guide's TSIG key, and NOTIFY the address
 * the guide names. The harness's refusals (an unclosed fence, a placeholder without a value, a swap that
 * no longer matches) are checked too, since a guide test is only as honest as they are.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, kdig, NOTIFY_TRANSPORT, startNotifyCatcher, type NotifyCatcher } from "../peers/index.ts";
import { runToolOk } from "../peers/run-tool.ts";
import { generateZone } from "../zones/generate.ts";
import { extractBlocks, extractSteps, fillBlock, placeholdersOf, startGuidePrimary, type ConfigBlock, type GuidePrimary } from "./guide-blocks.ts";

const fixture = readFileSync(path.join(path.dirname(new URL(import.meta.url).pathname), "fixtures/guide-fixture.md"), "utf8");
const ZONE = "guide.test";
const key = { name: "backstop-xfr.", algorithm: "hmac-sha256", secret: randomBytes(32).toString("base64") } as const;
const zoneText = generateZone({ origin: ZONE, records: 50, seed: 26, serial: 2026120701 });

describe("extractBlocks and fillBlock", () => {
  it("finds the blocks that name a file, with their language and line, and skips the others", () => {
    const blocks = extractBlocks(fixture);
    expect(blocks.map((b) => [b.file, b.lang])).toEqual([
      ["named.conf", "conf"],
      ["knot.conf", "yaml"],
    ]);
    expect(fixture.split("\n")[blocks[0]!.line - 1]).toBe("```conf file=named.conf");
    expect(placeholdersOf(blocks[0]!)).toEqual(["TSIG_SECRET", "ZONE", "BACKSTOP_NOTIFY_ADDRESS", "BACKSTOP_NOTIFY_PORT"]);
  });

  it("refuses an unclosed fence, a path outside the dir, a missing value and a swap that no longer matches", () => {
    expect(() => extractBlocks("text\n```conf file=a.conf\nx\n")).toThrow("line 2: the code block opened here is never closed");
    expect(() => extractBlocks("```conf file=../etc/passwd\nx\n```\n")).toThrow("must be a relative path");
    const block: ConfigBlock = extractBlocks(fixture)[0]!;
    expect(() => fillBlock(block, { TSIG_SECRET: "s", ZONE })).toThrow(
      `named.conf (line ${block.line}): no value for <BACKSTOP_NOTIFY_ADDRESS>, <BACKSTOP_NOTIFY_PORT>`,
    );
    expect(() => fillBlock(block, {}, { replace: [["listen-on port 5353", "x"]] })).toThrow("the guide no longer contains listen-on port 5353");
  });
});

describe("extractSteps", () => {
  it("finds the blocks marked step=N, which extractBlocks leaves out, and refuses a step that is not a number", () => {
    const md = "```sh step=2\nnpx backstop key generate k --add\n```\n\n```text\nout\n```\n\n```sh step=5\nnpx backstop zone add <ZONE>\n```\n";
    expect(extractBlocks(md)).toEqual([]);
    const steps = extractSteps(md);
    expect(steps.map((s) => [s.step, s.file, s.line, s.text])).toEqual([
      [2, "step-2", 1, "npx backstop key generate k --add\n"],
      [5, "step-5", 9, "npx backstop zone add <ZONE>\n"],
    ]);
    expect(fillBlock(steps[1]!, { ZONE })).toBe(`npx backstop zone add ${ZONE}\n`);
    expect(() => extractSteps("```sh step=two\nx\n```\n")).toThrow("line 1: step=two is not a step number");
  });
});

describe("primaries started from the fixture guide's blocks", () => {
  let catcher: NotifyCatcher;
  const started: GuidePrimary[] = [];
  beforeAll(async () => {
    catcher = await startNotifyCatcher();
  });
  afterAll(async () => {
    for (const p of started) await p.stop();
    await catcher?.close();
  });
  const values = () => ({
    TSIG_SECRET: key.secret,
    ZONE,
    BACKSTOP_NOTIFY_ADDRESS: catcher.address,
    BACKSTOP_NOTIFY_PORT: String(catcher.port),
  });
  const [named, knot] = extractBlocks(fixture);

  async function checkPrimary(p: GuidePrimary) {
    // The guide's key transfers the zone; without it the primary refuses.
    const signed = await kdig({ port: p.port, zone: ZONE, type: "AXFR", key, timeoutMs: 10_000 });
    expect(signed.errors).toEqual([]);
    expect(signed.records).toHaveLength(51); // 50 records, and the SOA again at the end
    const unsigned = await kdig({ port: p.port, zone: ZONE, type: "AXFR", timeoutMs: 10_000 });
    expect(unsigned.records).toHaveLength(0);
    // And it NOTIFYs the address the guide names (told apart by transport: knotd sends over TCP, named UDP).
    // named does on loading the zone; knotd does not on its first load, so the way a guide asks it to.
    if (p.kind === "knotd") await runToolOk("knotc", ["-c", path.join(p.dir, "knot.conf"), "zone-notify", `${ZONE}.`], { timeoutMs: 10_000 });
    const transport = NOTIFY_TRANSPORT[p.kind === "knotd" ? "knotd" : "named"];
    const n = await catcher.wait((c) => c.zone === `${ZONE}.` && c.transport === transport, 20_000).catch((e: Error) => {
      throw new Error(`${e.message}; caught: ${JSON.stringify(catcher.caught)}; ${p.kind} said:\n${p.output()}`);
    });
    expect(n.serial).toBe(2026120701);
  }

  it("named from the named.conf block", async () => {
    const port = await freePort();
    const p = await startGuidePrimary(
      "named",
      (dir) => ({
        "named.conf": fillBlock(named!, values(), {
          replace: [
            ['"/var/cache/bind"', JSON.stringify(dir)],
            ["listen-on port 53 { any; };", `listen-on port ${port} { 127.0.0.1; };`],
            // Where a packaged named keeps these by default; a test dir instead.
            ["options {", `options {\n  pid-file "${dir}/named.pid";\n  session-keyfile "${dir}/session.key";\n  managed-keys-directory "${dir}";`],
          ],
        }),
        [`${ZONE}.zone`]: zoneText,
      }),
      { port, zones: [ZONE] },
    );
    started.push(p);
    await checkPrimary(p);
  });

  it("knotd from the knot.conf block", async () => {
    const port = await freePort();
    const p = await startGuidePrimary(
      "knotd",
      (dir) => ({
        "knot.conf": fillBlock(knot!, values(), {
          replace: [
            ["/run/knot", dir],
            ["/var/lib/knot", dir],
            ["0.0.0.0@53", `127.0.0.1@${port}`],
          ],
        }),
        [`${ZONE}.zone`]: zoneText,
      }),
      { port, zones: [ZONE] },
    );
    started.push(p);
    await checkPrimary(p);
  });

  it("a block that does not start says so with the daemon's own words", async () => {
    const port = await freePort();
    const err = await startGuidePrimary("named", () => ({ "named.conf": 'options { listen-on port 1 { 127.0.0.1; }; bogus-option yes; };\n' }), {
      port,
      zones: [ZONE],
      timeoutMs: 10_000,
    }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/named exited; output:[\s\S]*bogus-option/);
  });
});
