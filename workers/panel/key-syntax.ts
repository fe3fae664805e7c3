/**
 * @module A TSIG key as the primaries' own configuration spells it, for the panel to show once when it
 * generates a key: BIND's and NSD's `key { }` blocks, Knot's `key:` section, and the field names of
 * Cloudflare's TSIG API (name, secret, algo). The secret is in these strings: they are rendered into
 * the one response that creates the key and never stored or logged.
 */
export interface ShownKey {
  name: string;
  algorithm: string;
  secret: string;
}

export function keySyntaxes(k: ShownKey): { label: string; text: string }[] {
  const fqdn = `${k.name}.`;
  return [
    { label: "BIND (named.conf)", text: `key "${fqdn}" {\n    algorithm ${k.algorithm};\n    secret "${k.secret}";\n};` },
    { label: "Knot DNS (knot.conf)", text: `key:\n  - id: ${fqdn}\n    algorithm: ${k.algorithm}\n    secret: ${k.secret}` },
    { label: "NSD (nsd.conf)", text: `key:\n    name: "${fqdn}"\n    algorithm: ${k.algorithm}\n    secret: "${k.secret}"` },
    // The fields of Cloudflare's secondary DNS TSIG API (`/accounts/:id/secondary_dns/tsigs`).
    { label: "Cloudflare (TSIG: name, secret, algo)", text: `name: ${fqdn}\nsecret: ${k.secret}\nalgo: ${k.algorithm}.` },
  ];
}

/** A fresh TSIG secret: as many random octets as the algorithm's HMAC output (RFC 8945 §6), in base64. */
export function generateTsigSecret(algorithm: string): string {
  const sizes: Record<string, number> = { "hmac-md5": 16, "hmac-sha1": 20, "hmac-sha224": 28, "hmac-sha256": 32, "hmac-sha384": 48, "hmac-sha512": 64 };
  const bytes = crypto.getRandomValues(new Uint8Array(sizes[algorithm] ?? 32));
  return btoa(String.fromCharCode(...bytes));
}
