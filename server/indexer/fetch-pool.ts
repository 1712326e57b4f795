import { Worker } from "node:worker_threads";
import type { Logger } from "pino";
import { deserializeError, type Fetched, type SerializedError } from "./fetch.ts";
import type { FetchRequest, FetchWorkerData, RecycleRequest } from "./fetch-worker.ts";

type Message =
  | { type: "ready" }
  | { type: "result"; id: number; fetched: Fetched; timings: [string, number][] }
  | { type: "error"; id: number; error: SerializedError; timings: [string, number][] }
  | { type: "fault"; kind: string };

export type WorkerRangeFetcherOptions = FetchWorkerData & {
  logger: Logger;
  onFault?: (kind: string) => void;
  onRequest?: (method: string, seconds: number) => void;
};

/**
 * The module-loading and profiling flags of this process (a worker accepts no V8 heap flags; `node --cpu-prof` then
 * writes a profile per thread). A loader such as tsx, if this process has one, is kept; without one, Node strips the
 * worker's TypeScript itself, as it does for `npm run indexer` (the code is erasable syntax only: tsconfig.json).
 */
function loaderArgs(): string[] {
  const kept: string[] = [];
  const args = process.execArgv;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (/^--(import|require|loader|experimental-loader|conditions)$/.test(arg) || arg === "-r")
      kept.push(arg, args[++i]!);
    else if (
      /^--(import|require|loader|experimental-loader|conditions)=/.test(arg) ||
      arg.startsWith("--experimental-") ||
      arg.startsWith("--cpu-prof")
    )
      kept.push(arg);
  }
  return kept;
}

/**
 * Range fetching (RangeFetcher) on a worker thread. Same contract as RangeFetcher.fetch; a worker that dies fails
 * the calls in flight (the indexer retries them) and is started again on the next call.
 */
export class WorkerRangeFetcher {
  private worker: Worker | undefined;
  private ready: Promise<void> | undefined;
  private readonly pending = new Map<number, { resolve: (f: Fetched) => void; reject: (e: Error) => void }>();
  private nextId = 1;

  private readonly o: WorkerRangeFetcherOptions;

  constructor(o: WorkerRangeFetcherOptions) {
    this.o = o;
  }

  private start(): Worker {
    const { logger, onFault, onRequest, ...data } = this.o;
    // The worker loads TypeScript the way this process does (see loaderArgs).
    const worker = new Worker(new URL("./fetch-worker.ts", import.meta.url), {
      workerData: data satisfies FetchWorkerData,
      execArgv: loaderArgs(),
      // The same cap as the main thread's heap (npm run indexer): memory stays bounded by the ranges in flight.
      resourceLimits: { maxOldGenerationSizeMb: 256 },
    });
    let markReady!: () => void;
    this.starting = true;
    this.ready = new Promise<void>((resolve) => (markReady = () => ((this.starting = false), resolve())));
    worker.on("message", (m: Message) => {
      if (m.type === "fault") return onFault?.(m.kind);
      if (m.type === "ready") {
        markReady();
        return this.holdOpen();
      }
      for (const [method, seconds] of m.timings) onRequest?.(method, seconds);
      const call = this.pending.get(m.id);
      if (!call) return;
      this.pending.delete(m.id);
      this.holdOpen();
      if (m.type === "error") return call.reject(deserializeError(m.error));
      const f = m.fetched;
      // Structured clone turns Buffers into Uint8Arrays over the same (transferred) memory.
      f.prepared.eventChunks = f.prepared.eventChunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength));
      f.prepared.recycle = (buffers) => {
        if (this.worker === worker) worker.postMessage({ type: "recycle", buffers } satisfies RecycleRequest, buffers);
      };
      call.resolve(f);
    });
    const fail = (error: Error) => {
      markReady(); // nobody waits for a thread that is gone
      if (this.worker === worker) this.worker = undefined;
      for (const call of this.pending.values()) call.reject(error);
      this.pending.clear();
    };
    worker.on("error", (error) => {
      logger.error({ err: error }, "range fetcher thread failed; starting a new one");
      fail(error);
    });
    worker.on("exit", (code) => fail(new Error(`range fetcher thread exited (code ${code})`)));
    return worker;
  }

  /**
   * An idle thread must not keep the process alive, but one with work in flight (or still starting) must: a call
   * awaited at the top level of a script would otherwise see the process exit under it.
   */
  private starting = false;
  private holdOpen() {
    if (!this.worker) return;
    if (this.starting || this.pending.size > 0) this.worker.ref();
    else this.worker.unref();
  }

  /** Starts the thread (loading its code takes a moment) and resolves once it can take calls. */
  async warmUp() {
    this.worker ??= this.start();
    await this.ready;
  }

  fetch(from: bigint, to: bigint, head: bigint, known: Set<string>): Promise<Fetched> {
    this.worker ??= this.start();
    const id = this.nextId++;
    const request: FetchRequest = { type: "fetch", id, from, to, head, known: [...known] };
    return new Promise<Fetched>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.holdOpen();
      this.worker!.postMessage(request);
    });
  }

  /** Stops the thread; calls in flight fail. */
  async close() {
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }
}
