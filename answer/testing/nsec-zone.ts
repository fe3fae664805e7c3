/**
 * @module A hand-made NSEC-signed zone (RFC 4035 §3.1) shared by the engine's table tests: placeholder
 * signatures (the engine serves RRSIGs as transferred and never checks them), a delegation with DS (`sec`),
 * an insecure delegation with glue (`sub`), empty non-terminals (`c`, `b.c`), a wildcard (`*.w`). The NSEC chain,
 * in canonical order: ex. → a.b.c → ns → sec → sub → *.w → www.
 */

/** A placeholder RRSIG over `covered` with `labels` labels, signed by `signer`. */
export const sig = (covered: string, labels: number, signer = "ex.") => `RRSIG ${covered} 13 ${labels} 3600 20300101000000 20200101000000 1 ${signer} c2ln`;

/** The zone `ex.` in master-file form. */
export const NSEC_EX_ZONE = `
$ORIGIN ex.
$TTL 3600
@       SOA   ns hostmaster 1 7200 3600 1209600 300
@       ${sig("SOA", 1)}
@       NS    ns
@       ${sig("NS", 1)}
@  300  NSEC  a.b.c.ex. NS SOA RRSIG NSEC
@  300  ${sig("NSEC", 1)}
a.b.c   TXT   "deep"
a.b.c   ${sig("TXT", 4)}
a.b.c 300 NSEC ns.ex. TXT RRSIG NSEC
a.b.c 300 ${sig("NSEC", 4)}
ns      A     192.0.2.1
ns      ${sig("A", 2)}
ns 300  NSEC  sec.ex. A RRSIG NSEC
ns 300  ${sig("NSEC", 2)}
sec     NS    ns
sec     DS    1 13 2 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff
sec     ${sig("DS", 2)}
sec 300 NSEC  sub.ex. NS DS RRSIG NSEC
sec 300 ${sig("NSEC", 2)}
sub     NS    ns.sub
sub 300 NSEC  *.w.ex. NS RRSIG NSEC
sub 300 ${sig("NSEC", 2)}
ns.sub  A     192.0.2.53
*.w     A     192.0.2.99
*.w     ${sig("A", 2)}
*.w 300 NSEC  www.ex. A RRSIG NSEC
*.w 300 ${sig("NSEC", 2)}
www     A     192.0.2.80
www     ${sig("A", 2)}
www 300 NSEC  ex. A RRSIG NSEC
www 300 ${sig("NSEC", 2)}
`;
