import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import { closeDatabase, openDatabase } from "../db/database";
import { createPgAdvisoryLease } from "../db/lease";
import { openLedger } from "../ledger";
import type { SharedTurnstile } from "../db/turnstile";
import { RiskEngine, type EngineBatchReport } from "./engine";
import { RiskStateError } from "./errors";
import type { WebhookOptions } from "./outbox";

/**
 * The rules engine on a thread of its own, so that evaluating and committing never take the
 * ledger writer's thread: the thread opens its own connection to the ledger's database, reads
 * committed events, evaluates them and commits each batch (rule state, alerts, their outbox work,
 * cursor) on that connection, exactly once per event as always (the cursor moves only from where
 * the batch began, `RiskEngine.commitBatch`). On SQLite both connections take the process's turn at
 * the write lock (src/db/turnstile.ts), which hands it over fairly: without it the thread's commits
 * starved behind the ledger's back-to-back commits (SQLite's busy handler is no queue) and alerts
 * came seconds late. On PostgreSQL the two commits touch different rows and need no turn.
 * Everything else stays with `main`: the rule file (the thread follows the active revision), the
 * outbox's work (facts in the log, freezes, webhooks), alerts and approvals, and the metrics,
 * which the thread reports batch by batch (`RiskEngine.recordBatch`).
 *
 * The thread is woken by each commit of the ledger on the caller's thread, and polls for the
 * commits of other processes. If it dies it is started again after `restartDelayMs`; the cursor in
 * the database makes that safe, and its turn at the write lock, if it held it, is handed on.
 */
export interface RiskEngineThreadOptions {
  /** The engine on this thread: its rules are followed, its metrics and outbox are fed. */
  main: RiskEngine;
  /**
   * The ledger's database (SQLite file path or PostgreSQL URL), opened again by the thread to read
   * events. The thread commits into `main.database` (the risk tables, see database.ts), opened
   * again too.
   */
  databaseUrl: string;
  /** The ledger's pseudonym key: the thread opens the ledger (to read it) with the same key. */
  pseudonymKey: Uint8Array;
  /** Commits of this process's ledger (Ledger.onCommit): each one wakes the thread. */
  onCommit?: (listener: () => void) => () => void;
  /** Business time as a linear function of the wall clock (the stack's clock), default the wall clock. */
  clock?: LinearClock;
  batchSize?: number;
  /** The thread's idle poll (default 100 ms), also how often the anchoring lag is passed to it. */
  pollIntervalMs?: number;
  /** Real seconds of anchoring lag, for the `anchor_lag` rules. */
  anchorLagSeconds?: () => number | undefined;
  /** Whether webhooks are configured (the thread enqueues them; the main engine sends them). */
  webhook?: WebhookOptions;
  restartDelayMs?: number;
  /** The thread failed (it is restarted). */
  onError?: (error: Error) => void;
}

/** now = simOrigin + (Date.now() − realOrigin) × speed. The wall clock is {0, 0, 1}. */
export interface LinearClock {
  realOrigin: number;
  simOrigin: number;
  speed: number;
}

interface ThreadData {
  kind: "custody-risk-engine";
  module: string;
  databaseUrl: string;
  /** Where the thread commits (the risk tables): `databaseUrl` itself or a file of its own. */
  riskDatabaseUrl: string;
  /** SQLite: the thread's lane in the turnstile of the caller's connection. */
  turnstile?: SharedTurnstile;
  pseudonymKey: Uint8Array;
  clock: LinearClock;
  batchSize?: number;
  pollIntervalMs: number;
  webhook?: WebhookOptions;
}

type ToThread = { type: "wake" } | { type: "lag"; lag: number | undefined } | { type: "stop" };
type FromThread =
  | { type: "batch"; report: EngineBatchReport }
  | { type: "ready"; cursor: number }
  | { type: "error"; message: string }
  | { type: "stopped" };

/**
 * Loads this module in the thread: through tsx when it runs from TypeScript sources (as `npm start`
 * and the tests do), directly when compiled.
 */
const BOOTSTRAP = `
const { workerData } = require("node:worker_threads");
if (/\\.[cm]?ts$/.test(workerData.module)) require("tsx/cjs/api").register();
require(workerData.module).runRiskEngineThread();
`;

export class RiskEngineThread {
  readonly #o: RiskEngineThreadOptions;
  #worker: Worker | undefined;
  #stopping = false;
  #restartTimer: NodeJS.Timeout | undefined;
  #lagTimer: NodeJS.Timeout | undefined;
  #unsubscribe: (() => void) | undefined;
  #ready: Promise<void> | undefined;
  #stopped: Promise<void> | undefined;

  private constructor(o: RiskEngineThreadOptions) {
    this.#o = o;
  }

  /** Starts the thread; resolves once it has opened the database and loaded the engine's state. */
  static async start(o: RiskEngineThreadOptions): Promise<RiskEngineThread> {
    const t = new RiskEngineThread(o);
    o.main.start({ evaluate: false });
    t.#unsubscribe = o.onCommit?.(() => t.#post({ type: "wake" }));
    t.#lagTimer = setInterval(
      () => t.#post({ type: "lag", lag: o.anchorLagSeconds?.() }),
      o.pollIntervalMs ?? 100,
    );
    t.#lagTimer.unref();
    await t.#spawn();
    return t;
  }

  /** Whether the thread is up (false while it is being restarted after a failure). */
  get running(): boolean {
    return this.#worker !== undefined;
  }

  #post(m: ToThread): void {
    this.#worker?.postMessage(m);
  }

  #spawn(): Promise<void> {
    const o = this.#o;
    const db = o.main.database;
    // SQLite: the thread's connection to the risk tables takes turns at that file's write lock with
    // the caller's connection to it.
    const turnstile = db.kind === "sqlite" ? db.turnstile.share() : undefined;
    const data: ThreadData = {
      kind: "custody-risk-engine",
      module: __filename,
      databaseUrl: o.databaseUrl,
      riskDatabaseUrl: db.url,
      turnstile,
      pseudonymKey: o.pseudonymKey,
      clock: o.clock ?? { realOrigin: 0, simOrigin: 0, speed: 1 },
      batchSize: o.batchSize,
      pollIntervalMs: o.pollIntervalMs ?? 100,
      webhook: o.webhook,
    };
    const w = new Worker(BOOTSTRAP, { eval: true, workerData: data });
    this.#worker = w;
    let settled = false;
    this.#ready = new Promise<void>((resolve, reject) => {
      let stopped: () => void = () => {};
      this.#stopped = new Promise<void>((r) => (stopped = r));
      w.on("message", (m: FromThread) => {
        if (m.type === "batch") o.main.recordBatch(m.report);
        else if (m.type === "ready") {
          settled = true;
          if (m.cursor > o.main.cursor) o.main.recordBatch({ events: 0, cursor: m.cursor, alerts: [] });
          resolve();
        } else if (m.type === "error")
          o.onError?.(new RiskStateError("the risk engine thread failed", { details: m.message }));
      });
      w.on("error", (e) => {
        o.onError?.(e);
        if (!settled) {
          settled = true;
          reject(e);
        }
      });
      w.on("exit", () => {
        // A thread that died inside its commit held the turn: hand it on, and never to it again.
        if (turnstile && db.kind === "sqlite") db.turnstile.abandon(turnstile.lane);
        stopped();
        if (this.#worker === w) this.#worker = undefined;
        if (!settled) {
          settled = true;
          reject(new RiskStateError("the risk engine thread exited before it was ready"));
        }
        if (!this.#stopping)
          this.#restartTimer = setTimeout(
            () => void this.#spawn().catch(() => undefined),
            o.restartDelayMs ?? 1000,
          );
      });
    });
    return this.#ready;
  }

  /**
   * Ends the thread at once, wherever it is (as a crash would): it is started again after
   * `restartDelayMs` like after any failure, and the cursor decides what it evaluates again.
   */
  async terminate(): Promise<void> {
    const stopped = this.#stopped;
    await this.#worker?.terminate();
    await stopped;
  }

  /** Stops the thread after its current batch (committed or not: the cursor decides), then the main engine's loop. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#unsubscribe?.();
    if (this.#lagTimer) clearInterval(this.#lagTimer);
    if (this.#restartTimer) clearTimeout(this.#restartTimer);
    const w = this.#worker;
    if (w) {
      w.postMessage({ type: "stop" } satisfies ToThread);
      const timeout = setTimeout(() => void w.terminate(), 10_000);
      await this.#stopped;
      clearTimeout(timeout);
    }
    await this.#o.main.stop();
  }
}

/** The thread's side (called by the bootstrap inside the worker thread). */
export async function runRiskEngineThread(): Promise<void> {
  if (isMainThread || !parentPort)
    throw new RiskStateError("runRiskEngineThread runs inside a worker thread");
  const port = parentPort;
  const d = workerData as ThreadData;
  const send = (m: FromThread) => port.postMessage(m);
  const now = () => Math.floor(d.clock.simOrigin + (Date.now() - d.clock.realOrigin) * d.clock.speed);
  let lag: number | undefined;
  // One connection when the risk tables live in the ledger's database, else one to read the ledger
  // (it never writes there) and one to commit into the risk file.
  const apart = d.riskDatabaseUrl !== d.databaseUrl;
  const riskDb = openDatabase(d.riskDatabaseUrl, { turnstile: d.turnstile });
  const db = apart ? openDatabase(d.databaseUrl) : riskDb;
  const closeAll = async () => {
    await closeDatabase(riskDb);
    if (apart) await closeDatabase(db);
  };
  try {
    // This ledger only reads (the main thread publishes): no account cache to warm and keep.
    const ledger = await openLedger(db, {
      pseudonymKey: d.pseudonymKey,
      clock: now,
      postgresGroups: { accountCacheSize: 0 },
    });
    // PostgreSQL: several stack processes share the risk tables; one of them evaluates.
    const lease =
      riskDb.kind === "postgres"
        ? createPgAdvisoryLease(d.riskDatabaseUrl, { name: "risk-evaluator" })
        : undefined;
    const engine = await RiskEngine.open(riskDb, ledger, ledger, {
      ...(lease ? { lease } : {}),
      activateRules: false,
      batchSize: d.batchSize,
      pollIntervalMs: d.pollIntervalMs,
      clock: now,
      webhook: d.webhook,
      anchorLagSeconds: () => lag,
      onBatch: (report) => send({ type: "batch", report }),
    });
    port.on("message", (m: ToThread) => {
      if (m.type === "wake") engine.wake();
      else if (m.type === "lag") lag = m.lag;
      else if (m.type === "stop")
        void engine
          .stop()
          .then(() => ledger.close())
          .then(closeAll)
          .finally(() => {
            send({ type: "stopped" });
            port.close();
          });
    });
    engine.start({ publish: false });
    send({ type: "ready", cursor: engine.cursor });
  } catch (e) {
    send({ type: "error", message: String((e as Error)?.stack ?? e) });
    await closeAll().catch(() => undefined);
    throw e;
  }
}
