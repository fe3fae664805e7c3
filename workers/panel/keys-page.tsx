/** @jsxImportSource hono/jsx */
/**
 * @module The TSIG keys page (`/keys`): the keys without their secrets, with the zones that use each; a
 * form to add a key with a known secret, one to generate a key (its secret shown once, in the syntax of
 * BIND, Knot, NSD and Cloudflare's fields), and a delete button per key, which the API refuses while zones
 * use the key, naming them.
 */
import { TSIG_ALGORITHMS } from "../../contract/vocabulary.ts";
import { keySyntaxes, type ShownKey } from "./key-syntax.ts";
import { Form, Notice, Page } from "./layout.tsx";

export interface KeyRow {
  name: string;
  algorithm: string;
  createdAt: number;
  usedBy: string[];
}

export function ShownKeyBlock(props: { shownKey: ShownKey }) {
  return (
    <Notice kind="warn">
      <p>{`The secret of key ${props.shownKey.name}, shown this once: copy it to the primary now.`}</p>
      {keySyntaxes(props.shownKey).map((s) => (
        <div>
          <h3>{s.label}</h3>
          <pre>{s.text}</pre>
        </div>
      ))}
    </Notice>
  );
}

export function AlgorithmSelect(props: { id: string; name: string }) {
  return (
    <select id={props.id} name={props.name}>
      {TSIG_ALGORITHMS.map((a) => (
        <option value={a} selected={a === "hmac-sha256"}>
          {a}
        </option>
      ))}
    </select>
  );
}

export function KeysPage(props: { keys: KeyRow[]; csrf: string; error?: string | undefined; notice?: string | undefined; shownKey?: ShownKey | undefined }) {
  return (
    <Page title="TSIG keys" signedIn csrf={props.csrf} current="keys">
      {props.error ? <Notice kind="error">{props.error}</Notice> : null}
      {props.notice ? <Notice kind="ok">{props.notice}</Notice> : null}
      {props.shownKey ? <ShownKeyBlock shownKey={props.shownKey} /> : null}
      <table id="keys">
        <caption class="muted">Secrets are never shown again after they are set.</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Algorithm</th>
            <th scope="col">Used by</th>
            <th scope="col">Delete</th>
          </tr>
        </thead>
        <tbody>
          {props.keys.map((k) => (
            <tr>
              <th scope="row" class="mono">{k.name}</th>
              <td>{k.algorithm}</td>
              <td>{k.usedBy.length > 0 ? k.usedBy.join(", ") : <span class="muted">no zone</span>}</td>
              <td>
                <Form action={`/keys/${k.name}/delete`} csrf={props.csrf} class="inline">
                  <button type="submit" class="danger" aria-label={`Delete key ${k.name}`}>
                    Delete
                  </button>
                </Form>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div class="actions">
        <Form action="/keys" csrf={props.csrf}>
          <h2>Add a key you have</h2>
          <label for="k-name">Key name</label>
          <input id="k-name" type="text" name="name" required />
          <label for="k-alg">Algorithm</label>
          <AlgorithmSelect id="k-alg" name="algorithm" />
          <label for="k-secret">Secret (base64)</label>
          <input id="k-secret" type="password" name="secret" autocomplete="off" required />
          <p><button type="submit">Add the key</button></p>
        </Form>
        <Form action="/keys/generate" csrf={props.csrf}>
          <h2>Generate a key</h2>
          <label for="g-name">Key name</label>
          <input id="g-name" type="text" name="name" required />
          <label for="g-alg">Algorithm</label>
          <AlgorithmSelect id="g-alg" name="algorithm" />
          <p><button type="submit">Generate</button></p>
        </Form>
      </div>
    </Page>
  );
}
