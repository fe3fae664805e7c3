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

export class FrameSpool {
  private readonly memory: Uint8Array[] = [];
  private readonly memoryFrames: number;
  private readonly dir: string;
  private failure: Error | undefined;
  private ended = false;
  private wake: (() => void) | undefined;

  // The spool: frames written at `writePos`, read at `readPos`, counted both ways.
  private file: Promise<FileHandle> | undefined;
  private writes: Promise<unknown> = Promise.resolve();
  private writePos = 0;
  private readPos = 0;
  private spooled = 0;
  private unspooled = 0;
  /** Octets written to the spool so far (for tests and metrics). */
  spooledBytes = 0;

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

  private spool(frame: Uint8Array): void {
    const at = this.writePos;
    const framed = new Uint8Array(frame.length + 2);
    framed[0] = frame.length >> 8;
    framed[1] = frame.length & 0xff;
    framed.set(frame, 2);
    this.writePos += framed.length;
    this.spooledBytes += framed.length;
    this.spooled++;
    this.writes = this.writes
      .then(() => this.openFile())
      .then((fh) => fh.write(framed, 0, framed.length, at))
      .catch((err: unknown) => this.fail(new Error(`cannot spool the transfer to disk: ${(err as Error).message}`)));
  }

  private async unspool(): Promise<Uint8Array> {
    await this.writes;
    if (this.failure) throw this.failure;
    const fh = await this.openFile();
    const head = new Uint8Array(2);
    await fh.read(head, 0, 2, this.readPos);
    const length = (head[0]! << 8) | head[1]!;
    const body = new Uint8Array(length);
    await fh.read(body, 0, length, this.readPos + 2);
    this.readPos += 2 + length;
    this.unspooled++;
    if (this.unspooled === this.spooled) {
      // Drained: start the file over, so a long transfer's spool does not only grow. The truncation
      // joins the write chain, so a frame spooled from now on is written after it.
      this.readPos = 0;
      this.writePos = 0;
      this.writes = this.writes.then(() => fh.truncate(0));
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
