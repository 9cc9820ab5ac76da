import { monitorEventLoopDelay } from "node:perf_hooks";
import { Counter, Gauge, Histogram, Registry } from "prom-client";

/**
 * The service's Prometheus metrics, on a registry of its own (no global state). `close()` stops the
 * event-loop monitor.
 */
export function createMetrics() {
  const registry = new Registry();
  const requests = new Counter({
    name: "workbench_http_requests_total",
    help: "HTTP requests by route, method and status",
    labelNames: ["route", "method", "status"] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: "workbench_http_request_duration_seconds",
    help: "HTTP request latency by route and status",
    labelNames: ["route", "status"] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const predictions = new Counter({
    name: "workbench_predictions_total",
    help: "Predicted rows by class and model version",
    labelNames: ["class", "version"] as const,
    registers: [registry],
  });
  const rows = new Histogram({
    name: "workbench_batch_rows",
    help: "Rows per scoring request",
    buckets: [1, 2, 5, 10, 50, 100, 500, 1000, 5000],
    registers: [registry],
  });
  const modelInfo = new Gauge({
    name: "workbench_model_info",
    help: "The model being served (value 1)",
    labelNames: ["name", "version", "alias", "run_id"] as const,
    registers: [registry],
  });
  const swaps = new Counter({
    name: "workbench_model_swaps_total",
    help: "Model hot swaps",
    registers: [registry],
  });
  const errors = new Counter({
    name: "workbench_http_errors_total",
    help: "Error answers by route and error code (BATCH_TOO_LARGE, INVALID_INPUT, ...)",
    labelNames: ["route", "error_code"] as const,
    registers: [registry],
  });
  const schemaWarnings = new Counter({
    name: "workbench_schema_warnings_total",
    help: "Input adjusted to the signature as MLflow does (default mode): extra columns ignored, values converted, non-integers for long columns, missing values in required columns",
    labelNames: ["kind"] as const,
    registers: [registry],
  });
  // What a client sees as a stall: the longest time the event loop was blocked between two scrapes.
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  new Gauge({
    name: "workbench_event_loop_delay_max_seconds",
    help: "Longest event-loop delay since the previous scrape",
    registers: [registry],
    collect() {
      this.set(loop.max / 1e9);
      loop.reset();
    },
  });
  new Gauge({
    name: "process_resident_memory_bytes",
    help: "Resident memory of the service process",
    registers: [registry],
    collect() {
      this.set(process.memoryUsage.rss());
    },
  });
  const close = () => loop.disable();
  return {
    registry,
    requests,
    latency,
    predictions,
    rows,
    modelInfo,
    swaps,
    errors,
    schemaWarnings,
    close,
  };
}

export type ServiceMetrics = ReturnType<typeof createMetrics>;
