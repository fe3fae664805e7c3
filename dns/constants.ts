/**
 * @module The IANA registries Backstop needs: RR types, classes, opcodes and rcodes, with their mnemonics
 * and RFC 3597's `TYPEnnn` / `CLASSnnn` forms for everything else.
 */

/** RR TYPE values (IANA "Resource Record (RR) TYPEs"). Only the ones with mnemonics we print are listed. */
export const RRType = {
  A: 1,
  NS: 2,
  MD: 3,
  MF: 4,
  CNAME: 5,
  SOA: 6,
  MB: 7,
  MG: 8,
  MR: 9,
  NULL: 10,
  WKS: 11,
  PTR: 12,
  HINFO: 13,
  MINFO: 14,
  MX: 15,
  TXT: 16,
  RP: 17,
  AFSDB: 18,
  X25: 19,
  ISDN: 20,
  RT: 21,
  NSAP: 22,
  SIG: 24,
  KEY: 25,
  PX: 26,
  GPOS: 27,
  AAAA: 28,
  LOC: 29,
  NXT: 30,
  SRV: 33,
  NAPTR: 35,
  KX: 36,
  CERT: 37,
  DNAME: 39,
  OPT: 41,
  APL: 42,
  DS: 43,
  SSHFP: 44,
  IPSECKEY: 45,
  RRSIG: 46,
  NSEC: 47,
  DNSKEY: 48,
  DHCID: 49,
  NSEC3: 50,
  NSEC3PARAM: 51,
  TLSA: 52,
  SMIMEA: 53,
  HIP: 55,
  CDS: 59,
  CDNSKEY: 60,
  OPENPGPKEY: 61,
  CSYNC: 62,
  ZONEMD: 63,
  SVCB: 64,
  HTTPS: 65,
  SPF: 99,
  NID: 104,
  L32: 105,
  L64: 106,
  LP: 107,
  EUI48: 108,
  EUI64: 109,
  TKEY: 249,
  TSIG: 250,
  IXFR: 251,
  AXFR: 252,
  MAILB: 253,
  MAILA: 254,
  ANY: 255,
  URI: 256,
  CAA: 257,
} as const;
export type RRTypeName = keyof typeof RRType;

export const RRClass = {
  IN: 1,
  CH: 3,
  HS: 4,
  NONE: 254,
  ANY: 255,
} as const;

/** Header OPCODE values (RFC 1035, 1996, 2136, 8490). */
export const Opcode = {
  QUERY: 0,
  IQUERY: 1,
  STATUS: 2,
  NOTIFY: 4,
  UPDATE: 5,
  DSO: 6,
} as const;

/**
 * RCODE values. Values above 15 are extended rcodes: their upper 8 bits travel in the OPT record
 * (RFC 6891 §6.1.3), or, for TSIG's own codes, in the TSIG record's Error field (RFC 8945 §3).
 */
export const Rcode = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  YXDOMAIN: 6,
  YXRRSET: 7,
  NXRRSET: 8,
  NOTAUTH: 9,
  NOTZONE: 10,
  DSOTYPENI: 11,
  BADVERS: 16, // OPT; shares 16 with BADSIG in TSIG's Error field
  BADSIG: 16,
  BADKEY: 17,
  BADTIME: 18,
  BADMODE: 19,
  BADNAME: 20,
  BADALG: 21,
  BADTRUNC: 22,
  BADCOOKIE: 23,
} as const;

function invert(table: Record<string, number>): Map<number, string> {
  const out = new Map<number, string>();
  for (const [name, value] of Object.entries(table)) if (!out.has(value)) out.set(value, name);
  return out;
}

const typeNames = invert(RRType);
const classNames = invert(RRClass);
const opcodeNames = invert(Opcode);
const rcodeNames = invert({ ...Rcode, BADSIG: -1 }); // 16 prints as BADVERS outside TSIG

/** `A`, `AAAA`, … or `TYPE65280` (RFC 3597 §5). */
export function typeToString(type: number): string {
  return typeNames.get(type) ?? `TYPE${type}`;
}

/** Inverse of `typeToString`, case-insensitive; undefined for an unknown mnemonic or a bad TYPEnnn. */
export function typeFromString(text: string): number | undefined {
  const upper = text.toUpperCase();
  if (Object.hasOwn(RRType, upper)) return RRType[upper as RRTypeName];
  return genericNumber(upper, "TYPE");
}

export function classToString(cls: number): string {
  return classNames.get(cls) ?? `CLASS${cls}`;
}

export function classFromString(text: string): number | undefined {
  const upper = text.toUpperCase();
  if (Object.hasOwn(RRClass, upper)) return RRClass[upper as keyof typeof RRClass];
  return genericNumber(upper, "CLASS");
}

export function opcodeToString(opcode: number): string {
  return opcodeNames.get(opcode) ?? `OPCODE${opcode}`;
}

export function rcodeToString(rcode: number): string {
  return rcodeNames.get(rcode) ?? `RCODE${rcode}`;
}

function genericNumber(upper: string, prefix: string): number | undefined {
  if (!upper.startsWith(prefix)) return undefined;
  const digits = upper.slice(prefix.length);
  if (!/^[0-9]{1,5}$/.test(digits)) return undefined;
  const value = Number(digits);
  return value <= 0xffff ? value : undefined;
}

/** Meta-types and QTYPEs that never appear as data in a zone (RFC 6895 §3.1). */
export function isMetaType(type: number): boolean {
  return type === RRType.OPT || (type >= 128 && type <= 255);
}
