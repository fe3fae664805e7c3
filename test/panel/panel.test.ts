/**
 * @module The control panel in a real browser (Debian's chromium through playwright-core) against the real
 * Worker (`wrangler dev`, local D1), the transfer-service in-process and knotd as the primary: sign in with
 * a wrong then the right token, add a TSIG key and a zone through the forms, see it active with knotd's
 * serial and record count and the apex NS check; a wrong secret shows the TSIG cause in words with its fix;
 * a change at knotd appears in the history and the last difference; promote, delete, sign out. axe-core on
 * every page (no serious or critical violation) and no Content-Security-Policy violation. Screenshots are
 * artifacts (test-results/panel/), and README images with BACKSTOP_UPDATE_SCREENSHOTS=1.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startKnotd, type PeerHandle, type TsigKey } from "../peers/index.ts";
import { generateZone, zoneRecords } from "../zones/generate.ts";
import { startLocalStack, type LocalStack } from "../transfer/local-stack.ts";
import { waitFor } from "../transfer/service-under-test.ts";
import { openBrowser, screenshot, seriousAxeViolations, type PanelBrowser } from "./browser.ts";

const GOOD = "good.test";
const BAD = "bad.test";
const goodKey: TsigKey = { name: "good-key", algorithm: "hmac-sha256", secret: randomBytes(32).toString("base64") };
const badKey: TsigKey = { name: "bad-key", algorithm: "hmac-sha256", secret: randomBytes(32).toString("base64") };
const text = (zone: string, serial: number, records: number) => generateZone({ origin: zone, records, seed: 5, serial });

let stack: LocalStack | undefined;
let knotd: PeerHandle | undefined;
let ui: PanelBrowser | undefined;

beforeAll(async () => {
  // This deployment's nameserver is the one good.test's NS set names: dark, the check must object; live, pass.
  stack = await startLocalStack({ workerVars: { BACKSTOP_NAMESERVERS: `ns1.${GOOD}`, BACKSTOP_TRANSFER_ADDRESSES: "127.0.0.1" } });
  knotd = await startKnotd({
    keys: [goodKey, badKey],
    zones: [
      { name: GOOD, text: text(GOOD, 1, 60), transferKey: goodKey.name, notify: [`127.0.0.1:${stack.dnsPort}`], signNotify: true },
      { name: BAD, text: text(BAD, 1, 20), transferKey: badKey.name },
    ],
  });
  ui = await openBrowser();
}, 180_000);

afterAll(async () => {
  await ui?.close();
  await knotd?.stop();
  await stack?.stop();
}, 60_000);

async function expectAccessible(name: string): Promise<void> {
  const violations = await seriousAxeViolations(ui!.page);
  expect(violations, `${name}: ${JSON.stringify(violations, null, 1)}`).toEqual([]);
}

const zoneJson = async (zone: string) => (await stack!.api("GET", `/api/v1/zones/${zone}`)).json;

describe("the control panel in a browser", () => {
  it("signs in, adds a key and a zone through the forms, follows knotd, explains a wrong secret, promotes, deletes, signs out", async () => {
    const page = ui!.page;
    const base = stack!.base;

    // Sign-in: / leads to the form; a wrong token is refused in words.
    await page.goto(`${base}/`);
    expect(new URL(page.url()).pathname).toBe("/login");
    await expectAccessible("login");
    await page.getByLabel("Admin token").fill("not-the-token");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect.poll(() => page.locator("[role=alert]").textContent()).toContain("not the admin token");
    await page.getByLabel("Admin token").fill(stack!.adminToken);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`${base}/`);
    await expectAccessible("empty zone list");

    // TSIG keys page: add knotd's key, and a wrong secret under knotd's other key name.
    await page.getByRole("link", { name: "TSIG keys" }).click();
    for (const k of [goodKey, { ...badKey, secret: randomBytes(32).toString("base64") }]) {
      await page.getByLabel("Key name").first().fill(k.name);
      await page.getByLabel("Secret (base64)").fill(k.secret);
      await page.getByRole("button", { name: "Add the key" }).click();
      await expect.poll(() => page.locator("#keys").textContent()).toContain(k.name);
    }
    expect(await page.content()).not.toContain(goodKey.secret);
    await expectAccessible("keys");

    // Add a zone: step 1 shows the deployment; the form takes knotd, the key, the dark model.
    const addZone = async (zone: string, key: string, model: "live" | "dark") => {
      await page.getByRole("link", { name: "Add a zone" }).click();
      await expect.poll(() => page.locator("#deployment").textContent()).toContain(`ns1.${GOOD}`);
      await page.getByLabel("Zone name").fill(zone);
      await page.getByLabel("Primary address").fill("127.0.0.1");
      await page.getByLabel("Primary port").fill(String(knotd!.port));
      await page.getByLabel("Key", { exact: true }).selectOption(key);
      await page.getByRole("radio", { name: model === "live" ? /live:/ : /dark \(hidden\)/ }).check();
      await page.getByRole("button", { name: /add the zone/ }).click();
      await expect.poll(() => page.locator("h1").textContent()).toBe(`${zone} added`);
      expect(await page.locator(".notice.warn pre").first().textContent()).toMatch(/^[A-Za-z0-9_-]{43}$/);
    };
    await page.getByRole("link", { name: "Add a zone" }).click();
    await expectAccessible("add zone");
    await addZone(GOOD, goodKey.name, "dark");
    await addZone(BAD, badKey.name, "live");

    // good.test becomes active with knotd's serial and record count; the NS check objects to a dark zone naming us.
    await waitFor(`${GOOD} active`, async () => (await zoneJson(GOOD)).status === "active", 60_000);
    await page.goto(`${base}/zones/${GOOD}`);
    expect(await page.locator(".badge").first().textContent()).toBe("active");
    expect(await page.locator("#record-count").textContent()).toBe("60");
    expect(await page.locator("table").first().textContent()).toContain("Serial here1");
    expect(await page.locator("#ns-check").textContent()).toContain("A dark zone's NS set must not name this deployment's nameservers");
    await expectAccessible("zone page");

    // bad.test: knotd refuses our signature; the page says so, and which row of the causes it is.
    await waitFor(`${BAD} failing`, async () => (await zoneJson(BAD)).lastTransfer?.result === "failed", 60_000);
    await page.goto(`${base}/zones/${BAD}`);
    expect(await page.locator("#last-error").textContent()).toContain("BADSIG");
    const cause = page.locator("#causes tr.cause-match");
    expect(await cause.count()).toBe(1);
    expect(await cause.getAttribute("data-cause")).toBe("tsig-secret");
    expect(await cause.textContent()).toContain('different secrets for key "bad-key"');
    await expectAccessible("failing zone page");

    // A change at knotd: NOTIFY, IXFR; the history and the last difference show it.
    await knotd!.updateZone(GOOD, text(GOOD, 2, 65));
    await waitFor(`${GOOD} serial 2`, async () => (await zoneJson(GOOD)).serial === 2, 60_000);
    await page.goto(`${base}/zones/${GOOD}`);
    expect(await page.locator("#transfer-log tbody tr").first().textContent()).toMatch(/ixfr\s*ok/);
    expect(await page.locator("svg.chart rect").count()).toBeGreaterThanOrEqual(2);
    // The IXFR's difference: the five records past the first 60, and the SOA pair (RFC 1995 §4).
    const added = [...zoneRecords({ origin: GOOD, records: 65, seed: 5, serial: 2 })].slice(60);
    const diff = (await page.locator("#last-diff").textContent())!;
    expect(diff).toContain(`Serial 1 → 2: ${added.length + 1} records added, 1 removed`);
    for (const r of added) expect(diff).toContain(`${r.owner} ${r.ttl} IN ${r.type} ${r.data}`);
    await screenshot(page, "zone", "panel-zone.png");

    // Promote: live, and the NS check now passes.
    await page.getByRole("button", { name: "Promote to live" }).click();
    await expect.poll(() => page.locator("[role=status]").first().textContent()).toContain("is now live");
    expect(await page.locator("#ns-check").textContent()).toContain("includes all of this deployment's nameservers");
    expect((await zoneJson(GOOD)).model).toBe("secondary");

    // The list: problems first, with totals.
    await page.goto(`${base}/`);
    expect(await page.locator("#h-problems + table tbody tr th").allTextContents()).toEqual([BAD]);
    await expectAccessible("zone list");
    await screenshot(page, "zone-list", "panel-zone-list.png");

    // Delete needs the name typed.
    await page.goto(`${base}/zones/${BAD}`);
    await page.getByLabel(`Type ${BAD} to delete it`).fill(BAD);
    await page.getByRole("button", { name: "Delete the zone" }).click();
    await expect.poll(() => page.locator("[role=status]").first().textContent()).toContain("Zone deleted.");
    expect((await stack!.api("GET", `/api/v1/zones/${BAD}`)).status).toBe(404);

    // Sign out ends the session.
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(/\/login\?out=1$/);
    await page.goto(`${base}/`);
    expect(new URL(page.url()).pathname).toBe("/login");
    expect(ui!.cspViolations).toEqual([]);
  }, 240_000);
});
