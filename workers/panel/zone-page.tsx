/** @jsxImportSource hono/jsx */
/**
 * @module The zone page (`/zones/<name>`), in this order: the list's facts, "compare with your primary" with
 * the record count, the apex NS check and a `dig` line per check of the guide, the transfer history as a
 * chart and a log table, the last IXFR's difference from the journal, the last error with the table of
 * causes, and the buttons (refresh, force AXFR, accept a lower serial, webhook secret, promote, delete).
 */
import type { Deployment } from "../api/deployment.ts";
import type { TransferRow } from "../db/queries/transfer-log.ts";
import type { ZoneRow } from "../db/queries/zones.ts";
import { shownStatus } from "../db/zone-status.ts";
import { errorCauses } from "./error-causes.ts";
import { HistoryChart } from "./history-chart.tsx";
import { Form, modelWords, Notice, Page, relative, StatusBadge, Time } from "./layout.tsx";
import type { LastDifference, NsCheck } from "./zone-facts.ts";

export interface ZonePageData {
  zone: ZoneRow;
  transfers: TransferRow[];
  diff: LastDifference | null;
  ns: NsCheck;
  deployment: Deployment;
}

/** What a finished action says on the page it returns to (fixed words: nothing from the URL is echoed). */
export const DONE_WORDS: Record<string, string> = {
  refresh: "Refresh requested: the transfer-service checks the primary's SOA now.",
  axfr: "Full transfer (AXFR) requested.",
  "accept-lower": "Lower serial accepted: the next transfer takes the primary's serial.",
  created: "Zone added: the first transfer has been requested.",
};

function digLines(z: ZoneRow, d: Deployment): string[] {
  const primary = z.primaries[0];
  const ns = d.nameservers[0] ?? "<this deployment's nameserver>";
  const lines = [];
  if (primary) lines.push(`dig @${primary.address}${primary.port !== 53 ? ` -p ${primary.port}` : ""} ${z.name} SOA +norec   # the primary's serial`);
  lines.push(`dig @${ns} ${z.name} SOA +norec   # Backstop's serial`);
  lines.push(`dig @${ns} ${z.name} NS +norec   # a test record: the apex NS set as Backstop serves it`);
  return lines;
}

export function ZonePage(props: { data: ZonePageData; csrf: string; now: number; notice?: string | undefined; error?: string | undefined; webhookSecret?: string | undefined; promoted?: boolean }) {
  const { zone: z, transfers, diff, ns, deployment } = props.data;
  const shown = shownStatus(z, props.now);
  const lastIn = transfers.find((t) => t.direction === "in" && t.kind !== "soa") ?? transfers.find((t) => t.direction === "in");
  const lastFailure = transfers.find((t) => t.direction === "in" && t.result !== "ok" && t.result !== "up-to-date");
  const failingNow = shown.status === "failing" || shown.status === "serial-regressed" || shown.status === "expired" || (lastIn !== undefined && lastIn.result !== "ok" && lastIn.result !== "up-to-date");
  const errorText = failingNow ? (lastFailure?.error ?? shown.statusDetail) : null;
  const tsigKey = z.tsigKey ?? z.primaries.find((p) => p.tsigKey)?.tsigKey ?? null;
  const causes = errorCauses({
    error: errorText,
    status: shown.status,
    zone: z.name,
    tsigKey,
    serial: z.serial,
    primarySerial: z.primarySerial,
    notifyAllow: z.notifyAllow,
    transferAddresses: deployment.transferAddresses,
  });
  return (
    <Page title={z.name} signedIn csrf={props.csrf} current="zones">
      {props.notice ? <Notice kind="ok">{props.notice}</Notice> : null}
      {props.error ? <Notice kind="error">{props.error}</Notice> : null}
      {props.webhookSecret ? (
        <Notice kind="warn">
          <p>The zone's new NOTIFY webhook secret, shown this once (only its hash is kept):</p>
          <pre>{props.webhookSecret}</pre>
          <p class="mono">{`curl -X POST -H "Authorization: Bearer <secret>" https://<this Worker>/api/v1/zones/${z.name}/notify`}</p>
        </Notice>
      ) : null}
      {props.promoted ? (
        <Notice kind="ok">
          <p>{`${z.name} is now live: Backstop answers for it as a published secondary.`}</p>
          <p>
            {`What to change at the primary: add this deployment's nameservers (${deployment.nameservers.join(", ") || "set BACKSTOP_NAMESERVERS"}) to the zone's NS set, then to the delegation at the registrar. The NS check below was run again.`}
          </p>
        </Notice>
      ) : null}
      <p>
        <StatusBadge status={shown.status} /> <span>{shown.statusDetail}</span>
      </p>
      <table class="facts">
        <caption class="muted">The zone now</caption>
        <tbody>
          <tr><th scope="row">Model</th><td>{modelWords(z.model)}</td></tr>
          <tr><th scope="row">Serial here</th><td>{z.serial ?? "—"}</td></tr>
          <tr><th scope="row">Serial at the primary (last SOA check)</th><td>{z.primarySerial ?? "—"}{z.lastCheckAt ? ` (checked ${relative(z.lastCheckAt, props.now)})` : ""}</td></tr>
          <tr><th scope="row">Records</th><td><span id="record-count">{z.recordCount}</span> <span class="muted">(compare with your primary)</span></td></tr>
          <tr><th scope="row">Primaries</th><td class="mono">{z.primaries.map((p) => `${p.address} port ${p.port}${p.tsigKey ? ` key ${p.tsigKey}` : ""}`).join("; ") || "—"}</td></tr>
          <tr><th scope="row">TSIG key</th><td class="mono">{tsigKey ?? "none"}</td></tr>
          <tr><th scope="row">NOTIFY accepted from</th><td class="mono">{z.notifyAllow.join(", ") || "the primaries only"}</td></tr>
          <tr><th scope="row">Last transfer</th><td>{lastIn ? <span>{`${lastIn.kind} ${lastIn.result}, `}<Time at={lastIn.at} now={props.now} /></span> : "—"}</td></tr>
          <tr><th scope="row">Next check</th><td><Time at={z.nextRefreshAt} now={props.now} /></td></tr>
          <tr><th scope="row">Expires</th><td>{z.expiresAt == null ? "—" : relative(z.expiresAt, props.now)}</td></tr>
          <tr><th scope="row">Earliest RRSIG expiry</th><td>{z.rrsigExpiresAt == null ? "unsigned" : <Time at={z.rrsigExpiresAt} now={props.now} />}</td></tr>
        </tbody>
      </table>

      <h2>Compare with your primary</h2>
      <p id="ns-check" class={ns.verdict === "problem" ? "notice error" : ns.verdict === "ok" ? "notice ok" : "notice warn"}>
        <strong>Apex NS check: </strong>
        {ns.words}
        {ns.published ? <span class="mono">{` Published NS: ${ns.published.join(", ") || "none"}.`}</span> : null}
      </p>
      <pre aria-label="dig lines to compare">{digLines(z, deployment).join("\n")}</pre>

      <h2>Transfer history</h2>
      <HistoryChart transfers={transfers} />
      <table id="transfer-log">
        <caption class="muted">The last {transfers.length} log lines, newest first.</caption>
        <thead>
          <tr>
            <th scope="col">When</th><th scope="col">Direction</th><th scope="col">Kind</th><th scope="col">Result</th>
            <th scope="col" class="num">Serials</th><th scope="col" class="num">Records</th><th scope="col" class="num">Octets</th>
            <th scope="col" class="num">ms</th><th scope="col">Peer</th><th scope="col">Error</th>
          </tr>
        </thead>
        <tbody>
          {transfers.map((t) => (
            <tr class={t.result !== "ok" && t.result !== "up-to-date" ? "fail" : undefined}>
              <td><Time at={t.at} now={props.now} /></td>
              <td>{t.direction}</td>
              <td>{t.kind}</td>
              <td>{t.result}</td>
              <td class="num">{t.fromSerial != null || t.toSerial != null ? `${t.fromSerial ?? "—"} → ${t.toSerial ?? "—"}` : "—"}</td>
              <td class="num">{t.records ?? "—"}</td>
              <td class="num">{t.bytes ?? "—"}</td>
              <td class="num">{t.durationMs ?? "—"}</td>
              <td class="mono">{t.primary ?? "—"}</td>
              <td>{t.error ?? ""}</td>
            </tr>
          ))}
        </tbody>
      </table>

      <h2>Last difference (IXFR)</h2>
      {diff ? (
        <section id="last-diff" aria-label="Last IXFR difference">
          <p>{`Serial ${diff.fromSerial} → ${diff.toSerial}: ${diff.addedCount} records added, ${diff.removedCount} removed (`}<Time at={diff.at} now={props.now} />{`).`}</p>
          <h3>Added</h3>
          <pre>{diff.added.join("\n") || "—"}</pre>
          <h3>Removed</h3>
          <pre>{diff.removed.join("\n") || "—"}</pre>
          {diff.addedCount > diff.added.length || diff.removedCount > diff.removed.length ? <p class="muted">The first {diff.added.length} of each side are shown.</p> : null}
        </section>
      ) : (
        <p id="last-diff" class="muted">No incremental transfer in the journal yet (full transfers only).</p>
      )}
      <h2>Last error</h2>
      {errorText ? <p id="last-error">{errorText}</p> : <p id="last-error" class="muted">No error in the last transfer.</p>}
      <table id="causes">
        <caption class="muted">Likely causes and their fix; the row that matches the last error is marked.</caption>
        <thead>
          <tr><th scope="col">Matches</th><th scope="col">Cause</th><th scope="col">Fix</th></tr>
        </thead>
        <tbody>
          {causes.map((r) => (
            <tr class={r.matches ? "cause-match" : undefined} data-cause={r.id}>
              <td>{r.matches ? "▶ this one" : ""}</td>
              <td>{r.cause}</td>
              <td>{r.fix}</td>
            </tr>
          ))}
        </tbody>
      </table>

      <h2>Actions</h2>
      <div class="actions">
        <Form action={`/zones/${z.name}/refresh`} csrf={props.csrf}><button type="submit">Refresh now</button></Form>
        <Form action={`/zones/${z.name}/force-axfr`} csrf={props.csrf}><button type="submit">Force a full transfer (AXFR)</button></Form>
        {z.primarySerial !== null && z.serial !== null && z.primarySerial !== z.serial ? (
          <Form action={`/zones/${z.name}/accept-lower-serial`} csrf={props.csrf}>
            <input type="hidden" name="ours" value={String(z.serial)} />
            <input type="hidden" name="theirs" value={String(z.primarySerial)} />
            <label class="check">
              <input type="checkbox" name="confirm" value="yes" required />
              {` Replace our serial ${z.serial} with the primary's lower serial ${z.primarySerial}`}
            </label>
            <button type="submit">Accept the lower serial</button>
          </Form>
        ) : null}
        <Form action={`/zones/${z.name}/webhook-secret`} csrf={props.csrf}><button type="submit">Generate a new webhook secret</button></Form>
        {z.model === "hidden" ? (
          <Form action={`/zones/${z.name}/promote`} csrf={props.csrf}><button type="submit">Promote to live</button></Form>
        ) : null}
        <Form action={`/zones/${z.name}/delete`} csrf={props.csrf}>
          <label for="confirm-name">{`Type ${z.name} to delete it`}</label>
          <input id="confirm-name" type="text" name="confirm" autocomplete="off" required />
          <button type="submit" class="danger">Delete the zone</button>
        </Form>
      </div>

    </Page>
  );
}
