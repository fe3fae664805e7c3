/**
 * @module What an IXFR request gets (RFC 1995), decided from the client's serial (the SOA in the request's
 * authority section) and ours, before the journal is read:
 *
 * | client's serial vs ours              | TCP                                  | UDP (RFC 1995 §2)   |
 * |--------------------------------------|--------------------------------------|---------------------|
 * | equal                                | the single current SOA (§4)          | the single SOA      |
 * | older (RFC 1982)                     | the journal's difference, or the     | the single SOA      |
 * |                                      | whole zone AXFR-style on a gap (§4)  |                     |
 * | newer, or exactly 2^31 apart         | the whole zone AXFR-style            | the single SOA      |
 *
 * A newer client serial means the client holds a history we do not (a primary re-initialised, or a serial
 * regression): the whole zone is the only answer that makes it equal to ours. Over UDP the answer is always
 * the single SOA of the current version (RFC 1995 §2: "the query is responded to with a single SOA record
 * of the server's current version to inform the client that a TCP query should be initiated"), as knotd
 * answers; an empty TC=1 reply was tried first and kdig rejects it ("first answer record isn't SOA").
 */
import { Serial } from "../../../dns/serial.ts";

export type IxfrChoice = "current" | "journal" | "full";

export function chooseIxfr(clientSerial: number, ourSerial: number, transport: "udp" | "tcp"): IxfrChoice {
  const order = Serial.of(clientSerial).compare(ourSerial);
  if (order === "eq" || transport === "udp") return "current";
  return order === "lt" ? "journal" : "full";
}
