/**
 * @module The shapes every real-peer module shares: what a test asks of a peer (zones, TSIG keys, who may
 * transfer, whom to NOTIFY) and the handle it gets back. knotd, named, nsd and pdns_server all take the
 * same {@link PeerOptions}, so a test can run one scenario against every peer in a loop.
 */

/** The HMAC algorithms of RFC 8945 §6, spelled as every peer's config and kdig's `-y` spell them. */
export type TsigAlgorithm = "hmac-md5" | "hmac-sha1" | "hmac-sha224" | "hmac-sha256" | "hmac-sha384" | "hmac-sha512";

export const TSIG_ALGORITHMS: readonly TsigAlgorithm[] = [
  "hmac-md5",
  "hmac-sha1",
  "hmac-sha224",
  "hmac-sha256",
  "hmac-sha384",
  "hmac-sha512",
];

/** A TSIG key as an operator would paste it into a primary's config. */
export interface TsigKey {
  /** Key name, a domain name; a trailing dot is optional. */
  name: string;
  algorithm: TsigAlgorithm;
  /** The shared secret, base64. */
  secret: string;
}

/** Where a peer sends NOTIFY for a zone (RFC 1996): an address and port on loopback. */
export interface NotifyTarget {
  address: string;
  port: number;
}

/** Where a secondary zone transfers from: an address and port on loopback, and the key it signs with. */
export interface SecondaryOf {
  address: string;
  port: number;
  /** Name of a key from {@link PeerOptions.keys}: transfer requests (and NOTIFYs accepted) are signed with it. */
  key?: string;
}

/**
 * One zone the peer serves: as primary, from `text` or `file` (give exactly one); or, with `secondaryOf`
 * (knotd, named and nsd), as a secondary that transfers it from another server and keeps no file of ours.
 */
export interface ZoneSpec {
  /** The zone's origin; a trailing dot is optional. */
  name: string;
  /** Master-file text (RFC 1035 §5). Written into the peer's directory. */
  text?: string;
  /** Path of a master file to copy into the peer's directory (for big generated zones). */
  file?: string;
  /**
   * Name of a key from {@link PeerOptions.keys}: when set, transfers are allowed only when signed with it
   * (from any address); when unset, transfers are allowed unsigned from 127.0.0.1 only.
   */
  transferKey?: string;
  /** NOTIFY targets, as `{address, port}` or `"127.0.0.1:5053"` / `"[::1]:5053"`. */
  notify?: Array<NotifyTarget | string>;
  /**
   * Sign outgoing NOTIFYs with `transferKey`. PowerDNS signs them with the zone's TSIG-ALLOW-AXFR key
   * whether asked or not, so for pdns this flag cannot turn signing off.
   */
  signNotify?: boolean;
  /** The zone carries its own RRSIG/NSEC records (signed by `signZone`); PowerDNS must be told. */
  presigned?: boolean;
  /** Serve the zone as a secondary of this primary (knotd): no `text` or `file`. */
  secondaryOf?: SecondaryOf;
  /**
   * knotd only, catalog zones (RFC 9432): `generate` makes this zone a catalog that knotd generates from
   * the zones naming it (no `text` or `file`); `member` lists this zone in catalog `zone`, with an optional
   * group property.
   */
  catalog?: { role: "generate" } | { role: "member"; zone: string; group?: string };
}

export interface PeerOptions {
  zones: ZoneSpec[];
  keys?: TsigKey[];
  /** Listen on this port instead of a free one picked for you (no retry elsewhere if it is taken). */
  port?: number;
  /** Keep the temp dir after stop() (for debugging); also on when BACKSTOP_KEEP_PEER_DIRS=1. */
  keepDir?: boolean;
  /** How long to wait for the daemon to answer SOA for every zone. Default 20 s plus 1 s per 1.5 MB of zone files. */
  startTimeoutMs?: number;
}

export type PeerKind = "knotd" | "named" | "nsd" | "pdns";

/** A running peer. Every method is bounded in time; failures carry the daemon's output tail. */
export interface PeerHandle {
  kind: PeerKind;
  /** Always 127.0.0.1: peers never listen beyond loopback. */
  address: string;
  /** UDP and TCP port the peer answers on. */
  port: number;
  /** The peer's temp dir: config, zone files, journals, log. */
  dir: string;
  /** Process id of the daemon (the leader of its own process group). */
  readonly pid: number;
  /** Path of the zone file the peer serves for `zone`. */
  zoneFile(zone: string): string;
  /** The SOA serial the peer serves now for `zone` (a UDP query). */
  serial(zone: string): Promise<number>;
  /**
   * Re-read configuration and every zone file the peer's own way (knotc reload, rndc reload,
   * nsd-control reconfig + reload, pdnsutil load-zone + pdns_control purge). Resolves once the peer has
   * taken the command, not once it has loaded: poll `serial()` for the effect.
   */
  reload(): Promise<void>;
  /**
   * Replace the zone's master file with `text` and make the peer serve it: resolves once the peer answers
   * with the new SOA serial (which the peer then announces with NOTIFY; knotd and named keep the
   * difference for IXFR). knotd and named refuse a serial that is not newer (RFC 1982), and updateZone
   * says so at once; `{ restart: true }` instead stops the peer, deletes its journals and starts it from
   * the new file on the same port (how an operator forces a serial regression). nsd and pdns simply
   * load whatever serial the file has.
   */
  updateZone(zone: string, text: string, how?: { restart?: boolean }): Promise<void>;
  /** Send a signal to the daemon's whole process group (nsd and pdns fork helpers). Default SIGKILL. */
  kill(signal?: NodeJS.Signals): void;
  /** Resolves when the daemon has exited (with its exit code, or null after a signal). */
  readonly exited: Promise<number | null>;
  /** Start the daemon again on the same port, dir and config after it stopped or was killed. */
  restart(): Promise<void>;
  /** SIGTERM, wait for exit (SIGKILL after 5 s), then remove the temp dir. Safe to call twice. */
  stop(): Promise<void>;
  /** The last lines the daemon wrote to stdout/stderr. */
  output(): string;
}

export type StartPeer = (opts: PeerOptions) => Promise<PeerHandle>;
