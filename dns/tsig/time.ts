/**
 * @module TSIG time: the injectable clock, the fudge window and the skew it reports (RFC 8945 §5.2.3).
 */
import { TsigError } from "./errors.ts";

/** Milliseconds since the epoch, like `Date.now`. Tests skew it instead of a peer's clock. */
export type Clock = () => number;

/** RFC 8945 §10: 300 seconds is the recommended fudge. */
export const DEFAULT_FUDGE = 300;

export const systemClock: Clock = () => Date.now();

/** Whole seconds of `clock`, as Time Signed carries them. */
export function nowSeconds(clock: Clock = systemClock): number {
  return Math.floor(clock() / 1000);
}

/**
 * RFC 8945 §5.2.3: the message is timely when our clock is within Time Signed ± Fudge (the signer's
 * fudge, as the record carries it).
 * @throws TsigError("clock-skew") naming the skew in seconds; positive means the signer is ahead of us.
 */
export function checkTime(
  timeSigned: number,
  fudge: number,
  now: number,
  context: { keyName: string; who: string; messageIndex?: number },
): void {
  const skew = timeSigned - now;
  if (Math.abs(skew) <= fudge) return;
  const direction = skew > 0 ? "ahead of" : "behind";
  throw new TsigError(
    "clock-skew",
    `clock skew of ${Math.abs(skew)} seconds: ${context.who}'s TSIG time is ${direction} ours, more than the ` +
      `fudge of ${fudge} s allows (key "${context.keyName}"); check both clocks (NTP)`,
    { keyName: context.keyName, skewSeconds: skew, messageIndex: context.messageIndex },
  );
}
