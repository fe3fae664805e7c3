/**
 * @module DNSSEC record types: DS and CDS (RFC 4034 §5, RFC 7344 §3.1), DNSKEY and CDNSKEY (RFC 4034 §2,
 * RFC 7344 §3.2), RRSIG (RFC 4034 §3) and its predecessor SIG (RFC 2535 §4.1), NSEC (RFC 4034 §4) and its
 * predecessor NXT (RFC 2535 §5.2), NSEC3 and NSEC3PARAM (RFC 5155 §3–4), ZONEMD (RFC 8976 §2) and CSYNC
 * (RFC 7477 §2). dns-packet checks DS/CDS in the property tests (dns-packet-oracle.property.test.ts).
 */
import { defineRdata } from "./codec.ts";
import { base32WithLength, base64ToEnd, hexToEnd, hexWithLength, name, nxtBitmap, rrType, time, typeBitmap, u16, u32, u8 } from "./field.ts";

export const ds = defineRdata("DS", {
  keyTag: u16("key tag"),
  algorithm: u8("algorithm"),
  digestType: u8("digest type"),
  digest: hexToEnd("digest"),
});
export const cds = ds;

export const dnskey = defineRdata("DNSKEY", {
  flags: u16("flags"),
  protocol: u8("protocol"),
  algorithm: u8("algorithm"),
  publicKey: base64ToEnd("public key"),
});
export const cdnskey = dnskey;

const signatureFields = {
  typeCovered: rrType("type covered"),
  algorithm: u8("algorithm"),
  labels: u8("labels"),
  originalTtl: u32("original TTL"),
  expiration: time("signature expiration"),
  inception: time("signature inception"),
  keyTag: u16("key tag"),
  signerName: name("signer's name"),
  signature: base64ToEnd("signature"),
};
export const rrsig = defineRdata("RRSIG", signatureFields);
export const sig = defineRdata("SIG", signatureFields);
export type RrsigValue = ReturnType<typeof rrsig.decode>;

export const nsec = defineRdata("NSEC", { nextDomain: name("next domain name"), types: typeBitmap() });
export const nxt = defineRdata("NXT", { nextDomain: name("next domain name"), types: nxtBitmap() });

export const nsec3 = defineRdata("NSEC3", {
  hashAlgorithm: u8("hash algorithm"),
  flags: u8("flags"),
  iterations: u16("iterations"),
  salt: hexWithLength("salt"),
  nextHashedOwner: base32WithLength("next hashed owner name"),
  types: typeBitmap(),
});

export const nsec3param = defineRdata("NSEC3PARAM", {
  hashAlgorithm: u8("hash algorithm"),
  flags: u8("flags"),
  iterations: u16("iterations"),
  salt: hexWithLength("salt"),
});

export const zonemd = defineRdata("ZONEMD", {
  serial: u32("serial"),
  scheme: u8("scheme"),
  hashAlgorithm: u8("hash algorithm"),
  digest: hexToEnd("digest"),
});

export const csync = defineRdata("CSYNC", { serial: u32("SOA serial"), flags: u16("flags"), types: typeBitmap() });
