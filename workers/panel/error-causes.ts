/**
 * @module A zone's last error in words, with its likely fix: the table of causes the zone page shows. The
 * transfer-service already writes its errors as sentences that name the peer, the key and the numbers
 * (`transfer-service/remote/transfer-error.ts`, `dns/tsig/`); this module recognises which cause a sentence
 * is and says what to change, with the specifics taken from the sentence, the zone and this deployment.
 * Every known cause is a row, so an operator also sees what else can go wrong; the matching row is marked.
 */

export interface CauseFacts {
  /** The last failed transfer's error, or the status detail of a failing zone. */
  error: string | null;
  status: string;
  zone: string;
  /** The TSIG key this zone uses, if any. */
  tsigKey: string | null;
  serial: number | null;
  primarySerial: number | null;
  notifyAllow: readonly string[];
  transferAddresses: readonly string[];
}

export interface CauseRow {
  id: "tsig-key" | "tsig-secret" | "clock-skew" | "refused" | "notauth" | "notify-source" | "unreachable" | "serial-regressed" | "limit";
  cause: string;
  fix: string;
  /** This row explains the last error. */
  matches: boolean;
}

const quoted = (re: RegExp, text: string): string | undefined => re.exec(text)?.[1];

export function errorCauses(f: CauseFacts): CauseRow[] {
  const e = f.error ?? "";
  const ourKey = f.tsigKey ? `"${f.tsigKey}"` : "(none)";
  const theirKey = quoted(/signed with TSIG key "([^"]+)"/, e);
  const skew = quoted(/clock skew of (\d+) seconds/, e);
  const ours = f.transferAddresses.length > 0 ? f.transferAddresses.join(", ") : "this deployment's transfer addresses (BACKSTOP_TRANSFER_ADDRESSES is not set)";
  const notifySource = quoted(/NOTIFY from ([0-9a-fA-F.:]+)/, e);
  const rows: CauseRow[] = [
    {
      id: "tsig-key",
      cause: theirKey
        ? `TSIG key name or algorithm mismatch: the primary signs with key "${theirKey}", this zone expects ${ourKey}`
        : `TSIG key name or algorithm mismatch (BADKEY): the primary does not hold key ${ourKey} with the same algorithm`,
      fix: `Use one key name and algorithm on both sides: configure key ${ourKey} at the primary, or pick the primary's key for this zone (TSIG keys page).`,
      matches: /BADKEY|algorithm mismatch|signed with TSIG key|is not known here/.test(e),
    },
    {
      id: "tsig-secret",
      cause: `TSIG secret mismatch (BADSIG): the primary and Backstop hold different secrets for key ${ourKey}`,
      fix: `Copy the primary's secret for ${ourKey} into Backstop (TSIG keys page: delete the key and add it again with the right secret), or the other way round.`,
      matches: /BADSIG|shared secrets differ|bad TSIG signature/.test(e),
    },
    {
      id: "clock-skew",
      cause: skew ? `Clock skew of ${skew} seconds between the primary and Backstop (BADTIME)` : "Clock skew between the primary and Backstop beyond the TSIG fudge (BADTIME)",
      fix: "Synchronise both clocks with NTP; TSIG allows 300 s of difference by default.",
      matches: /BADTIME|clock skew/.test(e),
    },
    {
      id: "refused",
      cause: "The primary REFUSED our request: its transfer ACL does not allow us",
      fix: `Add our transfer address ${ours} to the primary's ACL for ${f.zone} (allow-transfer in BIND, acl in Knot, provide-xfr in NSD, the peer's IP at Cloudflare).`,
      matches: /answered REFUSED/.test(e),
    },
    {
      id: "notauth",
      cause: `The primary answered NOTAUTH: it is not authoritative for ${f.zone}, or it wants a TSIG-signed request`,
      fix: `Check that the primary serves ${f.zone}, and whether it requires a TSIG key this zone does not use.`,
      matches: /answered NOTAUTH|not authoritative/.test(e) && !/BADKEY|BADSIG|BADTIME/.test(e),
    },
    {
      id: "notify-source",
      cause: notifySource
        ? `NOTIFY from ${notifySource}, an address outside this zone's notifyAllow, was refused`
        : "NOTIFY from an address outside this zone's notifyAllow is refused (the service logs the address)",
      fix: `Add the sender's prefix to notifyAllow (now: ${f.notifyAllow.length > 0 ? f.notifyAllow.join(", ") : "only the primaries themselves"}); the zone is still refreshed by its SOA timers.`,
      matches: /NOTIFY from/.test(e),
    },
    {
      id: "unreachable",
      cause: "The primary is unreachable: no TCP connection, or no answer in time",
      fix: "Check the primary's address and port, that it listens on TCP and UDP 53, and that no firewall drops our transfer address.",
      matches: /cannot connect|did not answer|timed out|timeout|sent nothing for|ECONNREFUSED|EHOSTUNREACH/.test(e),
    },
    {
      id: "serial-regressed",
      cause:
        f.primarySerial !== null && f.serial !== null && f.primarySerial !== f.serial
          ? `Serial regression: the primary's serial ${f.primarySerial} is lower than ours, ${f.serial} (RFC 1982)`
          : "Serial regression: the primary's serial went backwards (RFC 1982)",
      fix: "If the primary's zone was rebuilt on purpose, press “Accept the lower serial”; otherwise fix the serial at the primary (raise it past ours).",
      matches: f.status === "serial-regressed" || /serial.*(lower|regress|older)/i.test(e),
    },
    {
      id: "limit",
      cause: "The transfer passed this zone's record or byte limit and was stopped",
      fix: "Raise the zone's limits (maxRecords, maxBytes in the API) or the service's defaults, if the zone really is that large.",
      matches: /limit|octets and was stopped/.test(e) && /stopped/.test(e),
    },
  ];
  return rows;
}
