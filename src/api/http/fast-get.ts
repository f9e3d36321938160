import type { IncomingMessage, ServerResponse } from "node:http";
import type { ApiPrincipal } from "../auth/keys";
import { RequestValidationError } from "../errors";
import { errorBodyOf, httpStatusOf } from "./error-shape";
import type { Logger } from "../../logging";
import { logRequest } from "./request-log";
import type { ApiMetrics } from "./metrics";
import { admit, parse, sendsBody, type PipelineOptions } from "./pipeline";
import type { RouteDef } from "./route";

interface Compiled {
  route: RouteDef;
  regex: RegExp;
  keys: string[];
}

export interface FastGetOptions extends PipelineOptions {
  logger: Logger;
  metrics: ApiMetrics;
  trustProxy: boolean;
}

/**
 * A lean path for GET routes without a body (proofs, receipts, reads): the same route definitions,
 * admission, validation, error shape, log line and metrics as the express pipeline, without
 * express' per-request machinery, which costs several times the proof itself. Returns a handler
 * that answers and returns true, or returns false to leave the request to express.
 */
export function createFastGetHandler(
  routes: readonly RouteDef[],
  opts: FastGetOptions,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const compiled: Compiled[] = routes
    .filter((r) => r.method === "get" && !r.body)
    .map((route) => {
      const keys: string[] = [];
      const pattern = route.path
        .split("/")
        .map((seg) => {
          const m = /^\{([A-Za-z0-9_]+)\}$/.exec(seg);
          if (!m) return seg.replace(/[.*+?^${}()|[\]\\-]/g, "\\$&");
          keys.push(m[1]);
          return "([^/]+)";
        })
        .join("/");
      return { route, keys, regex: new RegExp(`^/v1${pattern}/?$`) };
    });

  function send(res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>) {
    const json = JSON.stringify(body);
    res.writeHead(status, {
      "content-type": "application/json; charset=utf-8",
      "content-length": Buffer.byteLength(json),
      ...headers,
    });
    res.end(json);
  }

  async function serve(
    c: Compiled,
    match: RegExpExecArray,
    search: string,
    req: IncomingMessage,
    res: ServerResponse,
  ) {
    const start = process.hrtime.bigint();
    let principal: ApiPrincipal | undefined;
    let errorCode: string | undefined;
    res.once("finish", () => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const route = `/v1${c.route.path}`;
      opts.metrics.observe("GET", route, res.statusCode, seconds);
      logRequest(opts.logger, {
        method: "GET",
        route,
        status: res.statusCode,
        seconds,
        principal,
        errorCode,
      });
    });
    try {
      const forwarded = opts.trustProxy
        ? String(req.headers["x-forwarded-for"] ?? "")
            .split(",")[0]
            .trim()
        : "";
      principal = await admit(
        c.route,
        req.headers.authorization,
        forwarded || req.socket.remoteAddress,
        opts,
      );
      if (sendsBody(req))
        throw new RequestValidationError("body", [{ path: [], message: "a GET request takes no body" }]);
      const params: Record<string, string> = {};
      for (let i = 0; i < c.keys.length; i++) {
        try {
          params[c.keys[i]] = decodeURIComponent(match[i + 1]);
        } catch {
          throw new RequestValidationError("params", [{ path: [], message: "is not valid URI encoding" }]);
        }
      }
      const query: Record<string, string | string[]> = {};
      for (const [k, v] of new URLSearchParams(search)) {
        const prev = query[k];
        query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
      }
      const result = await c.route.handler({
        params: parse(c.route.params, params, "params"),
        query: parse(c.route.query, query, "query"),
        body: undefined,
        principal,
      });
      send(res, result.status ?? 200, result.body, result.headers);
    } catch (err) {
      const status = httpStatusOf(err);
      const body = errorBodyOf(err, status);
      errorCode = body.error.code;
      if (status === 500)
        opts.logger.error(
          { method: "GET", path: c.route.path, error: String(err).split("\n")[0] },
          "request failed",
        );
      const retry =
        typeof body.error.retryAfterSeconds === "number"
          ? { "retry-after": String(body.error.retryAfterSeconds) }
          : undefined;
      if (!res.headersSent) send(res, status, body, retry);
    }
  }

  return (req, res) => {
    if (req.method !== "GET" || !req.url?.startsWith("/v1/")) return false;
    const q = req.url.indexOf("?");
    const pathname = q < 0 ? req.url : req.url.slice(0, q);
    const search = q < 0 ? "" : req.url.slice(q + 1);
    for (const c of compiled) {
      const m = c.regex.exec(pathname);
      if (m) {
        void serve(c, m, search, req, res);
        return true;
      }
    }
    return false;
  };
}
