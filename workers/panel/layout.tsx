/** @jsxImportSource hono/jsx */
/**
 * @module The panel's page shell and shared bits: the document with its landmarks (a skip link, the
 * navigation, one `main`), the stylesheet (served as `/panel.css`, so the Content-Security-Policy needs no
 * inline style), forms that always carry the session's CSRF token, and the small formatters every page
 * uses (ages, durations, status badges). No script: every page works without JavaScript.
 */
import type { Child } from "hono/jsx";
import type { ZoneStatus } from "../db/schema.ts";
import { CSRF_FIELD } from "./session.ts";

export function Page(props: { title: string; signedIn: boolean; csrf?: string | undefined; current?: string; children?: Child }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} · Backstop`}</title>
        <link rel="stylesheet" href="/panel.css" />
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="top">
          <span class="brand">Backstop</span>
          {props.signedIn ? (
            <nav aria-label="Main">
              <a href="/" aria-current={props.current === "zones" ? "page" : undefined}>
                Zones
              </a>
              <a href="/zones/new" aria-current={props.current === "add" ? "page" : undefined}>
                Add a zone
              </a>
              <a href="/keys" aria-current={props.current === "keys" ? "page" : undefined}>
                TSIG keys
              </a>
              <Form action="/logout" csrf={props.csrf ?? ""} class="inline">
                <button type="submit">Sign out</button>
              </Form>
            </nav>
          ) : null}
        </header>
        <main id="main">
          <h1>{props.title}</h1>
          {props.children}
        </main>
      </body>
    </html>
  );
}

/** A POST form with the CSRF field. */
export function Form(props: { action: string; csrf: string; class?: string; children?: Child }) {
  return (
    <form method="post" action={props.action} class={props.class}>
      <input type="hidden" name={CSRF_FIELD} value={props.csrf} />
      {props.children}
    </form>
  );
}

export function Notice(props: { kind: "ok" | "warn" | "error"; children?: Child }) {
  return (
    <div class={`notice ${props.kind}`} role={props.kind === "error" ? "alert" : "status"}>
      {props.children}
    </div>
  );
}

export function StatusBadge(props: { status: ZoneStatus }) {
  return <span class={`badge s-${props.status}`}>{props.status}</span>;
}

/** "live" and "dark" are the guide's words for the secondary and hidden models. */
export function modelWords(model: string): string {
  return model === "secondary" ? "live" : model === "hidden" ? "dark (hidden)" : model;
}

/** A duration in words: "45 s", "12 min", "3 h", "2 d". */
export function spanWords(ms: number): string {
  const s = Math.round(Math.abs(ms) / 1000);
  if (s < 90) return `${s} s`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

/** "3 min ago" / "in 3 min" / "—". */
export function relative(at: number | null | undefined, now: number): string {
  if (at == null) return "—";
  return at <= now ? `${spanWords(now - at)} ago` : `in ${spanWords(at - now)}`;
}

export function Time(props: { at: number | null | undefined; now: number }) {
  if (props.at == null) return <span>—</span>;
  return <time datetime={new Date(props.at).toISOString()}>{relative(props.at, props.now)}</time>;
}

export const PANEL_CSS = `
:root { color-scheme: light; --fg: #1b1f24; --muted: #4a5360; --line: #c9d1d9; --bg: #ffffff; --accent: #0b5cad; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--accent); }
a:focus, button:focus, input:focus, select:focus, textarea:focus, summary:focus { outline: 3px solid #f0a000; outline-offset: 1px; }
.skip { position: absolute; left: -999px; top: 0; background: #fff; padding: .5em; }
.skip:focus { left: .5em; }
.top { display: flex; gap: 2em; align-items: center; padding: .6em 1.2em; background: #14263d; color: #fff; }
.top a { color: #fff; margin-right: 1.2em; }
.top a[aria-current="page"] { text-decoration: underline 3px; }
.top nav { display: flex; align-items: center; flex-wrap: wrap; }
.brand { font-weight: 700; font-size: 1.1em; }
main { padding: 1em 1.5em 3em; max-width: 1400px; }
h1 { font-size: 1.5em; margin: .3em 0 .6em; }
h2 { font-size: 1.2em; margin: 1.5em 0 .5em; }
table { border-collapse: collapse; width: 100%; margin: .5em 0 1em; }
th, td { text-align: left; padding: .35em .6em; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #eef2f6; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
code, pre, .mono { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .92em; }
pre { background: #f3f5f7; border: 1px solid var(--line); padding: .6em; overflow-x: auto; white-space: pre-wrap; }
.badge { display: inline-block; padding: .05em .55em; border-radius: .8em; font-size: .85em; font-weight: 600; border: 1px solid transparent; }
.s-active { background: #dff3e4; color: #0d4d1f; border-color: #8fcf9f; }
.s-pending, .s-refreshing { background: #e6eefb; color: #173d7a; border-color: #9bb6e6; }
.s-failing, .s-serial-regressed { background: #fde8d7; color: #7a2e00; border-color: #e9a777; }
.s-expired { background: #fbe0e0; color: #7d0f0f; border-color: #e39a9a; }
.totals { display: flex; gap: .6em; flex-wrap: wrap; padding: 0; list-style: none; }
.totals li { border: 1px solid var(--line); border-radius: .4em; padding: .4em .8em; }
.totals strong { font-size: 1.3em; display: block; }
.notice { padding: .6em .9em; border-radius: .3em; margin: .8em 0; border: 1px solid; }
.notice.ok { background: #e7f6eb; border-color: #8fcf9f; }
.notice.warn { background: #fff6dc; border-color: #d9b44a; }
.notice.error { background: #fdecec; border-color: #e39a9a; }
form.inline { display: inline; }
form.filters, .actions { display: flex; gap: .8em; flex-wrap: wrap; align-items: end; margin: .5em 0 1em; }
.actions form { border: 1px solid var(--line); border-radius: .4em; padding: .6em; }
label { display: block; font-weight: 600; margin: .5em 0 .2em; }
label.check { font-weight: 400; }
fieldset { border: 1px solid var(--line); border-radius: .4em; margin: 1em 0; padding: .6em 1em; }
legend { font-weight: 700; }
input[type=text], input[type=password], input[type=number], select, textarea { font: inherit; padding: .3em .4em; border: 1px solid #6b7480; border-radius: .25em; min-width: 16em; }
button { font: inherit; padding: .35em .9em; border-radius: .25em; border: 1px solid #0b4a8a; background: #0b5cad; color: #fff; cursor: pointer; }
button.danger { background: #a61b1b; border-color: #7d0f0f; }
.top button { background: transparent; border-color: #fff; }
.muted { color: var(--muted); }
.steps { counter-reset: step; }
.chart { max-width: 900px; height: auto; border: 1px solid var(--line); }
.cause-match { background: #fff6dc; }
tr.fail td { background: #fdf1f1; }
table.facts { max-width: 900px; }
table.facts th { width: 20em; }
`;
