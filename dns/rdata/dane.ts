/**
 * @module Key and certificate association records: TLSA (RFC 6698 §2) and SMIMEA (RFC 8162 §2, same
 * format), SSHFP (RFC 4255 §3) and OPENPGPKEY (RFC 7929 §2). dns-packet checks TLSA/SMIMEA in the
 * property tests (dns-packet-oracle.property.test.ts); not SSHFP, because it only knows two fingerprint lengths.
 */
import { defineRdata } from "./codec.ts";
import { base64ToEnd, hexToEnd, u8 } from "./field.ts";

export const tlsa = defineRdata("TLSA", {
  usage: u8("certificate usage"),
  selector: u8("selector"),
  matchingType: u8("matching type"),
  data: hexToEnd("certificate association data"),
});
export const smimea = tlsa;

export const sshfp = defineRdata("SSHFP", {
  algorithm: u8("algorithm"),
  fingerprintType: u8("fingerprint type"),
  fingerprint: hexToEnd("fingerprint"),
});

export const openpgpkey = defineRdata("OPENPGPKEY", { key: base64ToEnd("key") });
