/**
 * A one-line terminal progress bar for backfills: blocks done, events per second and ETA. Redrawn at most every
 * 100 ms on stderr, only when stderr is a terminal (logs stay clean JSON otherwise).
 */
export class ProgressBar {
  private startedAt = performance.now();
  private lastDraw = 0;
  private events = 0;
  private active = false;

  private readonly stream: NodeJS.WriteStream;
  private readonly width: number;

  constructor(stream: NodeJS.WriteStream = process.stderr, width = 30) {
    this.stream = stream;
    this.width = width;
  }

  get enabled() {
    return Boolean(this.stream.isTTY);
  }

  update(p: { from: bigint; done: bigint; target: bigint; events: number }) {
    if (!this.enabled) return;
    this.events += p.events;
    const now = performance.now();
    const total = Number(p.target - p.from + 1n);
    const done = Number(p.done - p.from + 1n);
    const finished = done >= total;
    if (!finished && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const seconds = (now - this.startedAt) / 1000;
    const ratio = total > 0 ? Math.min(1, done / total) : 1;
    const filled = Math.round(ratio * this.width);
    const rate = seconds > 0 ? Math.round(this.events / seconds) : 0;
    const eta = ratio > 0 && !finished ? Math.round((seconds / ratio) * (1 - ratio)) : 0;
    const line =
      `backfill [${"#".repeat(filled)}${".".repeat(this.width - filled)}] ${(ratio * 100).toFixed(1)}% ` +
      `${done.toLocaleString("en")}/${total.toLocaleString("en")} blocks · ${this.events.toLocaleString("en")} events · ` +
      `${rate.toLocaleString("en")} ev/s · ETA ${eta}s`;
    this.stream.write(`\r${line}\x1b[K`);
    this.active = true;
    if (finished) this.finish();
  }

  finish() {
    if (this.active) this.stream.write("\n");
    this.active = false;
  }
}
