/**
 * @module DNS over TCP framing (RFC 1035 §4.2.2, RFC 7766 §8): every message is preceded by a two-octet
 * length in network order. TCP delivers a byte stream, so one `data` event may hold half a length, several
 * whole messages, or a message split anywhere; `FrameDecoder` reassembles them.
 *
 * Memory stays bounded: a message is at most 65535 octets, and the decoder keeps at most one partial
 * message plus the chunks not yet consumed.
 */

/** Prefixes `message` with its two-octet length. */
export function frame(message: Uint8Array): Uint8Array {
  if (message.length > 0xffff) throw new RangeError(`a DNS message over TCP is at most 65535 octets, not ${message.length}`);
  const out = new Uint8Array(message.length + 2);
  out[0] = message.length >> 8;
  out[1] = message.length & 0xff;
  out.set(message, 2);
  return out;
}

/** A zero length prefix: no DNS message is empty, so the stream is broken (RFC 7766 §8 has no such frame). */
export class FramingError extends Error {
  override readonly name = "FramingError";
}

export class FrameDecoder {
  private chunks: Uint8Array[] = [];
  private buffered = 0;

  /** Octets received but not yet returned as messages. */
  get pending(): number {
    return this.buffered;
  }

  /**
   * Feeds received octets; returns every message completed by them, in order (copies, safe to keep).
   * @throws FramingError on a zero-length frame.
   */
  push(data: Uint8Array): Uint8Array[] {
    if (data.length > 0) {
      this.chunks.push(data);
      this.buffered += data.length;
    }
    const out: Uint8Array[] = [];
    for (;;) {
      if (this.buffered < 2) break;
      const length = (this.peekByte(0) << 8) | this.peekByte(1);
      if (length === 0) throw new FramingError("zero-length DNS message on TCP");
      if (this.buffered < 2 + length) break;
      this.take(2);
      out.push(this.take(length));
    }
    return out;
  }

  private peekByte(index: number): number {
    let i = index;
    for (const c of this.chunks) {
      if (i < c.length) return c[i]!;
      i -= c.length;
    }
    throw new RangeError("peek past buffered data");
  }

  /** Removes and returns the first `n` buffered octets. */
  private take(n: number): Uint8Array {
    const first = this.chunks[0]!;
    if (first.length >= n) {
      // Fast path: the whole piece lies in the first chunk. Copy so the caller does not pin the chunk.
      const out = first.slice(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      return out;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0]!;
      const want = n - filled;
      if (c.length <= want) {
        out.set(c, filled);
        filled += c.length;
        this.chunks.shift();
      } else {
        out.set(c.subarray(0, want), filled);
        this.chunks[0] = c.subarray(want);
        filled += want;
      }
    }
    this.buffered -= n;
    return out;
  }
}
