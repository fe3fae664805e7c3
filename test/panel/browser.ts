/**
 * @module A real browser for the panel's tests: Debian's `chromium` driven by playwright-core (no bundled
 * browser download), launched headless with bounded timeouts and always closed; axe-core run inside the
 * page; screenshots kept under `test-results/panel/` (git-ignored), and written to `docs/images/` for the
 * README when BACKSTOP_UPDATE_SCREENSHOTS=1.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
export const ARTIFACTS = path.join(root, "test-results/panel");
const DOCS_IMAGES = path.join(root, "docs/images");

/** Debian's chromium (scripts/check-peers.mjs installs it). */
export const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));

export interface PanelBrowser {
  browser: Browser;
  page: Page;
  /** Content-Security-Policy violations the browser reported (console), which must stay empty. */
  cspViolations: string[];
  close(): Promise<void>;
}

export async function openBrowser(): Promise<PanelBrowser> {
  if (!CHROMIUM) throw new Error("chromium is not installed (apt-get install -y chromium; npm run pretest does it)");
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 60_000,
    // Root in a container has no user namespace for chromium's sandbox.
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    context.setDefaultTimeout(20_000);
    context.setDefaultNavigationTimeout(30_000);
    const page = await context.newPage();
    const cspViolations: string[] = [];
    page.on("console", (m) => {
      if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
    });
    return { browser, page, cspViolations, close: () => browser.close() };
  } catch (err) {
    await browser.close();
    throw err;
  }
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

let axeSource: string | undefined;

/** axe-core's WCAG 2 A/AA rules on the page as it is; the violations rated serious or critical. */
export async function seriousAxeViolations(page: Page): Promise<AxeViolation[]> {
  axeSource ??= await readFile(path.join(root, "node_modules/axe-core/axe.min.js"), "utf8");
  // evaluate() runs outside the page's CSP (which allows no script), as a browser extension would.
  await page.evaluate(axeSource);
  const result = (await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(ctx: unknown, opts: unknown): Promise<{ violations: AxeViolation[] }> } }).axe;
    const r = await axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] } });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) }));
  })) as AxeViolation[];
  return result.filter((v) => v.impact === "serious" || v.impact === "critical");
}

/** A full-page screenshot as a test artifact; also into docs/images/<docsName> when asked to update them. */
export async function screenshot(page: Page, name: string, docsName?: string): Promise<void> {
  await mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true, timeout: 20_000 });
  if (docsName && process.env.BACKSTOP_UPDATE_SCREENSHOTS === "1") {
    await mkdir(DOCS_IMAGES, { recursive: true });
    // The top of the page, taller than the viewport: the facts, the NS check and the chart.
    const height = Math.min(1400, await page.evaluate(() => document.documentElement.scrollHeight));
    await page.screenshot({ path: path.join(DOCS_IMAGES, docsName), fullPage: true, clip: { x: 0, y: 0, width: 1280, height }, timeout: 20_000 });
  }
}
