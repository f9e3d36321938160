import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import express, { type NextFunction, type Request, type Response } from "express";
import type { Registry } from "prom-client";
import type { PublicClient } from "viem";
import type { ApiKeyStore } from "./auth/keys";
import type { ApiContext, ResolvedApiOptions } from "./context";
import { RouteNotFoundError } from "./errors";
import { errorBodyOf, fromBodyParserError, httpStatusOf } from "./http/error-shape";
import { createLogger, type Logger } from "../logging";
import { logRequest } from "./http/request-log";
import { createFastGetHandler } from "./http/fast-get";
import { createApiMetrics } from "./http/metrics";
import { routeHandlers, type ApiLocals } from "./http/pipeline";
import { createRateLimiter, type RateLimiter, type RateLimitOptions } from "./http/rate-limit";
import { expressPath, type RouteDef } from "./http/route";
import { buildOpenApiDocument } from "./openapi";
import type {
  AnchorMirror,
  BalanceProofSource,
  BankPort,
  LedgerPort,
  LogReader,
  RelayerStatusSource,
  SolvencyStatusSource,
} from "./ports";
import { bankRoutes, registerBankMetrics } from "./routes/bank";
import { auditRoutes } from "./routes/audit";
import { riskRoutes } from "./routes/risk";
import type { RiskService } from "../risk";
import { accountRoutes } from "./routes/accounts";
import { solvencyRoutes } from "./routes/solvency";
import { escrowRoutes } from "./routes/escrows";
import { receiptRoutes } from "./routes/receipts";
import { transferRoutes } from "./routes/transfers";
import { ReceiptService } from "./services/receipts";
import { logRoutes } from "./routes/log";
import { systemRoutes } from "./routes/system";
import { ProofService } from "./services/proofs";
import type { ProofCacheOptions } from "../log/proof-cache";
import { CheckpointService, type CheckpointSettings } from "./services/checkpoints";
import { tlogOpenApiPaths, tlogRouter } from "./tlog";

/** The chain as the API sees it: a read client and the deployed addresses. */
export interface ApiChain {
  publicClient: PublicClient;
  deployment: { chainId: number; custodyAnchor: `0x${string}`; custodyEscrow?: `0x${string}` };
  /** JSON-RPC URL that outsiders (the receipt page) may use to read the chain. */
  rpcUrl?: string;
}

export interface ApiOptions {
  /** Largest accepted request body (default 1 MiB). */
  bodyLimitBytes?: number;
  /** Largest transfer batch (default 1000). */
  maxBatchSize?: number;
  /** Per key (or per client address for anonymous calls); `false` disables. Default 50/s, burst 100. */
  rateLimit?: RateLimitOptions | false;
  /** The buckets behind `rateLimit` (default: in this process); e.g. `createPgRateLimiter` to share them. */
  rateLimiter?: RateLimiter;
  /** Express "trust proxy" setting, for client addresses behind a reverse proxy (default false). */
  trustProxy?: boolean | number | string;
  readinessTimeoutMs?: number;
  /** /v1/ready fails when the relayer's anchor lags more than this (default 300 s). */
  maxRelayerLagSeconds?: number;
  /** /v1/ready fails once this many relayer steps in a row have failed (default 3). */
  maxRelayerFailures?: number;
  /** /v1/ready fails when the rules engine is more than this many events behind (default 10 000). */
  maxRiskLagEvents?: number;
  /** Escrow account id per asset, for escrow requests that name none. */
  escrowAccounts?: Record<string, string>;
  /**
   * Upper tree levels kept in memory for fast proofs (default on, 4 low levels recomputed per
   * proof: about 4 MiB per 10^6 entries); `false` serves every proof from the log store.
   */
  proofCache?: ProofCacheOptions | false;
  /** Fill the proof cache up to the latest anchor in the background at start-up (default false). */
  warmProofCache?: boolean;
  /** Clock (ms since the Unix epoch), for escrow schedule checks. */
  now?: () => number;
}

export interface ApiDeps {
  ledger: LedgerPort;
  /** The log over the ledger's events, read-only: the integrator (src/log/integrator.ts) appends. */
  log: LogReader;
  anchors: AnchorMirror;
  relayerStatus?: RelayerStatusSource;
  chain?: ApiChain;
  auth: ApiKeyStore;
  /** Liabilities snapshots: serves GET /v1/accounts/{id}/balance-proof when present. */
  solvency?: BalanceProofSource;
  /** Reserves vs liabilities alarm; a shortfall makes /v1/ready fail. */
  solvencyStatus?: SolvencyStatusSource;
  /** Directory of the built receipt page (web/dist), served at `/`. */
  webDir?: string;
  /** Registry for request metrics, exposed at `/metrics` (default: a registry of this app's own). */
  metrics?: Registry;
  /** Structured request log (default: pino JSON lines on stdout; never keys, salts or bodies). */
  logger?: Logger;
  /** Alerts and dual control (`/v1/alerts`, `/v1/approvals`); absent: those routes are not served. */
  risk?: RiskService;
  options?: ApiOptions;
  /** The custodian bank's statements and reconciliations (src/bank); its routes exist only when set. */
  bank?: BankPort;
  /** Signed checkpoints and the C2SP tlog-tiles API at `/tlog` (docs/checkpoints.md); off when absent. */
  checkpoints?: CheckpointSettings;
  /** A trust policy `/v1/config` suggests (marked as supplied by the platform, not independent). */
  suggestedTrustPolicy?: Record<string, unknown>;
}

/**
 * The express app of the proof service and ledger API under `/v1`. Holds no global state: every
 * call builds an independent app (caches, rate limits and metrics included).
 *
 * @example
 * const app = createApiApp({ ledger, log: integrator.reader, anchors, auth: openApiKeyStore(db) });
 * const server = await startApiServer(app, { host: "127.0.0.1", port: 0 });
 */
export function createApiApp(deps: ApiDeps): express.Express {
  const o = deps.options ?? {};
  const options: ResolvedApiOptions = {
    bodyLimitBytes: o.bodyLimitBytes ?? 1024 * 1024,
    maxBatchSize: o.maxBatchSize ?? 1000,
    readinessTimeoutMs: o.readinessTimeoutMs ?? 2000,
    maxRelayerLagSeconds: o.maxRelayerLagSeconds ?? 300,
    maxRelayerFailures: o.maxRelayerFailures ?? 3,
    maxRiskLagEvents: o.maxRiskLagEvents ?? 10_000,
    escrowAccounts: o.escrowAccounts ?? {},
    now: o.now ?? Date.now,
  };
  const logger = deps.logger ?? createLogger({ component: "api" });
  const metrics = createApiMetrics(deps.metrics);
  if (deps.bank) registerBankMetrics(metrics.registry, deps.bank);
  const rateLimiter =
    o.rateLimit === false
      ? undefined
      : (o.rateLimiter ?? createRateLimiter(o.rateLimit ?? { ratePerSecond: 50, burst: 100 }));
  const proofs = new ProofService(
    deps.log,
    deps.anchors,
    deps.relayerStatus,
    () => deps.ledger.eventCount(),
    o.proofCache === false ? undefined : { options: o.proofCache },
  );
  if (o.warmProofCache) void proofs.warm();
  const checkpoints = deps.checkpoints
    ? new CheckpointService(deps.checkpoints, deps.anchors, deps.log)
    : undefined;
  const ctx: ApiContext = {
    deps,
    options,
    proofs,
    receipts: new ReceiptService(deps.ledger, proofs, checkpoints),
  };
  const routes: RouteDef[] = [
    ...systemRoutes(ctx),
    ...accountRoutes(ctx),
    ...solvencyRoutes(ctx),
    ...transferRoutes(ctx),
    ...escrowRoutes(ctx),
    ...receiptRoutes(ctx),
    ...logRoutes(ctx),
    ...auditRoutes(ctx),
    ...(deps.bank ? bankRoutes(ctx, deps.bank) : []),
    ...(deps.risk ? riskRoutes(deps.risk) : []),
  ];

  const app = express();
  app.disable("x-powered-by");
  app.set("trust proxy", o.trustProxy ?? false);
  app.set("json spaces", 0);

  // One log line and one metrics sample per request.
  app.use((req: Request, res: Response, next: NextFunction) => {
    const start = process.hrtime.bigint();
    res.on("finish", () => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const locals = res.locals as ApiLocals;
      const route = locals.route ? `/v1${locals.route}` : req.path === "/metrics" ? "/metrics" : "unmatched";
      metrics.observe(req.method, route, res.statusCode, seconds);
      logRequest(logger, {
        method: req.method,
        route,
        status: res.statusCode,
        seconds,
        principal: locals.principal,
        errorCode: res.locals.errorCode,
      });
    });
    next();
  });

  app.get("/metrics", async (_req, res) => {
    res.set("Content-Type", metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  // GET routes go through the lean path when the server is started with startApiServer.
  const fastGet = createFastGetHandler(routes, {
    ...options,
    auth: deps.auth,
    rateLimiter,
    logger,
    metrics,
    trustProxy: o.trustProxy === true,
  });
  app.locals[FAST_GET] = fastGet;

  const openapi = buildOpenApiDocument(routes, {
    extraPaths: deps.checkpoints ? tlogOpenApiPaths() : [],
  });
  const v1 = express.Router();
  v1.get("/openapi.json", (_req, res) => {
    (res.locals as ApiLocals).route = "/openapi.json";
    res.json(openapi);
  });
  for (const r of routes)
    v1[r.method](expressPath(r.path), ...routeHandlers(r, { ...options, auth: deps.auth, rateLimiter }));
  v1.use((req: Request) => {
    throw new RouteNotFoundError(req.method, `/v1${req.path}`);
  });
  app.use("/v1", v1);

  if (checkpoints)
    app.use(
      "/tlog",
      tlogRouter({
        checkpoints,
        log: deps.log,
        ledger: deps.ledger,
        pipeline: { ...options, auth: deps.auth, rateLimiter },
      }),
    );

  if (deps.webDir) {
    // The operator console's buttons decide operations: it may not be framed (frame-ancestors works
    // only as a header), and it gets the same CSP as its own <meta> tag says.
    app.use("/operator", (_req, res, next) => {
      res.set({
        "Content-Security-Policy": `${OPERATOR_PAGE_CSP}; frame-ancestors 'none'`,
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
      });
      next();
    });
    app.use(express.static(deps.webDir, { index: "index.html", fallthrough: true }));
  }
  app.use((req: Request) => {
    throw new RouteNotFoundError(req.method, req.path);
  });

  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const e = fromBodyParserError(err, options.bodyLimitBytes) ?? err;
    const status = httpStatusOf(e);
    const body = errorBodyOf(e, status);
    res.locals.errorCode = body.error.code;
    if (status === 500)
      logger.error({ method: req.method, path: req.path, error: String(e).split("\n")[0] }, "request failed");
    if (status === 429 && typeof body.error.retryAfterSeconds === "number")
      res.set("Retry-After", String(body.error.retryAfterSeconds));
    if (res.headersSent) return;
    res.status(status).json(body);
  });
  return app;
}

/** The operator console's content policy (web/operator/index.html carries the same in a <meta> tag). */
export const OPERATOR_PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'";

const FAST_GET = "custodyFastGet";

export interface ApiServer {
  /** Base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** Listens on `host:port` (port 0 picks a free port) and resolves once the server accepts connections. */
/**
 * Node's own answer to a request it cannot parse (a body shorter than its Content-Length, bad
 * framing, oversized headers) is a bare status line; answer with the API's one error shape instead.
 */
function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  if (!socket.writable) return void socket.destroy();
  const [status, reason, message] =
    err.code === "HPE_HEADER_OVERFLOW"
      ? [431, "Request Header Fields Too Large", "request headers are too large"]
      : err.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? [408, "Request Timeout", "the request did not arrive in time"]
        : [400, "Bad Request", "malformed HTTP request (e.g. a body shorter than its Content-Length)"];
  const body = JSON.stringify({ error: { code: "MALFORMED_HTTP_REQUEST", message } });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

export async function startApiServer(
  app: express.Express,
  opts: { host?: string; port?: number } = {},
): Promise<ApiServer> {
  const host = opts.host ?? "127.0.0.1";
  const fast = app.locals[FAST_GET] as ((req: IncomingMessage, res: ServerResponse) => boolean) | undefined;
  const server = createServer(fast ? (req, res) => fast(req, res) || app(req, res) : app);
  // Keep-alive longer than typical client idle timeouts avoids resets under load.
  server.keepAliveTimeout = 65_000;
  server.on("clientError", answerClientError);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
