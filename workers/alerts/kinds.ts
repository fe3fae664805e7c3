/**
 * @module The words of alerts (issue 25), spelled once: the seven kinds a zone can be alerted for, the
 * states an alert row goes through, and what a webhook delivery reports. The D1 column enums
 * (`db/schema.ts`), the API's query validation and the rules (`rules.ts`) all take them from here.
 */

/**
 * - `failing`: K failed checks or transfers in a row;
 * - `stale`: the primary's serial ahead of ours for longer than 2 × REFRESH;
 * - `expiring`: less than 10 % of EXPIRE left before the zone stops being served;
 * - `expired`: the zone is no longer served;
 * - `rrsig-expiring`: the served version's earliest RRSIG expires before the next refresh plus a margin;
 * - `ns-mismatch`: a live zone's apex NS set omits this deployment's nameservers, or a dark zone's has them;
 * - `serial-regressed`: the primary's serial went backwards (RFC 1982).
 */
export const ALERT_KINDS = ["failing", "stale", "expiring", "expired", "rrsig-expiring", "ns-mismatch", "serial-regressed"] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

/**
 * `pending`: the condition was seen, but has not yet held for the damping interval (not shown as open, not
 * delivered; deleted if the condition clears first). `open`, then `resolved` once it clears: history.
 */
export const ALERT_STATES = ["pending", "open", "resolved"] as const;
export type AlertState = (typeof ALERT_STATES)[number];

/** What a delivery tells the webhook: an alert opened or resolved, or the sample of `POST /alert-webhook/test`. */
export const ALERT_EVENTS = ["opened", "resolved", "test"] as const;
export type AlertEvent = (typeof ALERT_EVENTS)[number];

/** How deliveries are written: Backstop's JSON (PagerDuty, Alertmanager-style receivers) or Slack's `{text}`. */
export const WEBHOOK_FORMATS = ["json", "slack"] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

/** A delivery is `pending` until it is answered 2xx (`delivered`) or its hour of retries runs out (`failed`). */
export const DELIVERY_STATES = ["pending", "delivered", "failed"] as const;
