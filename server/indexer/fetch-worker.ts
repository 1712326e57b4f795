// The range fetcher on a thread of its own (see WorkerRangeFetcher in fetch-pool.ts): receiving, parsing, checking,
// decoding and preparing megabytes of logs per second would otherwise share one thread, and one heap's garbage
// collector, with the writes to PostgreSQL.
import { parentPort, workerData } from "node:worker_threads";
import { loadEventCatalogue } from "./events.ts";
import { RangeFetcher, serializeError } from "./fetch.ts";
import { RpcClient } from "./rpc.ts";
import { movesTransferList, recycleCopyChunks } from "./store.ts";

export type FetchWorkerData = {
  urls: string[];
  timeoutMs: number;
  chainId: number;
  factory: string;
  finalityDepth: number;
};
export type FetchRequest = { type: "fetch"; id: number; from: bigint; to: bigint; head: bigint; known: string[] };
/** COPY buffers the main thread has written, given back for the next ranges (see recycleCopyChunks). */
export type RecycleRequest = { type: "recycle"; buffers: ArrayBuffer[] };

const port = parentPort!;
const options = workerData as FetchWorkerData;
/** Request timings (metrics), sent along with the next answer rather than one message each: a message costs both threads. */
let timings: [method: string, seconds: number][] = [];
const takeTimings = () => {
  const taken = timings;
  timings = [];
  return taken;
};
const rpc = new RpcClient({
  urls: options.urls,
  timeoutMs: options.timeoutMs,
  onFault: (kind) => port.postMessage({ type: "fault", kind }),
  onRequest: (method, seconds) => timings.push([method, seconds]),
});
const fetcher = new RangeFetcher({
  rpc,
  catalogue: await loadEventCatalogue(),
  chainId: options.chainId,
  factory: options.factory,
  finalityDepth: options.finalityDepth,
});

port.on("message", (request: FetchRequest | RecycleRequest) => {
  if (request.type === "recycle") return recycleCopyChunks(request.buffers);
  fetcher.fetch(request.from, request.to, request.head, new Set(request.known)).then(
    (fetched) => {
      // The COPY rows move to the main thread without a copy; each chunk owns its memory (see CopyWriter).
      const transfer = [
        ...fetched.prepared.eventChunks.map((chunk) => chunk.buffer as ArrayBuffer),
        ...movesTransferList(fetched.prepared.moves),
      ];
      port.postMessage({ type: "result", id: request.id, fetched, timings: takeTimings() }, transfer);
    },
    (error: unknown) =>
      port.postMessage({ type: "error", id: request.id, error: serializeError(error), timings: takeTimings() }),
  );
});
port.postMessage({ type: "ready" });
