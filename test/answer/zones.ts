/**
 * @module The unsigned zones of the differential suite: every corner of RFC 1034 §4.3.2 the answer engine
 * has a rule for, in zones that knotd and nsd load as they are (issue 7): wildcards (one blocked by an empty
 * non-terminal), delegations with glue in and out of the zone and sibling glue, CNAME chains, loops and
 * dangling targets, DNAME in and out of the zone, an unknown type, names with escapes and mixed case, RRsets
 * too big for 512 octets, and a hosted child zone (DS at its apex comes from the parent).
 */

export const PARENT_APEX = "diff.test.";
export const CHILD_APEX = "kid.diff.test.";

const bigTxt = Array.from({ length: 30 }, (_, i) => `big        TXT "${String(i).padStart(2, "0")} ${"y".repeat(40)}"`).join("\n");

export const PARENT_ZONE = `
$ORIGIN diff.test.
$TTL 3600
@          SOA   ns1 hostmaster 2026010101 7200 3600 1209600 300
@          NS    ns1
@          NS    ns2.elsewhere.example.
@          MX    10 mail
@          MX    20 mail.elsewhere.example.
@          TXT   "apex"
ns1        A     192.0.2.1
ns1        AAAA  2001:db8::1
mail       A     192.0.2.25
www    600 A     192.0.2.80
www    600 AAAA  2001:db8::80
Mixed.Case A     192.0.2.81
alias      CNAME www
alias2     CNAME alias
chain1     CNAME chain2
chain2     CNAME chain3
chain3     CNAME chain4
chain4     CNAME www
outside    CNAME www.elsewhere.example.
dangling   CNAME nothing.www
toempty    CNAME b.c
tocut      CNAME host.sub
towild     CNAME host.w
loop1      CNAME loop2
loop2      CNAME loop1
self       CNAME self
_sip._tcp  SRV   0 5 5060 sip
_sip._tcp  SRV   1 5 5060 sip.elsewhere.example.
sip        A     192.0.2.50
a.b.c      TXT   "deep"
*          TXT   "wild"
*          MX    10 mail
*.w        A     192.0.2.99
*.cw       CNAME www
sub        NS    ns.sub
sub        NS    ns.elsewhere.example.
sub        NS    ns1
ns.sub     A     192.0.2.53
ns.sub     AAAA  2001:db8::53
sibling    NS    ns.sub
out        NS    ns1.elsewhere.example.
kid        NS    ns1.kid
kid        DS    12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
ns1.kid    A     192.0.2.60
dn     900 DNAME elsewhere.example.
dn2        DNAME in
x.in       A     192.0.2.7
unknown    TYPE65280 \\# 3 abcdef
esc\\.aped  TXT   "dot in a label"
sp\\032ace  A     192.0.2.9
${bigTxt}
`;

export const CHILD_ZONE = `
$ORIGIN kid.diff.test.
$TTL 3600
@          SOA   ns1 hostmaster 7 7200 3600 1209600 60
@          NS    ns1
ns1        A     192.0.2.60
www        A     192.0.2.61
`;
