import type { Hex } from "viem";
import type { Dialect, Planner, Step, Work } from "../db/unit-of-work";
import { startLeafHashes } from "./leaf-hasher";
import { setLeafSequence } from "./leaf-writer";
import type {
  AccountRow,
  DecisionRow,
  EventDraft,
  FactRow,
  HoldRow,
  LoadKeys,
  LoadedState,
  Plan,
  TransferRow,
} from "./store";

/** An event with its sequence and leaf: `leaf` is 0x00 ‖ the 416 leaf bytes, `hash` its RFC 9162 leaf hash. */
export interface SealedEvent {
  sequence: number;
  draft: EventDraft;
  leaf: Buffer;
  hash: Buffer;
}

/** The ledger's tables as the unit-of-work driver sees them (key and row types). */
export type LedgerTables = {
  accounts: { key: string; row: AccountRow };
  /** Status changes of existing accounts (SQLite keeps status apart from balances). */
  accountStatuses: { key: string; row: AccountRow };
  transfers: { key: string; row: TransferRow };
  holds: { key: string; row: HoldRow };
  holdsByEscrowId: { key: Hex; row: HoldRow };
  decisions: { key: string; row: DecisionRow };
  facts: { key: string; row: FactRow };
  events: { key: number; row: SealedEvent };
};

/** What `commitTransfers` writes: rows whose sequences the database assigns (see LedgerDialect). */
export interface TransferGroup {
  /** Balance rows to write over the stored ones (loaded and locked by this transaction). */
  accounts: AccountRow[];
  /** New transfers; each `sequence` holds its event's index in `events` until the commit answers. */
  transfers: TransferRow[];
  /** Their events, every one a transfer's, leaves prepared with sequence 0. */
  events: EventDraft[];
}

export interface LedgerDialect<Tx> extends Dialect<Tx, LedgerTables> {
  /**
   * Optional: writes a group that only moves money (balances, transfers and their events) and
   * commits it in one round trip, the database taking the sequences and hashing the leaves.
   * Returns the first sequence; the transaction is over when it returns.
   */
  commitTransfers?(tx: Tx, group: TransferGroup): Step<number>;
}

/** By default, a group with a unit of at least this many transfer ids skips the id lookup on its first attempt. */
const OPTIMISTIC_MIN_TRANSFERS = 16;

/**
 * A plan's view of a group's rows: a row is copied the first time the plan reads it, so what the
 * plan changes stays here until the driver keeps the view (the plan returned) or drops it (it threw).
 */
class RowView<K, V extends object> extends Map<K, V> {
  constructor(
    private readonly base: Map<K, V>,
    private readonly copy: (v: V) => V,
  ) {
    super();
  }
  override get(k: K): V | undefined {
    let v = super.get(k);
    if (v === undefined) {
      const b = this.base.get(k);
      if (b === undefined) return undefined;
      v = this.copy(b);
      super.set(k, v);
    }
    return v;
  }
  override has(k: K): boolean {
    return super.has(k) || this.base.has(k);
  }
  /** The rows this view read (and maybe changed). */
  own(): IterableIterator<[K, V]> {
    return super.entries();
  }
}

/**
 * A plan's own copy of an account row. Written out field by field: the rows come in several shapes
 * (`key` and `pseudonymBytes` are added after loading), and a spread copy of them took V8's slow
 * generic path (one CreateDataProperty per field), about 4 000 instructions a copy.
 */
export function copyAccount(a: AccountRow): AccountRow {
  return {
    id: a.id,
    pseudonym: a.pseudonym,
    type: a.type,
    asset: a.asset,
    scale: a.scale,
    status: a.status,
    limits: a.limits,
    metadata: a.metadata,
    debitsPosted: a.debitsPosted,
    creditsPosted: a.creditsPosted,
    debitsPending: a.debitsPending,
    creditsPending: a.creditsPending,
    createdAt: a.createdAt,
    sequence: a.sequence,
    key: a.key,
    pseudonymBytes: a.pseudonymBytes,
  };
}

function unique<T>(lists: readonly (readonly T[] | undefined)[]): T[] {
  if (lists.length === 1) return [...new Set(lists[0] ?? [])];
  const s = new Set<T>();
  for (const l of lists) if (l) for (const x of l) s.add(x);
  return [...s];
}

/**
 * The ledger's plan code, the same for every backend: loads what units name, gives each plan its
 * own view, and writes a group's changes (latest version of each row once) with contiguous event
 * sequences, hashing leaves while the other rows are written.
 */
export function ledgerPlanner<Tx>(
  opts: { optimisticMinTransfers?: number } = {},
): Planner<LoadKeys, LoadedState, Plan<unknown>, Tx, LedgerTables, LedgerDialect<Tx>> {
  const optimisticMin = opts.optimisticMinTransfers ?? OPTIMISTIC_MIN_TRANSFERS;
  return {
    optimistic(keys) {
      // A replayed id is caught by the unique keys at insert (the group then runs again with every
      // id loaded); a failed plan by failuresStand. Where a lookup is cheap (SQLite), only batches.
      return keys.some((k) => (k.transfers?.length ?? 0) >= optimisticMin);
    },

    *failuresStand(d, tx, keys): Work<boolean> {
      // A plan that saw no stored transfer for its ids failed as it would have with them looked up,
      // unless one of them is stored (a replay answers with the stored transfer instead).
      const ids = unique(keys.map((k) => k.transfers));
      if (ids.length === 0) return true;
      return ((yield d.lockAndLoad(tx, "transfers", ids)) as TransferRow[]).length === 0;
    },

    *load(d, tx, keys, optimistic): Work<LoadedState> {
      const state: LoadedState = {
        accounts: new Map(),
        transfers: new Map(),
        holds: new Map(),
        holdsByEscrowId: new Map(),
        decisions: new Map(),
        facts: new Map(),
      };
      const accountIds = new Set<string>();
      for (const k of keys) for (const id of k.accounts ?? []) accountIds.add(id);
      const holdIds = unique(keys.map((k) => k.holds));
      // Holds first, then accounts (each in id order in the dialect): writers lock in one order.
      if (holdIds.length) {
        for (const h of (yield d.lockAndLoad(tx, "holds", holdIds)) as HoldRow[]) {
          state.holds.set(h.id, h);
          accountIds.add(h.debitAccountId).add(h.creditAccountId);
          if (h.payeeAccountId) accountIds.add(h.payeeAccountId);
        }
      }
      const escrowIds = unique(keys.map((k) => k.escrowIds));
      if (escrowIds.length)
        for (const h of (yield d.lockAndLoad(tx, "holdsByEscrowId", escrowIds)) as HoldRow[])
          state.holdsByEscrowId.set(h.escrowId!, h);
      if (accountIds.size)
        for (const a of (yield d.lockAndLoad(tx, "accounts", [...accountIds])) as AccountRow[])
          state.accounts.set(a.id, a);
      const transferIds = optimistic ? [] : unique(keys.map((k) => k.transfers));
      if (transferIds.length)
        for (const t of (yield d.lockAndLoad(tx, "transfers", transferIds)) as TransferRow[])
          state.transfers.set(t.id, t);
      const chainEventIds = unique(keys.map((k) => k.chainEventIds));
      if (chainEventIds.length)
        for (const r of (yield d.lockAndLoad(tx, "decisions", chainEventIds)) as DecisionRow[])
          state.decisions.set(r.chainEventId, r);
      const factIds = unique(keys.map((k) => k.facts));
      if (factIds.length)
        for (const f of (yield d.lockAndLoad(tx, "facts", factIds)) as FactRow[]) state.facts.set(f.id, f);
      return state;
    },

    *conflictKeys(k) {
      // Rows a unit locks and ids it inserts; a hold's accounts are known only once it is loaded.
      for (const id of k.accounts ?? []) yield `a:${id}`;
      for (const id of k.transfers ?? []) yield `t:${id}`;
      for (const id of k.holds ?? []) yield `h:${id}`;
      for (const id of k.escrowIds ?? []) yield `e:${id}`;
      for (const id of k.chainEventIds ?? []) yield `c:${id}`;
      for (const id of k.facts ?? []) yield `f:${id}`;
    },

    view(state) {
      return {
        accounts: new RowView(state.accounts, copyAccount),
        holds: new RowView(state.holds, (h) => ({ ...h })),
        // Read-only to plans; the units before this one added theirs (see keep).
        transfers: state.transfers,
        holdsByEscrowId: state.holdsByEscrowId,
        decisions: state.decisions,
        facts: state.facts,
      };
    },

    keep(state, view, plan) {
      for (const [id, a] of (view.accounts as RowView<string, AccountRow>).own()) state.accounts.set(id, a);
      for (const [id, h] of (view.holds as RowView<string, HoldRow>).own()) state.holds.set(id, h);
      const c = plan.changes;
      for (const a of c.newAccounts) state.accounts.set(a.id, a);
      for (const t of c.newTransfers) state.transfers.set(t.id, t);
      for (const h of c.newHolds) {
        state.holds.set(h.id, h);
        if (h.escrowId) state.holdsByEscrowId.set(h.escrowId, h);
      }
      for (const x of c.newDecisions) state.decisions.set(x.chainEventId, x);
      for (const f of c.newFacts) state.facts.set(f.id, f);
    },

    *write(d, tx, plans): Work<void> {
      let eventCount = 0;
      for (const p of plans) eventCount += p.changes.events.length;
      if (eventCount === 0) return;
      // The latest version of each row the group changed (later units saw the earlier ones').
      const newAccounts = new Map<string, AccountRow>();
      const firstNewAccount = new Map<string, AccountRow>();
      const accounts = new Map<string, AccountRow>();
      const statuses = new Map<string, AccountRow>();
      const transfers: TransferRow[] = [];
      const newHolds = new Map<string, HoldRow>();
      const firstNewHold = new Map<string, HoldRow>();
      const holds = new Map<string, HoldRow>();
      const decisions: DecisionRow[] = [];
      const facts: FactRow[] = [];
      const events: EventDraft[] = plans.length === 1 ? plans[0].changes.events : [];
      for (const p of plans) {
        const c = p.changes;
        for (const a of c.newAccounts) {
          newAccounts.set(a.id, a);
          firstNewAccount.set(a.id, a);
        }
        for (const a of c.updatedAccounts) accounts.set(a.id, a);
        for (const a of c.statusChanged) statuses.set(a.id, a);
        for (const t of c.newTransfers) transfers.push(t);
        for (const h of c.newHolds) {
          newHolds.set(h.id, h);
          firstNewHold.set(h.id, h);
        }
        for (const h of c.updatedHolds) holds.set(h.id, h);
        for (const x of c.newDecisions) decisions.push(x);
        for (const f of c.newFacts) facts.push(f);
        if (plans.length > 1) for (const e of c.events) events.push(e);
      }
      // A row created in this group is inserted once, as it ended.
      for (const [id, a] of accounts)
        if (newAccounts.has(id)) {
          newAccounts.set(id, a);
          accounts.delete(id);
          statuses.delete(id);
        }
      for (const [id, h] of holds)
        if (newHolds.has(id)) {
          newHolds.set(id, h);
          holds.delete(id);
        }
      if (
        d.commitTransfers &&
        newAccounts.size === 0 &&
        statuses.size === 0 &&
        newHolds.size === 0 &&
        holds.size === 0 &&
        decisions.length === 0 &&
        facts.length === 0 &&
        events.every((e) => e.subjectKind === "transfer")
      ) {
        // Only money moved: the database numbers the events as it commits.
        for (let i = 0; i < eventCount; i++) events[i].assign(i);
        const first = (yield d.commitTransfers(tx, {
          accounts: [...accounts.values()],
          transfers,
          events,
        })) as number;
        for (let i = 0; i < eventCount; i++) {
          events[i].assign(first + i);
          setLeafSequence(events[i].prepared, first + i);
        }
        return;
      }
      if (accounts.size) yield d.upsert(tx, "accounts", [...accounts.values()]);
      if (statuses.size) yield d.upsert(tx, "accountStatuses", [...statuses.values()]);

      // The sequences: everything above ran without holding them.
      let seq = (yield d.nextSequences(tx, eventCount)) as number;
      const leaves: Buffer[] = new Array(eventCount);
      for (let i = 0; i < eventCount; i++) {
        const e = events[i];
        e.assign(seq);
        setLeafSequence(e.prepared, seq++);
        leaves[i] = e.prepared.buf;
      }
      for (const [id, a] of newAccounts) a.sequence = firstNewAccount.get(id)!.sequence;
      for (const [id, h] of newHolds) h.sequence = firstNewHold.get(id)!.sequence;
      const hashing = startLeafHashes(leaves);
      if (newAccounts.size) yield d.insert(tx, "accounts", [...newAccounts.values()]);
      if (transfers.length) yield d.insert(tx, "transfers", transfers);
      if (newHolds.size) yield d.insert(tx, "holds", [...newHolds.values()]);
      if (holds.size) yield d.upsert(tx, "holds", [...holds.values()]);
      if (decisions.length) yield d.insert(tx, "decisions", decisions);
      if (facts.length) yield d.insert(tx, "facts", facts);
      const hashes = hashing.finish();
      const first = seq - eventCount;
      const sealed: SealedEvent[] = new Array(eventCount);
      for (let i = 0; i < eventCount; i++)
        sealed[i] = { sequence: first + i, draft: events[i], leaf: leaves[i], hash: hashes[i] };
      yield d.insert(tx, "events", sealed);
    },
  };
}
