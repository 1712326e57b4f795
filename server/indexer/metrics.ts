import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/**
 * Prometheus metrics of this process. One registry per process (the indexer's and the API's metrics, plus Node's
 * defaults); `/metrics` serves it.
 */
export const metricsRegistry = new Registry();
collectDefaultMetrics({ register: metricsRegistry, prefix: "perkmint_" });

const labelNames = ["chain_id"] as const;

export const indexerMetrics = {
  indexedBlock: new Gauge({
    name: "perkmint_indexer_indexed_block",
    help: "Last block fully applied",
    labelNames,
    registers: [metricsRegistry],
  }),
  headBlock: new Gauge({
    name: "perkmint_indexer_head_block",
    help: "Chain head seen by the indexer",
    labelNames,
    registers: [metricsRegistry],
  }),
  lagBlocks: new Gauge({
    name: "perkmint_indexer_lag_blocks",
    help: "Head minus indexed block",
    labelNames,
    registers: [metricsRegistry],
  }),
  lagSeconds: new Gauge({
    name: "perkmint_indexer_lag_seconds",
    help: "Head block time minus indexed block time",
    labelNames,
    registers: [metricsRegistry],
  }),
  events: new Counter({
    name: "perkmint_indexer_events_total",
    help: "Raw events applied",
    labelNames,
    registers: [metricsRegistry],
  }),
  batches: new Counter({
    name: "perkmint_indexer_batches_total",
    help: "Batches committed",
    labelNames,
    registers: [metricsRegistry],
  }),
  reorgs: new Counter({
    name: "perkmint_indexer_reorgs_total",
    help: "Reorgs rolled back",
    labelNames,
    registers: [metricsRegistry],
  }),
  reorgDepth: new Histogram({
    name: "perkmint_indexer_reorg_depth_blocks",
    help: "Blocks rolled back per reorg",
    labelNames,
    buckets: [1, 2, 3, 5, 10, 20, 50, 100],
    registers: [metricsRegistry],
  }),
  stepFailures: new Counter({
    name: "perkmint_indexer_step_failures_total",
    help: "Failed steps (retried)",
    labelNames,
    registers: [metricsRegistry],
  }),
  rpcFaults: new Counter({
    name: "perkmint_indexer_rpc_faults_total",
    help: "Failed RPC attempts by kind (timeout, 429, 5xx, malformed, network, rpc-error)",
    labelNames: ["kind"] as const,
    registers: [metricsRegistry],
  }),
  rpcSeconds: new Histogram({
    name: "perkmint_indexer_rpc_request_seconds",
    help: "RPC request duration",
    labelNames: ["method"] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [metricsRegistry],
  }),
  batchSeconds: new Histogram({
    name: "perkmint_indexer_batch_write_seconds",
    help: "Time to commit one batch",
    labelNames,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [metricsRegistry],
  }),
  isWriter: new Gauge({
    name: "perkmint_indexer_is_writer",
    help: "1 when this process holds the chain's writer lock",
    labelNames,
    registers: [metricsRegistry],
  }),
};
