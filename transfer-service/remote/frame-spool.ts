/**
 * @module The messages of one transfer between the socket and the parser, in order, with bounded memory
 * and without ever slowing the primary down.
 *
 * Why not simply pause the socket when the store is slower than the primary: primaries time out a
 * client that stops reading. knotd drops an AXFR whose socket stays unwritable for a few seconds (its
 * TCP I/O timeout), which happens as soon as ingest into D1 runs slower than the network. So, like
 * BIND and Knot writing a transfer to disk as it comes, the queue keeps up to `memoryFrames` messages in
 * memory and spools the rest to a temporary file, read back in order as the parser catches up. The file
 * is unlinked as soon as it is opened, so it disappears with the process whatever happens.
 *
 * The file is written and read in large pieces, not a message at a time: every file operation is a trip
 * through libuv's thread pool, and a 1M-record AXFR that spooled a message per write and two reads per
 * message spent ~0.4 s of the service's CPU in them (issue 28's profile). Frames that arrive while a
 * write is under way go together into the next write (one `writev`, without joining them into a copy
 * first); the reader takes up to {@link READ_BYTES} at once and cuts frames from that.
 */
import { mkdtemp, open, rm, type FileHandle } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

export interface FrameSpoolOptions {
  /** Messages kept in memory before spooling (each at most 64 KiB). Default 64. */
  memoryFrames?: number;
  /** Directory for the spool file. Default the OS temp dir. */
  dir?: string;
}

/** Octets read back from the spool at once (a few dozen messages). */
const READ_BYTES = 1024 * 1024;

export class FrameSpool {
  private readonly memory: Uint8Array[] = [];
  private readonly memoryFrames: number;
  private readonly dir: string;
  private failure: Error | undefined;
  private ended = false;
  private wake: (() => void) | undefined;

  // The spool: frames (2-octet length, then the message) appended at `writePos` and read at `readPos`,
  // counted both ways. Frames not yet handed to a write wait in `unwritten`.
  private file: Promise<FileHandle> | undefined;
  private writes: Promise<unknown> = Promise.resolve();
  private unwritten: Uint8Array[] = [];
  private unwrittenBytes = 0;
  private writing = false;
  private writePos = 0;
  /** Octets of the file written so far (≤ `writePos`, which counts writes under way). */
  private flushedPos = 0;
  private readPos = 0;
  private spooled = 0;
  private unspooled = 0;
  /** Octets read from the file and not yet cut into frames (`readBuf[readAt…]`). */
  private readBuf = new Uint8Array(0);
  private readAt = 0;
  /** Octets written to the spool so far (for tests and metrics). */
  spooledBytes = 0;
  /** File writes and reads made (for tests). */
  fileOps = 0;

  constructor(options: FrameSpoolOptions = {}) {
    this.memoryFrames = options.memoryFrames ?? 64;
    this.dir = options.dir ?? tmpdir();
  }

  /** Adds messages in arrival order. */
  push(frames: readonly Uint8Array[]): void {
    for (const f of frames) {
      // Once spooling started, everything goes to the spool until the reader has drained it: order.
      if (this.spooled === this.unspooled && this.memory.length < this.memoryFrames) this.memory.push(f);
      else this.spool(f);
    }
    this.startWrite();
    this.notify();
  }

  fail(err: Error): void {
    this.failure ??= err;
    this.notify();
  }

  end(): void {
    this.ended = true;
    this.notify();
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private openFile(): Promise<FileHandle> {
    this.file ??= (async () => {
      const dir = await mkdtemp(path.join(this.dir, "backstop-xfr-"));
      const name = path.join(dir, "spool");
      const handle = await open(name, "w+", 0o600);
      await rm(dir, { recursive: true, force: true });
      return handle;
    })();
    return this.file;
  }

  /** Queues a frame for the next write. */
  private spool(frame: Uint8Array): void {
    const head = new Uint8Array(2);
    head[0] = frame.length >> 8;
    head[1] = frame.length & 0xff;
    this.unwritten.push(head, frame);
    this.unwrittenBytes += frame.length + 2;
    this.spooledBytes += frame.length + 2;
    this.spooled++;
  }

  /**
   * Writes what is queued as one piece, unless a write is under way (what queues meanwhile goes in the
   * write after it). The write joins the `writes` chain, which the reader waits on.
   */
  private startWrite(): void {
    if (this.writing || this.unwrittenBytes === 0) return;
    const pieces = this.unwritten;
    const size = this.unwrittenBytes;
    this.unwritten = [];
    this.unwrittenBytes = 0;
    const at = this.writePos;
    this.writePos += size;
    this.writing = true;
    this.writes = this.writes
      .then(() => this.openFile())
      .then(async (fh) => {
        this.fileOps++;
        // The frames as they are (one writev), not joined into a copy first; a short write finishes by copy.
        let done = (await fh.writev(pieces, at)).bytesWritten;
        if (done < size) {
          const data = Buffer.concat(pieces, size);
          while (done < size) done += (await fh.write(data, done, size - done, at + done)).bytesWritten;
        }
        this.flushedPos = at + size;
      })
      .catch((err: unknown) => this.fail(new Error(`cannot spool the transfer to disk: ${(err as Error).message}`)))
      .finally(() => {
        this.writing = false;
        this.startWrite();
      });
  }

  /** Octets of `readBuf` not yet cut into frames. */
  private get buffered(): number {
    return this.readBuf.length - this.readAt;
  }

  /** Reads at least `need` more octets (all written before this call) into `readBuf`. */
  private async fill(need: number): Promise<void> {
    // The frames the reader wants may still be queued or being written.
    while (this.flushedPos < this.readPos + need) {
      if (this.failure) throw this.failure;
      this.startWrite();
      await this.writes;
    }
    if (this.failure) throw this.failure;
    const fh = await this.openFile();
    const size = Math.min(Math.max(need, READ_BYTES), this.flushedPos - this.readPos);
    const rest = this.readBuf.subarray(this.readAt);
    const buf = new Uint8Array(rest.length + size);
    buf.set(rest);
    let got = 0;
    while (got < size) {
      const { bytesRead } = await fh.read(buf, rest.length + got, size - got, this.readPos + got);
      this.fileOps++;
      if (bytesRead === 0) throw new Error("the transfer spool ended early");
      got += bytesRead;
    }
    this.readPos += size;
    this.readBuf = buf;
    this.readAt = 0;
  }

  private async unspool(): Promise<Uint8Array> {
    if (this.buffered < 2) await this.fill(2 - this.buffered);
    const length = (this.readBuf[this.readAt]! << 8) | this.readBuf[this.readAt + 1]!;
    if (this.buffered < 2 + length) await this.fill(2 + length - this.buffered);
    const start = this.readAt + 2;
    const body = this.readBuf.subarray(start, start + length);
    this.readAt = start + length;
    this.unspooled++;
    if (this.unspooled === this.spooled) {
      // Drained: start the file over, so a long transfer's spool does not only grow. The truncation
      // joins the write chain, so a frame spooled from now on is written after it.
      // Nothing is being written (every spooled frame was read), and this runs without a pause.
      this.readPos = 0;
      this.writePos = 0;
      this.flushedPos = 0;
      this.readBuf = new Uint8Array(0);
      this.readAt = 0;
      this.writes = this.writes.then(() => this.openFile()).then((fh) => fh.truncate(0));
    }
    return body;
  }
  /** The next message; undefined once the stream ended and everything was read; throws on failure. */
  async next(): Promise<Uint8Array | undefined> {
    for (;;) {
      if (this.failure) throw this.failure;
      const f = this.memory.shift();
      if (f) return f;
      if (this.unspooled < this.spooled) return this.unspool();
      if (this.ended) return undefined;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  /** Closes the spool file (already unlinked). */
  async close(): Promise<void> {
    if (!this.file) return;
    await this.writes.catch(() => undefined);
    await (await this.file.catch(() => undefined))?.close().catch(() => undefined);
  }
}
