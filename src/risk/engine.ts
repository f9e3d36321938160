import { Counter, Gauge, type Registry } from "prom-client";
import type { Database } from "../db/database";
import { migrate } from "../db/migrate";
import type { LeaderLease } from "../db/lease";
import { TRANSFER_KINDS, type Account, type LedgerEvent, type LedgerEventLeaf } from "../ledger";
import { leafSummary } from "../protocol/leaf-v1";
import {
  ALERT_FORMAT,
  RISK_FACT_KINDS,
  RULES_CHANGE_FORMAT,
  alertIdOf,
  documentBytes,
  documentHash,
  factIds,
} from "./documents";
import { InvalidRuleFileError, RiskStateError } from "./errors";
import {
  type AccountProfile,
  type AccountRiskState,
  type GlobalRiskState,
  type MovementEvent,
  type RiskEvent,
  type RuleHit,
  RuleEvaluator,
  accountStateFromJson,
  accountStateToJson,
  globalStateFromJson,
  globalStateToJson,
} from "./evaluate";
import { riskMigrations } from "./migrations";
import {
  type OutboxKind,
  type WebhookOptions,
  enqueue,
  enqueueAll,
  factPayload,
  publishOutbox,
} from "./outbox";
import type { Fact, FactPort, RiskLedgerPort } from "./ports";
import { type CompiledRules, DEFAULT_RULE_SOURCE, compileRuleFile } from "./rules-file";
import { type Body, type SqlRunner, all, get, num, run, sqlRunner } from "../db/tx-runner";

/**
 * The rules engine: a consumer of the ledger's committed events with its own cursor. Each batch of
 * events is evaluated in memory and then, in ONE transaction of the risk tables, the rule state,
 * the new alerts, their outbox work (fact, webhook, freeze) and the cursor are written. A crash
 * before that commit re-evaluates the batch from the last committed state; after it, the batch is
 * never seen again: every event is evaluated exactly once. The engine only reads the ledger's
 * tables; on SQLite its commits and the ledger's take turns at the database's single write lock
 * (src/db/turnstile.ts: at most one engine commit between two of the ledger's while both write).
 */
export interface RiskEngineOptions {
  /** Rule file (JSON or YAML) to start with; ignored if a higher revision is already active. */
  rules?: string;
  /** Events per batch (default 8000, at most 10 000). */
  batchSize?: number;
  /**
   * Idle poll interval of `start()` (default 100 ms). With a ledger port that reports its commits
   * (`onCommit`), `start()` also wakes on each commit of this process, so the poll only matters
   * for commits of other processes and for the anchor-lag check.
   */
  pollIntervalMs?: number;
  /**
   * Least time between the starts of two ticks woken by commits (default 50 ms). A busy ledger
   * commits a group every millisecond or two; a tick per commit would pay its reads and its risk
   * commit (several round trips) for a handful of events, on a core the ledger needs. Alerts come
   * at most this much later.
   */
  minTickIntervalMs?: number;
  /** Counters per rule and severity are registered here. */
  metrics?: Registry;
  webhook?: WebhookOptions;
  clock?: () => number;
  /** Current anchoring lag in seconds (the relayer's), checked by `anchor_lag` rules on each tick. */
  anchorLagSeconds?: () => number | undefined | Promise<number | undefined>;
  /** Fault injection for tests: runs after a batch is evaluated and before it is committed. */
  beforeCommit?: (batch: { from: number; to: number }) => void;
  /**
   * Whether `open` activates `rules` (or the default rule file) when its revision is above the
   * active one (default true). An engine that only evaluates beside another one that owns the rule
   * file (the evaluation thread, see engine-thread.ts) passes false and follows the active rules.
   */
  activateRules?: boolean;
  /** Called after each committed batch (and each anchor-lag commit) with what it committed. */
  onBatch?: (report: EngineBatchReport) => void;
  /**
   * One evaluating engine per database (every stack process runs one): only the holder of this
   * lease evaluates in `start()`; the others follow the stored cursor (reported through `onBatch`
   * as batches of 0 events) and take over when the holder's lease ends. Without it, engines of
   * several processes evaluate the same events and all but one lose the cursor race, reloading
   * every account's state each time.
   */
  lease?: Pick<LeaderLease, "tryAcquire" | "isHeld" | "release">;
}

/** An evaluated batch, ready to commit. */
export interface BatchCommit {
  from: number;
  to: number;
  processed: number;
  revision: number;
  now: number;
  /** Rule state rows to write: [key, JSON]. */
  states: [string, string][];
  hits: RuleHit[];
  webhook: boolean;
}

/** What one committed batch did: reported by an evaluating engine to the one that serves metrics. */
export interface EngineBatchReport {
  /** Events evaluated in the batch (0 for an anchor-lag check). */
  events: number;
  /** The cursor after the batch: next sequence to evaluate. */
  cursor: number;
  /** Alerts the batch created (duplicates of stored ones are not counted). */
  alerts: { id: string; sequence: number; ruleId: string; severity: string; outcome: string }[];
  /** When the batch committed: wall-clock milliseconds, sub-millisecond (comparable across threads). */
  committedAt?: number;
}

const STATE_GLOBAL = "global";
const STATE_ACCOUNT = "account:";
const MOVEMENTS = new Set(["TRANSFER_POSTED", "HOLD_POSTED"]);
const KIND_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(TRANSFER_KINDS).map(([k, v]) => [v, k]),
);

export interface ActiveRules {
  revision: number;
  sourceHash: string;
  source: string;
  activatedAt: number;
}

export function profileOf(a: Account): AccountProfile {
  const m = a.metadata ?? {};
  return {
    id: a.id,
    type: a.type,
    asset: a.asset,
    scale: a.scale,
    holder: m.holder === "company" ? "company" : "individual",
    channel: m.channel === "cash" ? "cash" : m.channel === "cross_border" ? "cross_border" : "domestic",
    createdAt: a.createdAt,
  };
}

/** A committed ledger event as the rules see a movement (undefined for anything else). */
export async function movementOf(
  ev: LedgerEvent,
  profile: (accountId: string) => Promise<AccountProfile>,
): Promise<MovementEvent | undefined> {
  if (!isMovement(ev)) return undefined;
  return movementFrom(ev, await profile(ev.accounts[0]!), await profile(ev.accounts[1]!));
}

function isMovement(ev: LedgerEvent): boolean {
  return MOVEMENTS.has(ev.entry.eventType as string) && ev.accounts.length === 2;
}

function movementFrom(ev: LedgerEvent, debit: AccountProfile, credit: AccountProfile): MovementEvent {
  return {
    kind: "movement",
    sequence: ev.sequence,
    at: ev.createdAt,
    transferKind: KIND_NAMES[ev.entry.code] ?? "unknown",
    asset: ev.entry.asset,
    amount: ev.entry.amount,
    debit,
    credit,
  };
}

/** An alert row ready to insert, with its canonical document. */
function alertDocument(h: RuleHit, revision: number) {
  const id = alertIdOf(h.ruleId, h.subject, h.window);
  const doc = documentBytes({
    format: ALERT_FORMAT,
    id,
    ruleId: h.ruleId,
    ruleType: h.ruleType,
    rulesRevision: revision,
    severity: h.severity,
    action: h.action,
    outcome: h.outcome,
    subject: h.subject,
    window: h.window,
    sequence: h.sequence,
    raisedAt: h.at,
    details: h.details,
  });
  return { id, doc, hash: documentHash(doc) };
}

/** Account subjects enter the fact leaf as the account's pseudonym; other subjects stay in the document. */
function isAccountSubject(h: RuleHit): boolean {
  return !h.subject.startsWith("asset:") && h.subject !== "relayer" && h.subject !== "platform";
}

/**
 * The rule state of a batch (thousands of keys at the top rate), in a few multi-row upserts: one
 * statement per key cost PostgreSQL a round trip each (an engine at 20 000 events/s). Chunks of
 * powers of two, so at most log2(STATE_CHUNK) + 1 statement texts are ever prepared.
 */
const STATE_CHUNK = 256;
/** Alerts per INSERT (11 parameters each, well under SQLite's and PostgreSQL's limits). */
const ALERT_CHUNK = 500;

function* upsertStates(rows: readonly (readonly [string, string])[]): Body<void> {
  for (let i = 0; i < rows.length;) {
    let n = STATE_CHUNK;
    while (n > rows.length - i) n >>= 1;
    const params: string[] = [];
    for (const [k, v] of rows.slice(i, i + n)) params.push(k, v);
    yield* run(
      `INSERT INTO risk_state (key, state) VALUES ${Array(n).fill("(?, ?)").join(", ")}
       ON CONFLICT (key) DO UPDATE SET state = excluded.state`,
      ...params,
    );
    i += n;
  }
}

export class RiskEngine {
  readonly #db: Database;
  readonly #runner: SqlRunner;
  readonly #ledger: RiskLedgerPort;
  readonly #facts: FactPort;
  readonly #opts: RiskEngineOptions;
  readonly #clock: () => number;
  readonly #batch: number;
  #evaluator!: RuleEvaluator;
  #next = 0;
  #processed = 0;
  #accounts = new Map<string, AccountRiskState>();
  #global: GlobalRiskState = { liabilities: new Map() };
  readonly #profiles = new Map<string, AccountProfile>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = true;
  /** A commit arrived while a tick was running: run another one right after it. */
  #woken = false;
  #immediate: NodeJS.Immediate | undefined;
  #unsubscribe: (() => void) | undefined;
  #loop: (() => void) | undefined;
  /** When the current or last tick started (performance.now()). */
  #tickStarted = -Infinity;
  /** A woken tick waits on #timer for its spacing (not the poll). */
  #spaced = false;
  /** Whether this engine evaluates (holds the lease, or has none); when the lease was last asked. */
  #evaluating = false;
  #leaseAskedAt = -Infinity;
  readonly #alertsCounter?: Counter<"rule" | "severity" | "outcome">;
  readonly #eventsCounter?: Counter;
  readonly #cursorGauge?: Gauge;
  /**
   * Called after each committed batch with the alerts it created and when they were committed
   * (wall-clock ms, see `EngineBatchReport.committedAt`), for latency measurements.
   */
  onAlerts?: (alerts: { id: string; sequence: number; ruleId: string }[], committedAt: number) => void;

  private constructor(db: Database, ledger: RiskLedgerPort, facts: FactPort, opts: RiskEngineOptions) {
    this.#db = db;
    this.#runner = sqlRunner(db);
    this.#ledger = ledger;
    this.#facts = facts;
    this.#opts = opts;
    this.#clock = opts.clock ?? Date.now;
    this.#batch = Math.min(Math.max(1, opts.batchSize ?? 8000), 10_000);
    if (opts.metrics) {
      this.#alertsCounter = new Counter({
        name: "custody_risk_alerts_total",
        help: "Alerts raised, per rule, severity and outcome (triggered or cannot_evaluate).",
        labelNames: ["rule", "severity", "outcome"],
        registers: [opts.metrics],
      });
      this.#eventsCounter = new Counter({
        name: "custody_risk_events_evaluated_total",
        help: "Ledger events evaluated by the rules engine.",
        registers: [opts.metrics],
      });
      this.#cursorGauge = new Gauge({
        name: "custody_risk_cursor",
        help: "Next ledger sequence the rules engine will evaluate.",
        registers: [opts.metrics],
      });
    }
  }

  /** Applies the risk migrations, loads the active rules, the cursor and the rule state. */
  static async open(
    db: Database,
    ledger: RiskLedgerPort,
    facts: FactPort,
    opts: RiskEngineOptions = {},
  ): Promise<RiskEngine> {
    await migrate(db, riskMigrations);
    const e = new RiskEngine(db, ledger, facts, opts);
    await e.#load();
    if (opts.activateRules === false) {
      if (!e.#evaluator) throw new RiskStateError("no active rule file to evaluate with");
      return e;
    }
    const wanted = compileRuleFile(opts.rules ?? DEFAULT_RULE_SOURCE);
    if (wanted.revision > e.#evaluator?.rules.revision || !e.#evaluator) await e.#activate(wanted, undefined);
    return e;
  }

  get runner(): SqlRunner {
    return this.#runner;
  }
  get database(): Database {
    return this.#db;
  }
  get rules(): CompiledRules {
    return this.#evaluator.rules;
  }
  /** Next ledger sequence to evaluate (= events evaluated so far). */
  get cursor(): number {
    return this.#next;
  }

  async #load(): Promise<void> {
    const { cursor, rules, states } = await this.#runner.read(function* () {
      const cursor = yield* get<{ next_sequence: unknown; processed: unknown }>(
        "SELECT next_sequence, processed FROM risk_cursor WHERE id = 1",
      );
      const rules = yield* get<{ source: string }>(
        "SELECT source FROM risk_rulesets ORDER BY revision DESC LIMIT 1",
      );
      const states = yield* all<{ key: string; state: string }>("SELECT key, state FROM risk_state");
      return { cursor, rules, states };
    });
    this.#next = cursor ? num(cursor.next_sequence) : 0;
    this.#processed = cursor ? num(cursor.processed) : 0;
    this.#accounts = new Map();
    this.#global = { liabilities: new Map() };
    for (const s of states) {
      if (s.key === STATE_GLOBAL) this.#global = globalStateFromJson(s.state);
      else this.#accounts.set(s.key.slice(STATE_ACCOUNT.length), accountStateFromJson(s.state));
    }
    if (rules) this.#evaluator = new RuleEvaluator(compileRuleFile(rules.source));
  }

  /**
   * Takes up a rule file another engine (or process) activated since: rules apply from the next
   * batch wherever they were reloaded. One indexed read per batch.
   */
  async #followRules(): Promise<void> {
    const current = this.#evaluator.rules.revision;
    const r = await this.#runner.read(() =>
      get<{ revision: unknown; source: string }>(
        "SELECT revision, source FROM risk_rulesets ORDER BY revision DESC LIMIT 1",
      ),
    );
    if (r && num(r.revision) > current) this.#evaluator = new RuleEvaluator(compileRuleFile(r.source));
  }

  /** The active rule file and its revision. */
  async activeRules(): Promise<ActiveRules> {
    const r = await this.#runner.read(() =>
      get<{ revision: unknown; source: string; source_hash: string; activated_at: unknown }>(
        "SELECT revision, source, source_hash, activated_at FROM risk_rulesets ORDER BY revision DESC LIMIT 1",
      ),
    );
    if (!r) throw new RiskStateError("no active rule file");
    return {
      revision: num(r.revision),
      source: r.source,
      sourceHash: r.source_hash,
      activatedAt: num(r.activated_at),
    };
  }

  async #activate(rules: CompiledRules, approvalId: string | undefined): Promise<void> {
    const now = this.#clock();
    const doc = documentBytes({
      format: RULES_CHANGE_FORMAT,
      revision: rules.revision,
      sourceHash: rules.sourceHash,
      activatedAt: now,
      approvalId: approvalId ?? null,
    });
    await this.#runner.tx(function* () {
      const cur = yield* get<{ revision: unknown }>("SELECT MAX(revision) AS revision FROM risk_rulesets");
      const active = cur?.revision === null || cur?.revision === undefined ? 0 : num(cur.revision);
      if (rules.revision <= active)
        throw new InvalidRuleFileError(
          `rule file revision ${rules.revision} is not above the active ${active}`,
        );
      yield* run(
        "INSERT INTO risk_rulesets (revision, source, source_hash, activated_at, approval_id) VALUES (?, ?, ?, ?, ?)",
        rules.revision,
        rules.source,
        rules.sourceHash,
        now,
        approvalId ?? null,
      );
      yield* enqueue(
        "fact",
        factIds.rules(rules.revision),
        factPayload({
          id: factIds.rules(rules.revision),
          kind: RISK_FACT_KINDS.RULES_CHANGED,
          documentHash: documentHash(doc),
        }),
        now,
      );
    });
    this.#evaluator = new RuleEvaluator(rules);
  }

  /**
   * Validates and activates a new rule file without a restart; it applies from the next batch.
   * Throws InvalidRuleFileError (and keeps the active rules) unless it validates and its revision
   * is above the active one. Callers outside tests go through dual control (approvals.ts).
   */
  async reloadRules(source: string, approvalId?: string): Promise<CompiledRules> {
    const rules = compileRuleFile(source);
    await this.#activate(rules, approvalId);
    return rules;
  }

  async #profile(id: string): Promise<AccountProfile> {
    let p = this.#profiles.get(id);
    if (!p) this.#profiles.set(id, (p = profileOf(await this.#ledger.getAccount(id))));
    return p;
  }

  async #factsFor(seqs: number[]): Promise<Map<number, Fact>> {
    const out = new Map<number, Fact>();
    if (seqs.length === 0) return out;
    let after = seqs[0] - 1;
    const last = seqs[seqs.length - 1];
    while (after < last) {
      const page = await this.#facts.listFacts({ afterSequence: after, limit: 1000 });
      if (page.length === 0) break;
      for (const f of page) if (f.sequence <= last) out.set(f.sequence, f);
      after = page[page.length - 1].sequence;
    }
    return out;
  }

  /** The batch's movements and facts, reading from each leaf only the fields the rules use. */
  async #toRiskEvents(events: LedgerEventLeaf[]): Promise<RiskEvent[]> {
    const out: RiskEvent[] = [];
    const factAt: { at: number; index: number; sequence: number }[] = [];
    for (const ev of events) {
      const leaf = leafSummary(ev.leafBytes);
      if (
        (leaf.eventType === "TRANSFER_POSTED" || leaf.eventType === "HOLD_POSTED") &&
        ev.accounts.length === 2
      ) {
        const d = ev.accounts[0]!;
        const c = ev.accounts[1]!;
        out.push({
          kind: "movement",
          sequence: ev.sequence,
          at: ev.createdAt,
          transferKind: KIND_NAMES[leaf.code] ?? "unknown",
          asset: leaf.asset,
          amount: leaf.amount,
          // Cached profiles without an await per event (a microtask each).
          debit: this.#profiles.get(d) ?? (await this.#profile(d)),
          credit: this.#profiles.get(c) ?? (await this.#profile(c)),
        });
      } else if (leaf.eventType === "FACT_RECORDED") {
        factAt.push({ at: ev.createdAt, index: out.length, sequence: ev.sequence });
        out.push(undefined as unknown as RiskEvent); // filled below, in order
      }
    }
    if (factAt.length > 0) {
      const facts = await this.#factsFor(factAt.map((f) => f.sequence));
      for (const { at, index, sequence } of factAt) {
        const f = facts.get(sequence);
        if (!f) throw new RiskStateError(`fact at sequence ${sequence} is missing from listFacts`);
        out[index] = {
          kind: "fact",
          sequence,
          at,
          factKind: f.kind,
          factId: f.id,
          subject: f.subject,
          asset: f.asset,
          amount: f.amount,
        };
      }
    }
    return out;
  }

  /** Evaluates and commits the next batch of committed events; returns how many it took (0 = caught up). */
  async runOnce(): Promise<number> {
    const from = this.#next;
    const events = await this.#ledger.getEventLeaves(from, this.#batch);
    if (events.length === 0) return 0;
    await this.#followRules();
    const to = from + events.length;
    if (events[0].sequence !== from || events[events.length - 1].sequence !== to - 1)
      throw new RiskStateError("the ledger returned a gap in its event sequence", {
        details: `asked from ${from}, got ${events[0].sequence}..${events[events.length - 1].sequence}`,
      });
    const riskEvents = await this.#toRiskEvents(events);
    const dirty = new Set<string>();
    const hits: RuleHit[] = [];
    const ev = this.#evaluator;
    try {
      for (const e of riskEvents) ev.evaluate(e, this.#accounts, this.#global, dirty, hits);
      this.#opts.beforeCommit?.({ from, to });
      const inserted = await this.#commit(
        from,
        to,
        events.length,
        hits,
        dirty,
        riskEvents.some((e) => e.kind === "fact"),
      );
      this.#next = to;
      this.#processed += events.length;
      this.#committed(events.length, inserted);
    } catch (e) {
      // The in-memory state already moved: take the committed state back.
      await this.#load();
      throw e;
    }
    return events.length;
  }

  /** After a commit: metrics, `onAlerts`, `onBatch`. */
  #committed(events: number, inserted: RuleHit[]): void {
    const report: EngineBatchReport = {
      committedAt: performance.timeOrigin + performance.now(),
      events,
      cursor: this.#next,
      alerts: inserted.map((h) => ({
        id: alertIdOf(h.ruleId, h.subject, h.window),
        sequence: h.sequence,
        ruleId: h.ruleId,
        severity: h.severity,
        outcome: h.outcome,
      })),
    };
    this.#count(report);
    this.#opts.onBatch?.(report);
  }

  #count(r: EngineBatchReport): void {
    if (r.events > 0) this.#eventsCounter?.inc(r.events);
    this.#cursorGauge?.set(r.cursor);
    for (const a of r.alerts)
      this.#alertsCounter?.inc({ rule: a.ruleId, severity: a.severity, outcome: a.outcome });
    if (r.alerts.length > 0 && this.onAlerts)
      this.onAlerts(
        r.alerts.map((a) => ({ id: a.id, sequence: a.sequence, ruleId: a.ruleId })),
        r.committedAt ?? performance.timeOrigin + performance.now(),
      );
  }

  /**
   * A batch another engine over the same database committed (the evaluation thread): counted in
   * this engine's metrics and cursor, and its alerts' outbox work is done at once.
   */
  recordBatch(report: EngineBatchReport): void {
    if (report.cursor > this.#next) this.#next = report.cursor;
    this.#count(report);
    if (report.alerts.length > 0) this.wake();
  }

  /** Writes the batch's outcome; returns the hits that became new alerts (the others were duplicates). */
  async #commit(
    from: number,
    to: number,
    count: number,
    hits: RuleHit[],
    dirty: Set<string>,
    globalDirty: boolean,
  ): Promise<RuleHit[]> {
    const states: [string, string][] = [...dirty].map((id) => [
      STATE_ACCOUNT + id,
      accountStateToJson(this.#accounts.get(id)!),
    ]);
    if (globalDirty) states.push([STATE_GLOBAL, globalStateToJson(this.#global)]);
    const batch: BatchCommit = {
      from,
      to,
      processed: this.#processed + count,
      revision: this.#evaluator.rules.revision,
      now: this.#clock(),
      states,
      hits,
      webhook: this.#opts.webhook !== undefined,
    };
    return this.commitBatch(batch);
  }

  /**
   * Writes one evaluated batch in one transaction of the risk tables: the cursor (only if it still
   * stands at `from`: a batch is committed once), the rule state, the new alerts and their outbox
   * work. Returns the hits that became new alerts. On SQLite the transaction waits for this
   * process's turn at the write lock (src/db/turnstile.ts), so an engine on its own thread and
   * connection is not starved by the ledger's back-to-back commits.
   */
  async commitBatch(batch: BatchCommit): Promise<RuleHit[]> {
    const { from, to, processed, revision, now, states, hits, webhook } = batch;
    return this.#runner.tx(function* (): Body<RuleHit[]> {
      const moved = yield* run(
        "UPDATE risk_cursor SET next_sequence = ?, processed = ?, rules_revision = ? WHERE id = 1 AND next_sequence = ?",
        to,
        processed,
        revision,
        from,
      );
      if (moved === 0) {
        const exists = yield* get("SELECT 1 AS x FROM risk_cursor WHERE id = 1");
        if (exists)
          throw new RiskStateError("another engine moved the risk cursor", { details: `expected ${from}` });
        yield* run(
          "INSERT INTO risk_cursor (id, next_sequence, processed, rules_revision) VALUES (1, ?, ?, ?)",
          to,
          processed,
          revision,
        );
      }
      yield* upsertStates(states);
      // The alerts, then their outbox work, each in multi-row statements: a busy batch raises
      // dozens, and a statement each was a round trip each (an alert already stored is skipped).
      const inserted: RuleHit[] = [];
      const work: [OutboxKind, string, unknown][] = [];
      const seen = new Set<string>();
      for (let i = 0; i < hits.length; i += ALERT_CHUNK) {
        const chunk = hits.slice(i, i + ALERT_CHUNK).map((h) => ({ h, a: alertDocument(h, revision) }));
        const params: unknown[] = [];
        for (const { h, a } of chunk)
          params.push(
            a.id,
            h.ruleId,
            h.subject,
            h.window,
            h.severity,
            h.outcome,
            h.sequence,
            h.at,
            h.at,
            a.doc,
            a.hash,
          );
        const stored = yield* all<{ id: string }>(
          `INSERT INTO risk_alerts (id, rule_id, subject, window_key, severity, outcome, sequence, raised_at, state, updated_at, document, document_hash)
           VALUES ${chunk.map(() => "(?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, ?)").join(", ")} ON CONFLICT DO NOTHING RETURNING id`,
          ...params,
        );
        const ids = new Set(stored.map((r) => r.id));
        for (const { h, a } of chunk) {
          // Two hits of one batch with the same alert id: the first is the alert.
          if (!ids.has(a.id) || seen.has(a.id)) continue;
          seen.add(a.id);
          inserted.push(h);
          const fid = factIds.alert(a.id);
          work.push([
            "fact",
            fid,
            factPayload({
              id: fid,
              kind: RISK_FACT_KINDS.ALERT_RAISED,
              documentHash: a.hash,
              ...(isAccountSubject(h) ? { subject: h.subject } : {}),
            }),
          ]);
          if (webhook) work.push(["webhook", a.id, JSON.parse(a.doc)]);
          if (h.action === "freeze" && isAccountSubject(h))
            work.push(["freeze", a.id, { accountId: h.subject }]);
        }
      }
      yield* enqueueAll(work, now);
      return inserted;
    });
  }

  /** Evaluates until caught up with the ledger; returns the number of events evaluated. */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.runOnce();
      total += n;
      if (n === 0) return total;
    }
  }

  /** Checks the anchoring lag rules once (an alert per rule and hour while the lag lasts). */
  async checkAnchorLag(): Promise<number> {
    const lag = await this.#opts.anchorLagSeconds?.();
    if (lag === undefined) return 0;
    const hits = this.#evaluator.anchorLag(lag, this.#clock());
    if (hits.length === 0) return 0;
    const inserted = await this.#commitHitsOnly(hits);
    return inserted;
  }

  async #commitHitsOnly(hits: RuleHit[]): Promise<number> {
    // Same as a batch of no events: the cursor does not move.
    const from = this.#next;
    const inserted = await this.#commit(from, from, 0, hits, new Set(), false);
    this.#committed(0, inserted);
    return inserted.length;
  }

  /** Does due outbox work (facts, freezes, webhooks). */
  async publish(): Promise<number> {
    return publishOutbox({
      runner: this.#runner,
      facts: this.#facts,
      ledger: this.#ledger,
      webhook: this.#opts.webhook,
      now: this.#clock,
    });
  }

  /**
   * Runs batches, the anchor-lag check and the outbox in the background until `stop()`: on each
   * commit the ledger reports (see `wake`), else every `pollIntervalMs`. `evaluate: false` leaves
   * batches and the anchor-lag check to an evaluation thread (engine-thread.ts) and only does the
   * outbox's work, woken by the alerts it reports (`recordBatch`); `publish: false` is that thread.
   */
  start(opts: { evaluate?: boolean; publish?: boolean } = {}): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    const evaluate = opts.evaluate ?? true;
    const publish = opts.publish ?? true;
    const tick = async () => {
      try {
        // Alerts first: evaluate the backlog, then do the outbox's work (a ledger commit per fact),
        // so publishing never holds back the next batch's evaluation. A short batch reached the
        // ledger's end: what was committed since goes to the next tick, not to a batch of its own.
        const lead = evaluate && (await this.#lead());
        if (evaluate && !lead) await this.#followCursor();
        while (lead && !this.#stopped && (await this.runOnce()) >= this.#batch);
        if (!this.#stopped && lead) await this.checkAnchorLag();
        if (!this.#stopped && publish) await this.publish();
      } catch {
        // Retried on the next tick; state was reloaded from the last commit.
      }
    };
    const loop = () => {
      if (this.#timer) clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#immediate = undefined;
      this.#spaced = false;
      if (this.#stopped) return;
      this.#woken = false;
      this.#tickStarted = performance.now();
      this.#running = tick().finally(() => {
        this.#running = undefined;
        if (this.#stopped) return;
        // A commit seen during the tick may have come after its last read: go again, spaced.
        if (this.#woken) this.#soon();
        else this.#timer = setTimeout(loop, this.#opts.pollIntervalMs ?? 100);
      });
    };
    this.#loop = loop;
    this.#unsubscribe = evaluate ? this.#ledger.onCommit?.(() => this.wake()) : undefined;
    loop();
  }

  /**
   * New events were committed: evaluate them now rather than at the next poll. Cheap and
   * synchronous (it only schedules), so the ledger may call it inside its commit path.
   */
  wake(): void {
    if (this.#stopped) return;
    // A standby (another engine holds the lease) takes the cursor up on its poll, not per commit.
    if (this.#opts.lease && !this.#evaluating) return;
    this.#woken = true;
    if (this.#running === undefined && this.#immediate === undefined && !this.#spaced) this.#soon();
  }

  /**
   * The next tick as soon as the spacing allows: at the event loop's next check phase (after the
   * I/O and timers already due, so the committing caller finishes its turn first), or on a timer
   * that replaces the poll's.
   */
  #soon(): void {
    const loop = this.#loop;
    if (!loop) return;
    const wait = this.#tickStarted + (this.#opts.minTickIntervalMs ?? 50) - performance.now();
    if (wait <= 0) {
      this.#immediate = setImmediate(loop);
      return;
    }
    if (this.#timer) clearTimeout(this.#timer);
    this.#spaced = true;
    this.#timer = setTimeout(loop, wait);
  }

  /** Whether `start()` evaluates (true without a lease). */
  get evaluating(): boolean {
    return this.#opts.lease === undefined || this.#evaluating;
  }

  /**
   * Whether this engine may evaluate now. The lease is asked at most once a second while held (a
   * session lock holds by itself); an engine that becomes the holder first reloads the rule state
   * and cursor the previous holder committed.
   */
  async #lead(): Promise<boolean> {
    const lease = this.#opts.lease;
    if (!lease) return true;
    const t = performance.now();
    if (this.#evaluating && lease.isHeld() && t - this.#leaseAskedAt < 1000) return true;
    this.#leaseAskedAt = t;
    const held = await lease.tryAcquire();
    if (held && !this.#evaluating) await this.#load();
    this.#evaluating = held;
    return held;
  }

  /** Not the evaluating engine: takes up the stored cursor, for the metrics and the lag check. */
  async #followCursor(): Promise<void> {
    const row = await this.#runner.read(() =>
      get<{ next_sequence: unknown }>("SELECT next_sequence FROM risk_cursor WHERE id = 1"),
    );
    const cursor = row ? num(row.next_sequence) : 0;
    if (cursor <= this.#next) return;
    this.#next = cursor;
    const report: EngineBatchReport = { events: 0, cursor, alerts: [] };
    this.#count(report);
    this.#opts.onBatch?.(report);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#immediate) clearImmediate(this.#immediate);
    await this.#running;
    if (this.#opts.lease) {
      this.#evaluating = false;
      await this.#opts.lease.release();
    }
  }
}
