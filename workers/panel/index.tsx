/** @jsxImportSource hono/jsx */
/**
 * @module The control panel (issue 23): server-rendered pages (hono/jsx) for the operator, working without
 * JavaScript. Reads use the API's own queries; every change goes through `/api/v1` in-process
 * (`api-call.ts`), so the panel adds no second way to change a zone.
 *
 * Every route runs behind the same guards, given per route (not as `use("*")`, which would run for every
 * path of the Worker once the panel is mounted at `/`): the security headers, the request's D1 session,
 * and, past the sign-in page, a live panel session (`session.ts`) and, on a POST, its CSRF token (403
 * without it).
 */
import { Hono, type Context, type MiddlewareHandler } from "hono";
import type { Child } from "hono/jsx";
import { CLOUDFLARE_NOTIFY_PREFIXES } from "../../contract/cloudflare-addresses.ts";
import { deploymentOf } from "../api/deployment.ts";
import { transfersOf } from "../db/queries/transfer-log.ts";
import { listTsigKeys } from "../db/queries/tsig-keys.ts";
import { listZones, zoneByName } from "../db/queries/zones.ts";
import type { Env } from "../env.d.ts";
import { d1Session, type SessionVariables } from "../http/d1-session/index.ts";
import { normalizeDnsName, nameFromPath } from "../http/dns-name/index.ts";
import { ApiError } from "../http/errors/index.ts";
import { AddZonePage, ZoneCreatedPage, type AddZoneForm } from "./add-zone.tsx";
import { apiErrorWords, callApi } from "./api-call.ts";
import { generateTsigSecret, type ShownKey } from "./key-syntax.ts";
import { KeysPage } from "./keys-page.tsx";
import { Notice, Page, PANEL_CSS } from "./layout.tsx";
import { LoginPage } from "./login-page.tsx";
import { CSRF_FIELD, currentSession, endSession, loginCsrfMatches, loginCsrfToken, LOGIN_CSRF_COOKIE, startSession, tokensEqual, type PanelSession } from "./session.ts";
import { panelPrincipalForToken } from "./sign-in.ts";
import { listQuery, loadList, ZoneListPage } from "./zone-list.tsx";
import { DONE_WORDS, ZonePage, type ZonePageData } from "./zone-page.tsx";
import { apexNsCheck, lastDifference } from "./zone-facts.ts";
import { deleteCookie } from "hono/cookie";

export interface PanelEnv {
  Bindings: Env;
  Variables: SessionVariables & { session: PanelSession };
}
type PanelContext = Context<PanelEnv>;

/**
 * No script at all, styles only from `/panel.css`, no framing, forms only to this origin (CSP level 3);
 * X-Frame-Options for browsers without `frame-ancestors`.
 */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const securityHeaders: MiddlewareHandler<PanelEnv> = async (c, next) => {
  await next();
  c.res.headers.set("content-security-policy", CONTENT_SECURITY_POLICY);
  c.res.headers.set("x-frame-options", "DENY");
  c.res.headers.set("referrer-policy", "no-referrer");
  c.res.headers.set("x-content-type-options", "nosniff");
  if (!c.res.headers.has("cache-control")) c.res.headers.set("cache-control", "no-store");
};

function html(c: PanelContext, page: Child, status: 200 | 400 | 401 | 403 | 404 | 409 = 200): Response {
  return c.html(`<!doctype html>${String(page)}`, status);
}

/** A signed-in session, or the sign-in page (GET) / 403 (POST); on a POST also the session's CSRF token. */
const signedIn: MiddlewareHandler<PanelEnv> = async (c, next) => {
  const session = await currentSession(c, c.var.db);
  if (!session) {
    if (c.req.method === "GET" || c.req.method === "HEAD") return c.redirect("/login", 303);
    return html(c, <Page title="Signed out" signedIn={false}><Notice kind="error">Your session has ended. <a href="/login">Sign in again</a>.</Notice></Page>, 403);
  }
  if (c.req.method === "POST") {
    const body = await c.req.parseBody();
    const presented = typeof body[CSRF_FIELD] === "string" ? body[CSRF_FIELD] : undefined;
    if (!tokensEqual(session.csrfToken, presented)) {
      return html(c, <Page title="Refused" signedIn={false}><Notice kind="error">This form lacks its CSRF token (or has another session's): nothing was changed. Go back, reload the page and try again.</Notice></Page>, 403);
    }
  }
  c.set("session", session);
  await next();
  return undefined;
};

const open = [securityHeaders, d1Session() as unknown as MiddlewareHandler<PanelEnv>] as const;
const guarded = [...open, signedIn] as const;

async function field(c: PanelContext, name: string): Promise<string> {
  const value = (await c.req.parseBody())[name];
  return typeof value === "string" ? value.trim() : "";
}

async function loadZonePage(c: PanelContext): Promise<ZonePageData> {
  const name = nameFromPath(c.req.param("name"));
  const zone = await zoneByName(c.var.db, name);
  if (!zone) throw new ApiError(404, "not-found", `no zone named ${name}`);
  const deployment = deploymentOf(c.env);
  const [transfers, diff, ns] = await Promise.all([
    transfersOf(c.var.db, zone.id, 50),
    lastDifference(c.var.db, zone),
    apexNsCheck(c.var.db, zone, deployment.nameservers),
  ]);
  return { zone, transfers, diff, ns, deployment };
}

async function keyRows(c: PanelContext) {
  const keys = await listTsigKeys(c.var.db);
  // One read of the zones for every key (zonesUsingKey reads them all per key).
  const zones = keys.length === 0 ? [] : await listZones(c.var.db);
  return keys.map((k) => ({
    ...k,
    usedBy: zones
      .filter((z) => z.tsigKey === k.name || z.primaries.some((p) => p.tsigKey === k.name) || z.transferAllow.some((t) => t.tsigKey === k.name) || z.alsoNotify.some((t) => t.tsigKey === k.name))
      .map((z) => z.name),
  }));
}

export function createPanel(): Hono<PanelEnv> {
  const panel = new Hono<PanelEnv>();

  panel.get("/panel.css", securityHeaders, (c) => c.body(PANEL_CSS, 200, { "content-type": "text/css; charset=utf-8", "cache-control": "public, max-age=3600" }));

  panel.get("/login", ...open, async (c) => {
    if (await currentSession(c, c.var.db)) return c.redirect("/", 303);
    return html(c, <LoginPage csrf={loginCsrfToken(c)} notice={c.req.query("out") === "1" ? "Signed out." : undefined} />);
  });

  panel.post("/login", ...open, async (c) => {
    const body = await c.req.parseBody();
    if (!loginCsrfMatches(c, typeof body[CSRF_FIELD] === "string" ? body[CSRF_FIELD] : undefined)) {
      return html(c, <LoginPage csrf={loginCsrfToken(c)} error="The sign-in form was stale or came from elsewhere (CSRF token missing or wrong); try again." />, 403);
    }
    const principal = await panelPrincipalForToken(typeof body.token === "string" ? body.token.trim() : "", c.env);
    if (!principal) return html(c, <LoginPage csrf={loginCsrfToken(c)} error="That token does not open the panel: it is not the admin token." />, 401);
    await startSession(c, c.var.db, principal);
    deleteCookie(c, LOGIN_CSRF_COOKIE, { path: "/" });
    return c.redirect("/", 303);
  });

  panel.post("/logout", ...guarded, async (c) => {
    await endSession(c, c.var.db, c.var.session);
    return c.redirect("/login?out=1", 303);
  });

  panel.get("/", ...guarded, async (c) => {
    const now = Date.now();
    const query = listQuery(c.req.query());
    const data = await loadList(c.var.db, query, now);
    return html(c, <ZoneListPage data={data} query={query} csrf={c.var.session.csrfToken} now={now} notice={c.req.query("done") === "deleted" ? "Zone deleted." : undefined} />);
  });

  panel.get("/zones/new", ...guarded, async (c) => {
    const keys = await listTsigKeys(c.var.db);
    return html(c, <AddZonePage deployment={deploymentOf(c.env)} keys={keys} csrf={c.var.session.csrfToken} />);
  });

  panel.post("/zones", ...guarded, async (c) => {
    const form: AddZoneForm = {
      name: await field(c, "name"),
      address: await field(c, "address"),
      port: (await field(c, "port")) || "53",
      key: await field(c, "key"),
      model: (await field(c, "model")) === "hidden" ? "hidden" : "secondary",
      cloudflare: (await field(c, "cloudflare")) === "yes",
      notifyAllow: await field(c, "notifyAllow"),
    };
    const again = async (error: string) =>
      html(c, <AddZonePage deployment={deploymentOf(c.env)} keys={await listTsigKeys(c.var.db)} csrf={c.var.session.csrfToken} form={form} error={error} />, 400);
    const zoneName = normalizeDnsName(form.name ?? "");
    if ("error" in zoneName) return again(`Zone name: ${zoneName.error}`);
    let shownKey: ShownKey | undefined;
    let tsigKey = form.key || undefined;
    if (form.key === "__generate") {
      const algorithm = await field(c, "algorithm");
      shownKey = { name: `xfr-${zoneName.name}`, algorithm, secret: generateTsigSecret(algorithm) };
      const made = await callApi(c, "POST", "/tsig-keys", shownKey);
      if (made.status !== 201) return again(`The new TSIG key: ${apiErrorWords(made)}`);
      tsigKey = shownKey.name;
    }
    const notifyAllow = [...(form.cloudflare ? CLOUDFLARE_NOTIFY_PREFIXES : []), ...(form.notifyAllow ?? "").split(/[\s,]+/).filter((s) => s !== "")];
    const port = /^\d{1,5}$/.test(form.port ?? "") ? Number(form.port) : NaN;
    if (!Number.isInteger(port)) return again("Primary port: must be a number from 1 to 65535");
    const created = await callApi(c, "POST", "/zones", {
      name: zoneName.name,
      model: form.model,
      primaries: [{ address: form.address, port, ...(tsigKey ? { tsigKey } : {}) }],
      notifyAllow,
    });
    if (created.status !== 201) {
      if (shownKey) await callApi(c, "DELETE", `/tsig-keys/${shownKey.name}`);
      return again(apiErrorWords(created));
    }
    return html(c, <ZoneCreatedPage zone={created.json.name} webhookSecret={created.json.webhookSecret} shownKey={shownKey} csrf={c.var.session.csrfToken} />, 200);
  });

  panel.get("/zones/:name", ...guarded, async (c) => {
    const data = await loadZonePage(c);
    const done = DONE_WORDS[c.req.query("done") ?? ""];
    return html(c, <ZonePage data={data} csrf={c.var.session.csrfToken} now={Date.now()} notice={done} />);
  });

  /** A zone action through the API: back to the zone page with its words, or the page with the API's error. */
  const zoneAction = (path: string, body: unknown, done: keyof typeof DONE_WORDS) =>
    async (c: PanelContext) => {
      const name = nameFromPath(c.req.param("name"));
      const answer = await callApi(c, "POST", `/zones/${name}/${path}`, body);
      if (answer.status >= 300) {
        return html(c, <ZonePage data={await loadZonePage(c)} csrf={c.var.session.csrfToken} now={Date.now()} error={apiErrorWords(answer)} />, 400);
      }
      return c.redirect(`/zones/${name}?done=${done}`, 303);
    };
  panel.post("/zones/:name/refresh", ...guarded, zoneAction("refresh", {}, "refresh"));
  panel.post("/zones/:name/force-axfr", ...guarded, zoneAction("refresh", { force: "axfr" }, "axfr"));
  panel.post("/zones/:name/accept-lower-serial", ...guarded, async (c) => {
    if ((await field(c, "confirm")) !== "yes") {
      return html(c, <ZonePage data={await loadZonePage(c)} csrf={c.var.session.csrfToken} now={Date.now()} error="Tick the box that names both serials to accept the lower one." />, 400);
    }
    return zoneAction("refresh", { force: "axfr", acceptLowerSerial: true }, "accept-lower")(c);
  });

  panel.post("/zones/:name/webhook-secret", ...guarded, async (c) => {
    const name = nameFromPath(c.req.param("name"));
    const answer = await callApi(c, "POST", `/zones/${name}/webhook-secret`);
    const data = await loadZonePage(c);
    if (answer.status !== 200) return html(c, <ZonePage data={data} csrf={c.var.session.csrfToken} now={Date.now()} error={apiErrorWords(answer)} />, 400);
    return html(c, <ZonePage data={data} csrf={c.var.session.csrfToken} now={Date.now()} webhookSecret={answer.json.webhookSecret} />);
  });

  panel.post("/zones/:name/promote", ...guarded, async (c) => {
    const name = nameFromPath(c.req.param("name"));
    const answer = await callApi(c, "PATCH", `/zones/${name}`, { model: "secondary" });
    const data = await loadZonePage(c);
    if (answer.status !== 200) return html(c, <ZonePage data={data} csrf={c.var.session.csrfToken} now={Date.now()} error={apiErrorWords(answer)} />, 400);
    return html(c, <ZonePage data={data} csrf={c.var.session.csrfToken} now={Date.now()} promoted />);
  });

  panel.post("/zones/:name/delete", ...guarded, async (c) => {
    const name = nameFromPath(c.req.param("name"));
    if ((await field(c, "confirm")).toLowerCase().replace(/\.$/, "") !== name) {
      return html(c, <ZonePage data={await loadZonePage(c)} csrf={c.var.session.csrfToken} now={Date.now()} error={`Type the zone's name, ${name}, to delete it; nothing was deleted.`} />, 400);
    }
    const answer = await callApi(c, "DELETE", `/zones/${name}`);
    if (answer.status !== 204) return html(c, <ZonePage data={await loadZonePage(c)} csrf={c.var.session.csrfToken} now={Date.now()} error={apiErrorWords(answer)} />, 400);
    return c.redirect("/?done=deleted", 303);
  });

  panel.get("/keys", ...guarded, async (c) => html(c, <KeysPage keys={await keyRows(c)} csrf={c.var.session.csrfToken} />));

  const keyCreate = (generate: boolean) => async (c: PanelContext) => {
    const name = await field(c, "name");
    const algorithm = await field(c, "algorithm");
    const secret = generate ? generateTsigSecret(algorithm) : await field(c, "secret");
    const made = await callApi(c, "POST", "/tsig-keys", { name, algorithm, secret });
    if (made.status !== 201) return html(c, <KeysPage keys={await keyRows(c)} csrf={c.var.session.csrfToken} error={apiErrorWords(made)} />, 400);
    const shownKey = generate ? { name: made.json.name, algorithm: made.json.algorithm, secret } : undefined;
    return html(c, <KeysPage keys={await keyRows(c)} csrf={c.var.session.csrfToken} notice={`Key ${made.json.name} added.`} shownKey={shownKey} />);
  };
  panel.post("/keys", ...guarded, keyCreate(false));
  panel.post("/keys/generate", ...guarded, keyCreate(true));

  panel.post("/keys/:name/delete", ...guarded, async (c) => {
    const name = nameFromPath(c.req.param("name"));
    const answer = await callApi(c, "DELETE", `/tsig-keys/${name}`);
    if (answer.status !== 204) return html(c, <KeysPage keys={await keyRows(c)} csrf={c.var.session.csrfToken} error={apiErrorWords(answer)} />, answer.status === 409 ? 409 : 400);
    return html(c, <KeysPage keys={await keyRows(c)} csrf={c.var.session.csrfToken} notice={`Key ${name} deleted.`} />);
  });

  panel.onError((err, c) => {
    const status = err instanceof ApiError && (err.status === 400 || err.status === 404) ? err.status : 500;
    if (status === 500) console.error(JSON.stringify({ msg: "panel error", error: err instanceof Error ? err.message : String(err) }));
    const words = status === 500 ? "Something failed on our side; the Worker's log has the details." : err.message;
    const res = c.html(`<!doctype html>${String(<Page title={status === 404 ? "Not found" : "Error"} signedIn={false}><Notice kind="error">{words}</Notice><p><a href="/">Back to the zones</a></p></Page>)}`, status);
    res.headers.set("content-security-policy", CONTENT_SECURITY_POLICY);
    res.headers.set("x-frame-options", "DENY");
    res.headers.set("referrer-policy", "no-referrer");
    return res;
  });

  return panel;
}
