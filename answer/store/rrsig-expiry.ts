/**
 * @module The earliest RRSIG expiration of stored data, for the zone status (alerts before signatures run
 * out). Each block row carries the earliest expiration among its RRSIGs; the zone's is the minimum over the
 * blocks its served version sees.
 *
 * RRSIG times are 32-bit seconds compared with serial-number arithmetic (RFC 4034 §3.1.5, RFC 1982): a
 * value names the instant within 2^31 s (68 years) of now, so it is read relative to the moment the block
 * is written and stored as an absolute instant (ms since the epoch), which orders plainly in SQL.
 */
import { RRType } from "../../dns/constants.ts";

const TWO_32 = 2 ** 32;
const TWO_31 = 2 ** 31;
/** Offset of the expiration in RRSIG rdata: type covered (2), algorithm (1), labels (1), original TTL (4). */
const EXPIRATION_AT = 8;

/** RFC 4034 §3.1.5: the absolute time (seconds since the epoch) nearest `nowSeconds` that `wire` names. */
export function resolveSignatureTime(wire: number, nowSeconds: number): number {
  const ahead = (((wire - nowSeconds) % TWO_32) + TWO_32) % TWO_32;
  // Exactly 2^31 apart is undefined in RFC 1982; reading it as the past is the cautious choice here.
  return nowSeconds + (ahead >= TWO_31 ? ahead - TWO_32 : ahead);
}

/** Tracks the earliest expiration among the RRSIGs it is shown. */
export class EarliestExpiry {
  private earliest: number | null = null;
  private readonly nowSeconds: number;

  constructor(nowMs = Date.now()) {
    this.nowSeconds = Math.floor(nowMs / 1000);
  }

  /** The earliest expiration seen, in ms since the epoch; null when no RRSIG was seen. */
  get ms(): number | null {
    return this.earliest === null ? null : this.earliest * 1000;
  }

  /** Takes a record's type and rdata (ignored unless it is an RRSIG long enough to hold the times). */
  record(type: number, rdata: Uint8Array): void {
    if (type !== RRType.RRSIG || rdata.length < EXPIRATION_AT + 8) return;
    this.wire(new DataView(rdata.buffer, rdata.byteOffset, rdata.byteLength).getUint32(EXPIRATION_AT));
  }

  /**
   * Takes a record in block layout at `at` in `view` (type, class, ttl, rdlength, rdata; see
   * `block-codec.ts`), without copying it.
   */
  recordAt(view: DataView, at: number): void {
    if (view.getUint16(at) !== RRType.RRSIG || view.getUint16(at + 8) < EXPIRATION_AT + 8) return;
    this.wire(view.getUint32(at + 10 + EXPIRATION_AT));
  }

  private wire(value: number): void {
    const t = resolveSignatureTime(value, this.nowSeconds);
    if (this.earliest === null || t < this.earliest) this.earliest = t;
  }
}
