/**
 * @module Key and certificate association records: TLSA (RFC 6698 §2) and SMIMEA (RFC 8162 §2, same
 * format), SSHFP (RFC 4255 §3) and OPENPGPKEY (RFC 7929 §2). TLSA/SMIMEA wire goes through dns-packet
 * (byte-exact for them); SSHFP does not, because dns-packet only knows two fingerprint lengths.
 */
import { decodeTlsa, encodeTlsa, type TlsaValue } from "../adapter/dns-packet.ts";
import type { Name } from "../name.ts";
import { defineRdata, type RdataCodec } from "./codec.ts";
import { base64ToEnd, hexToEnd, u8 } from "./field.ts";
import type { Token } from "./token.ts";

const tlsaText = defineRdata("TLSA", {
  usage: u8("certificate usage"),
  selector: u8("selector"),
  matchingType: u8("matching type"),
  data: hexToEnd("certificate association data"),
});

export const tlsa: RdataCodec<TlsaValue> = {
  decode: decodeTlsa,
  encode: encodeTlsa,
  toText: (v) => tlsaText.toText(v),
  fromText: (tokens: readonly Token[], origin: Name) => tlsaText.fromText(tokens, origin),
};
export const smimea = tlsa;

export const sshfp = defineRdata("SSHFP", {
  algorithm: u8("algorithm"),
  fingerprintType: u8("fingerprint type"),
  fingerprint: hexToEnd("fingerprint"),
});

export const openpgpkey = defineRdata("OPENPGPKEY", { key: base64ToEnd("key") });
