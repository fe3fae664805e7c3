/** @jsxImportSource hono/jsx */
/** @module The sign-in page: one password field named `token`, and the form's own CSRF token. */
import { Notice, Page } from "./layout.tsx";
import { CSRF_FIELD } from "./session.ts";

export function LoginPage(props: { csrf: string; error?: string | undefined; notice?: string | undefined }) {
  return (
    <Page title="Sign in" signedIn={false}>
      {props.error ? <Notice kind="error">{props.error}</Notice> : null}
      {props.notice ? <Notice kind="ok">{props.notice}</Notice> : null}
      <form method="post" action="/login">
        <input type="hidden" name={CSRF_FIELD} value={props.csrf} />
        <label for="token">Admin token</label>
        <input id="token" type="password" name="token" autocomplete="current-password" required />
        <p>
          <button type="submit">Sign in</button>
        </p>
      </form>
    </Page>
  );
}
