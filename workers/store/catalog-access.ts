/**
 * @module Who gets answers from a catalog zone (issue 19). RFC 9432 §5.1 and §7: a catalog is data for the
 * name servers that consume it, which reveals every zone they serve, and access to it should be limited. It is
 * answered to no client (the unspecified addresses, which no query comes from), the admin token excepted, as a
 * hidden zone restricted by `answerAllow` is: REFUSED. Secondaries get it by transfer (`transferAllow`).
 *
 * One rule for both answer paths: the Worker's zone directory and the service's view of its zones, from which
 * the port-53 front's replica takes `answerAllow` (so a catalog is never answered from the replica either).
 */
const CATALOG_ANSWER_ALLOW: readonly string[] = Object.freeze(["0.0.0.0/32", "::/128"]);

/** The `answerAllow` a zone is answered under: its own list, or for a catalog zone the list no client is in. */
export function effectiveAnswerAllow(row: { catalog: number; answer_allow: string }): string[] {
  return row.catalog === 1 ? [...CATALOG_ANSWER_ALLOW] : (JSON.parse(row.answer_allow) as string[]);
}
