import { Counter, Histogram, Registry } from "prom-client";

/** Per-route request counters and latency histograms, registered on the app's own registry. */
export interface ApiMetrics {
  readonly registry: Registry;
  observe(method: string, route: string, status: number, seconds: number): void;
}

export function createApiMetrics(registry: Registry = new Registry()): ApiMetrics {
  // A registry shared by several apps (one process) keeps one set of metrics.
  const requests =
    (registry.getSingleMetric("custody_api_requests_total") as Counter<"method" | "route" | "status">) ??
    new Counter({
      name: "custody_api_requests_total",
      help: "HTTP requests by route template, method and status",
      labelNames: ["method", "route", "status"] as const,
      registers: [registry],
    });
  const latency =
    (registry.getSingleMetric("custody_api_request_duration_seconds") as Histogram<"method" | "route">) ??
    new Histogram({
      name: "custody_api_request_duration_seconds",
      help: "HTTP request latency by route template and method",
      labelNames: ["method", "route"] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    });
  return {
    registry,
    observe(method, route, status, seconds) {
      requests.inc({ method, route, status: String(status) });
      latency.observe({ method, route }, seconds);
    },
  };
}
