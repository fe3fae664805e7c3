/**
 * @module Progress bars (cli-progress) on stderr: export and import, and `zone add --wait`. Only on a terminal
 * and never with `--json`, so scripts and pipes see no control characters.
 */
import cliProgress from "cli-progress";

export interface Progress {
  update(value: number, payload?: Record<string, unknown>): void;
  setTotal(total: number): void;
  stop(): void;
}

const none: Progress = { update: () => undefined, setTotal: () => undefined, stop: () => undefined };

export function progressBar(enabled: boolean, format: string, total: number, payload: Record<string, unknown> = {}): Progress {
  if (!enabled || !process.stderr.isTTY) return none;
  const bar = new cliProgress.SingleBar({ format, stream: process.stderr, hideCursor: true, clearOnComplete: false }, cliProgress.Presets.shades_classic);
  bar.start(total, 0, payload);
  return {
    update: (value, p) => bar.update(value, p),
    setTotal: (t) => bar.setTotal(t),
    stop: () => bar.stop(),
  };
}
