/** @jsxImportSource hono/jsx */
/**
 * @module Adding a zone as the guide's steps: step 1 shows what to copy to the primary (this deployment's
 * nameservers and transfer addresses, with a warning while they are unset); the form then asks for the
 * primary, the TSIG key (pick one, or generate one shown once), the model (live or dark) and the NOTIFY
 * sources, with Cloudflare's documented addresses as a pre-filled choice (`contract/cloudflare-addresses.ts`).
 * After the first transfer the zone page shows the record count, the apex NS check and the `dig` lines.
 */
import { CLOUDFLARE_IP_PAGE, CLOUDFLARE_NOTIFY_PREFIXES, CLOUDFLARE_OLD_RANGES_ENDED } from "../../contract/cloudflare-addresses.ts";
import type { Deployment } from "../api/deployment.ts";
import type { ShownKey } from "./key-syntax.ts";
import { AlgorithmSelect, ShownKeyBlock } from "./keys-page.tsx";
import { Form, Notice, Page } from "./layout.tsx";

export interface AddZoneForm {
  name?: string;
  address?: string;
  port?: string;
  key?: string;
  model?: string;
  cloudflare?: boolean;
  notifyAllow?: string;
}

export function AddZonePage(props: { deployment: Deployment; keys: { name: string; algorithm: string }[]; csrf: string; form?: AddZoneForm; error?: string | undefined }) {
  const d = props.deployment;
  const f = props.form ?? { cloudflare: false, model: "secondary", port: "53", key: "" };
  return (
    <Page title="Add a zone" signedIn csrf={props.csrf} current="add">
      {props.error ? <Notice kind="error">{props.error}</Notice> : null}
      <section aria-labelledby="step1">
        <h2 id="step1">Step 1: at your primary, allow this deployment</h2>
        {d.warnings.map((w) => (
          <Notice kind="warn">{w}</Notice>
        ))}
        <table id="deployment">
          <tbody>
            <tr>
              <th scope="row">Our nameservers (for a live zone's NS set)</th>
              <td class="mono">{d.nameservers.join(", ") || "not set"}</td>
            </tr>
            <tr>
              <th scope="row">Our transfer addresses (for the primary's transfer ACL and also-notify)</th>
              <td class="mono">{d.transferAddresses.join(", ") || "not set"}</td>
            </tr>
          </tbody>
        </table>
      </section>
      <Form action="/zones" csrf={props.csrf}>
        <h2>Step 2: the zone and its primary</h2>
        <label for="z-name">Zone name</label>
        <input id="z-name" type="text" name="name" value={f.name ?? ""} required />
        <label for="z-address">Primary address</label>
        <input id="z-address" type="text" name="address" value={f.address ?? ""} required />
        <label for="z-port">Primary port</label>
        <input id="z-port" type="number" name="port" min="1" max="65535" value={f.port ?? "53"} required />
        <fieldset>
          <legend>Step 3: TSIG key</legend>
          <label for="z-key">Key</label>
          <select id="z-key" name="key">
            <option value="" selected={!f.key}>
              none (unsigned transfers)
            </option>
            {props.keys.map((k) => (
              <option value={k.name} selected={f.key === k.name}>
                {`${k.name} (${k.algorithm})`}
              </option>
            ))}
            <option value="__generate" selected={f.key === "__generate"}>
              generate a new key…
            </option>
          </select>
          <label for="z-gen-alg">Algorithm of a generated key</label>
          <AlgorithmSelect id="z-gen-alg" name="algorithm" />
        </fieldset>
        <fieldset>
          <legend>Step 4: model</legend>
          <label class="check">
            <input type="radio" name="model" value="secondary" checked={f.model !== "hidden"} /> live: a published secondary, listed in the zone's NS set
          </label>
          <label class="check">
            <input type="radio" name="model" value="hidden" checked={f.model === "hidden"} /> dark (hidden): kept ready, not in the NS set; promote it later
          </label>
        </fieldset>
        <fieldset>
          <legend>Step 5: NOTIFY sources</legend>
          <p class="muted">The primaries' own addresses are always accepted. Primaries often send NOTIFY from other addresses.</p>
          <label class="check">
            <input type="checkbox" name="cloudflare" value="yes" checked={f.cloudflare === true} />
            {` The primary is Cloudflare: accept NOTIFY from ${CLOUDFLARE_NOTIFY_PREFIXES.join(", ")}`}
          </label>
          <p class="muted">
            From <a href={CLOUDFLARE_IP_PAGE}>Cloudflare's IP addresses page</a>
            {`; the old /28 and /48 ranges stopped working on ${CLOUDFLARE_OLD_RANGES_ENDED}.`}
          </p>
          <label for="z-notify">Other NOTIFY sources (CIDR prefixes, one per line)</label>
          <textarea id="z-notify" name="notifyAllow" rows={3}>
            {f.notifyAllow ?? ""}
          </textarea>
        </fieldset>
        <p>
          <button type="submit">Step 6: add the zone and transfer it</button>
        </p>
      </Form>
    </Page>
  );
}

export function ZoneCreatedPage(props: { zone: string; webhookSecret: string; shownKey?: ShownKey | undefined; csrf: string }) {
  return (
    <Page title={`${props.zone} added`} signedIn csrf={props.csrf} current="add">
      <Notice kind="ok">The zone was added and its first transfer requested.</Notice>
      {props.shownKey ? <ShownKeyBlock shownKey={props.shownKey} /> : null}
      <Notice kind="warn">
        <p>The zone's NOTIFY webhook secret, shown this once:</p>
        <pre>{props.webhookSecret}</pre>
      </Notice>
      <p>
        <a href={`/zones/${props.zone}`}>{`Go to ${props.zone}`}</a>: after the first transfer it shows the record count to compare with your
        primary, the apex NS check, and the dig lines.
      </p>
    </Page>
  );
}
