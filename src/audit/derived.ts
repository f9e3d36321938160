import type { Hex } from "viem";
import { detailsHash } from "../ledger/canonical";
import { accountDetails, holdDetails, releaseDetails, transferDetails } from "../ledger/engine";
import { type Row, accountFromRow, holdFromRow } from "../ledger/rows";
import { TRANSFER_KINDS, type JsonValue, type TransferKind } from "../ledger/types";
import { RELEASE_PREFIX } from "../ledger/validate";
import { FACT_KINDS, ZERO32 } from "../protocol/leaf-v1";
import type { AuditCheck, AuditFinding, FindingList } from "./findings";
import { leafWord, readLeafScalars, wordIs } from "./leaf";
import { IndexSet, type ReplayResult, type ReplayedHold } from "./replay";

/**
 * The derived tables (accounts and balances, transfers, holds, escrow decisions, facts) are caches
 * of the events: every row is compared, column by column, with what the replay of the events
 * produced. Rows are read in primary-key order by keyset pages (`DerivedRowReader`), so memory
 * holds one page plus what the replay keeps anyway (accounts, holds, facts) and one bit per event
 * for transfers. A row without its event and an event without its row are differences too.
 */
export type DerivedTable =
  "ledger_accounts" | "ledger_transfers" | "ledger_holds" | "ledger_hold_decisions" | "ledger_facts";

/**
 * One page of a derived table in primary-key order, after `after` (exclusive; "" for the first
 * page). Column names and values as the database returns them. `ledger_transfers` rows also carry
 * the event filed at their `sequence`: `event_leaf`, `event_subject_kind`, `event_subject_id`.
 */
export type DerivedRowReader = (table: DerivedTable, after: string, limit: number) => Promise<Row[]>;

export const DERIVED_PAGE = 5000;

type Value = string | null;

// The terms hash covers no balance: a garbled balance is reported as itself, not as unreadable terms.
const NO_BALANCES = { debits_posted: 0, credits_posted: 0, debits_pending: 0, credits_pending: 0 };

/** A column's value as text (NUMERIC, BIGINT and INTEGER alike), null as null. */
function text(v: unknown): Value {
  return v === null || v === undefined ? null : String(v);
}

const ZERO32_BYTES = new Uint8Array(32);

/** A leaf's account word: the row's own value when the bytes are the same (no hex made). */
function accountWord(leaf: Buffer, word: number, found: Value, bytesOf: Map<string, Buffer>): Value {
  const bytes = found === null ? undefined : bytesOf.get(found);
  return bytes && wordIs(leaf, word, bytes) ? found : leafWord(leaf, word);
}

const KIND_BY_CODE = new Map<number, TransferKind>(
  Object.entries(TRANSFER_KINDS).map(([k, v]) => [v, k as TransferKind]),
);

/** Keeps the `limit` findings with the smallest event index, so the first difference comes first. */
class FirstFindings {
  #items: AuditFinding[] = [];
  total = 0;
  constructor(private readonly limit: number) {}
  add(f: AuditFinding): void {
    this.total++;
    this.#items.push(f);
    if (this.#items.length >= 2 * this.limit) this.#trim();
  }
  #trim(): void {
    this.#items.sort((a, b) => (a.index ?? Infinity) - (b.index ?? Infinity));
    this.#items.length = Math.min(this.#items.length, this.limit);
  }
  drainInto(out: FindingList): void {
    this.#trim();
    for (const f of this.#items) out.add(f);
    out.total += this.total - this.#items.length;
  }
}

interface Difference {
  column: string;
  expected: Value;
  found: Value;
  index: number;
  check?: AuditCheck;
  /** What the event at `index` did, when not the row's own event. */
  what?: string;
}

function hashOr(f: () => Hex): Value {
  try {
    return f();
  } catch {
    return "(unreadable)";
  }
}

/**
 * Compares every derived row with the replay. `events` is the number of events the replay saw:
 * rows filed at a later sequence were written while the audit ran and are left out.
 */
export async function checkDerivedRows(
  result: ReplayResult,
  read: DerivedRowReader,
  events: number,
  findings: FindingList,
): Promise<void> {
  const out = new FirstFindings(1000);
  const report = (
    check: AuditCheck,
    table: DerivedTable,
    key: string,
    d: Omit<Difference, "check">,
    what: string,
  ) =>
    out.add({
      check,
      message: `${table} ${key}: ${d.column} is ${d.found ?? "null"}, the events give ${d.expected ?? "null"} (${d.what ?? what} at event ${d.index})`,
      // A balance sums many events and also differs when events are missing: it names no index.
      ...(check === "stored_balance" ? {} : { index: d.index }),
      table,
      key,
      column: d.column,
      expected: d.expected,
      found: d.found,
    });
  const extra = (check: AuditCheck, table: DerivedTable, key: string, why: string) =>
    out.add({ check, message: `${table} ${key}: ${why}`, table, key });
  const missing = (
    check: AuditCheck,
    table: DerivedTable,
    index: number,
    what: string,
    f: Partial<AuditFinding> = {},
  ) => out.add({ check, message: `${what} at event ${index} has no row in ${table}`, index, table, ...f });
  /** Reports the first differing column of a row, if any. */
  const compare = (check: AuditCheck, table: DerivedTable, key: string, what: string, ds: Difference[]) => {
    for (const d of ds)
      if (d.expected !== d.found) {
        report(d.check ?? check, table, key, d, what);
        return;
      }
  };
  async function* pages(table: DerivedTable, keyOf: (r: Row) => string): AsyncGenerator<Row> {
    let after = "";
    for (;;) {
      const rows = await read(table, after, DERIVED_PAGE);
      yield* rows;
      if (rows.length < DERIVED_PAGE) return;
      after = keyOf(rows[rows.length - 1]!);
    }
  }
  const byId = (r: Row) => String(r.id);

  // Accounts and their balances; the id → pseudonym map serves the other tables.
  const pseudonymOf = new Map<string, Hex>();
  /** The 32 bytes of each pseudonym seen, to compare leaf words without making hex of them. */
  const pseudonymBytes = new Map<string, Buffer>();
  const account = (id: unknown): Value =>
    id === null || id === undefined ? null : (pseudonymOf.get(String(id)) ?? `unknown account ${String(id)}`);
  const seenAccounts = new Set<Hex>();
  for await (const r of pages("ledger_accounts", byId)) {
    const key = String(r.id);
    const pseudonym = String(r.pseudonym).toLowerCase() as Hex;
    pseudonymOf.set(key, pseudonym);
    if (/^0x[0-9a-f]{64}$/.test(pseudonym))
      pseudonymBytes.set(pseudonym, Buffer.from(pseudonym.slice(2), "hex"));
    const a = result.accountsByPseudonym.get(pseudonym);
    if (!a || seenAccounts.has(pseudonym)) {
      if (Number(r.sequence) < events)
        extra(
          "derived_account",
          "ledger_accounts",
          key,
          `pseudonym ${pseudonym} was never opened by an event (or has two rows)`,
        );
      continue;
    }
    seenAccounts.add(pseudonym);
    const o = a.openedAt;
    const b = a.balanceIndex;
    compare("derived_account", "ledger_accounts", key, "account opened", [
      { column: "type", expected: a.type, found: text(r.type), index: o },
      { column: "asset", expected: a.asset, found: text(r.asset), index: o },
      {
        column: "status",
        expected: a.status,
        found: text(r.status),
        index: a.statusIndex,
        what: "status set",
      },
      { column: "sequence", expected: String(o), found: text(r.sequence), index: o },
      { column: "created_at", expected: String(a.openedTimestamp), found: text(r.created_at), index: o },
      {
        column: "scale, limits, metadata",
        expected: a.termsHash,
        found: hashOr(() => detailsHash(accountDetails(accountFromRow({ ...r, ...NO_BALANCES })))),
        index: o,
      },
      ...(
        [
          ["debits_posted", a.debitsPosted],
          ["credits_posted", a.creditsPosted],
          ["debits_pending", a.debitsPending],
          ["credits_pending", a.creditsPending],
        ] as const
      ).map(([column, v]) => ({
        column,
        expected: v.toString(),
        found: text(r[column]),
        index: b,
        check: "stored_balance" as const,
        what: "last moved",
      })),
    ]);
  }
  for (const a of result.accountsByPseudonym.values())
    if (!seenAccounts.has(a.pseudonym))
      missing("derived_account", "ledger_accounts", a.openedAt, "the account opened", {
        account: a.pseudonym,
      });

  // Holds, with their escrow columns; then the chain decisions that resolved escrow holds.
  const holdById = new Map<string, ReplayedHold>();
  const releasedBy = new Map<number, string>();
  const chainDecided = new Map<string, { chainEventId: string; action: "post" | "void"; index: number }>();
  const seenHolds = new Set<number>();
  for await (const r of pages("ledger_holds", byId)) {
    const key = String(r.id);
    const seq = Number(r.sequence);
    if (!(seq < events)) continue;
    const h = result.holdsByIndex.get(seq);
    if (!h || seenHolds.has(seq)) {
      extra(
        "derived_hold",
        "ledger_holds",
        key,
        `its sequence ${seq} is not an event that created a hold (or another row's)`,
      );
      continue;
    }
    seenHolds.add(seq);
    holdById.set(key, h);
    if (h.releaseIndex !== undefined) releasedBy.set(h.releaseIndex, key);
    const resolvedSeq = r.resolved_sequence === null ? null : Number(r.resolved_sequence);
    // A hold resolved while the audit ran: its resolution is not in the events read.
    const late = resolvedSeq !== null && !(resolvedSeq < events);
    const resolution = text(r.resolution);
    const escrow = h.kind === "escrow_hold";
    const e = h.resolvedIndex ?? h.index;
    const createdAt = text(r.created_at);
    const expiresAt = text(r.expires_at);
    compare("derived_hold", "ledger_holds", key, "hold created", [
      { column: "debit_account_id", expected: h.debit, found: account(r.debit_account_id), index: h.index },
      {
        column: "credit_account_id",
        expected: h.credit,
        found: account(r.credit_account_id),
        index: h.index,
      },
      { column: "asset", expected: h.asset, found: text(r.asset), index: h.index },
      { column: "amount", expected: h.amount.toString(), found: text(r.amount), index: h.index },
      { column: "kind", expected: h.kind, found: text(r.kind), index: h.index },
      { column: "created_at", expected: String(h.createdAt), found: createdAt, index: h.index },
      {
        column: "timeout_ms",
        expected:
          expiresAt === null || createdAt === null ? null : String(Number(expiresAt) - Number(createdAt)),
        found: text(r.timeout_ms),
        index: h.index,
      },
      {
        column: "payee_account_id, expires_at, metadata, fee",
        expected: h.termsHash,
        found: hashOr(() => {
          const payee =
            r.payee_account_id === null ? undefined : (pseudonymOf.get(String(r.payee_account_id)) ?? ZERO32);
          return detailsHash(holdDetails(holdFromRow(r), payee));
        }),
        index: h.index,
      },
      {
        column: "escrow_id",
        expected: h.escrowId ?? null,
        found: text(r.escrow_id)?.toLowerCase() ?? null,
        index: h.index,
        check: escrow ? "derived_escrow" : undefined,
      },
      ...(late
        ? []
        : [
            {
              column: "status",
              expected: h.status,
              found: text(r.status),
              index: e,
              check: escrow ? ("derived_escrow" as const) : undefined,
            },
            {
              column: "resolved_sequence",
              expected: text(h.resolvedIndex),
              found: text(resolvedSeq),
              index: e,
            },
            { column: "resolved_at", expected: text(h.resolvedAt), found: text(r.resolved_at), index: e },
            {
              column: "resolution",
              expected: h.resolutionHash ?? null,
              found:
                resolution === null
                  ? null
                  : hashOr(() => detailsHash(JSON.parse(resolution) as Record<string, JsonValue>)),
              index: e,
            },
            {
              column: "release_transfer_id",
              expected: escrow && h.status === "posted" ? RELEASE_PREFIX + key : null,
              found: text(r.release_transfer_id),
              index: e,
              check: escrow ? ("derived_escrow" as const) : undefined,
            },
          ]),
    ]);
    if (!late && escrow && h.resolvedIndex !== undefined && resolution !== null) {
      const d = (() => {
        try {
          return JSON.parse(resolution) as { source?: string; chainEventId?: string };
        } catch {
          return undefined;
        }
      })();
      if (d?.source === "chain" && typeof d.chainEventId === "string")
        chainDecided.set(key, {
          chainEventId: d.chainEventId,
          action: h.status === "posted" ? "post" : "void",
          index: h.resolvedIndex,
        });
    }
  }
  for (const h of result.holdsByIndex.values())
    if (!seenHolds.has(h.index))
      missing(
        h.kind === "escrow_hold" ? "derived_escrow" : "derived_hold",
        "ledger_holds",
        h.index,
        "the hold created",
        {
          ...(h.escrowId ? { escrowId: h.escrowId } : {}),
        },
      );

  const decided = new Set<string>();
  for await (const r of pages("ledger_hold_decisions", (x) => String(x.chain_event_id))) {
    const key = String(r.chain_event_id);
    const holdId = String(r.hold_id);
    const d = chainDecided.get(holdId);
    if (!d || d.chainEventId !== key || decided.has(holdId)) {
      // A decision recorded while the audit ran names a hold resolved after the events read.
      const h = holdById.get(holdId);
      if (!h || h.resolvedIndex !== undefined || d)
        extra(
          "derived_escrow",
          "ledger_hold_decisions",
          key,
          `no event resolved hold ${holdId} with this chain decision`,
        );
      continue;
    }
    decided.add(holdId);
    compare("derived_escrow", "ledger_hold_decisions", key, "escrow hold resolved", [
      { column: "action", expected: d.action, found: text(r.action), index: d.index },
    ]);
  }
  for (const [holdId, d] of chainDecided)
    if (!decided.has(holdId))
      missing("derived_escrow", "ledger_hold_decisions", d.index, `the chain decision on hold ${holdId}`);

  // Transfers: each row against the event filed at its sequence (one bit per event).
  const matched = new IndexSet();
  for await (const r of pages("ledger_transfers", byId)) {
    const key = String(r.id);
    const seq = Number(r.sequence);
    if (!(seq < events)) continue;
    const entry = r.event_leaf ? readLeafScalars(r.event_leaf as Uint8Array) : undefined;
    if (!entry || typeof entry === "string" || entry.eventType !== "TRANSFER_POSTED" || !matched.add(seq)) {
      extra(
        "derived_transfer",
        "ledger_transfers",
        key,
        `its sequence ${seq} is not an event that posted a transfer (or another row's)`,
      );
      continue;
    }
    const kind = KIND_BY_CODE.get(entry.code) ?? `code ${entry.code}`;
    const metadata = text(r.metadata);
    const fee = text(r.fee);
    const holdId = text(r.hold_id);
    const released = releasedBy.get(seq);
    const hold = holdId === null ? undefined : holdById.get(holdId);
    const leaf = entry.bytes;
    const debit = account(r.debit_account_id);
    const credit = account(r.credit_account_id);
    const metadataHash = wordIs(leaf, 12, ZERO32_BYTES) ? ZERO32 : leafWord(leaf, 12);
    compare("derived_transfer", "ledger_transfers", key, "transfer posted", [
      {
        column: "id",
        expected: Number(r.event_subject_kind) === 2 ? text(r.event_subject_id) : null,
        found: key,
        index: seq,
      },
      {
        column: "debit_account_id",
        expected: accountWord(leaf, 6, debit, pseudonymBytes),
        found: debit,
        index: seq,
      },
      {
        column: "credit_account_id",
        expected: accountWord(leaf, 7, credit, pseudonymBytes),
        found: credit,
        index: seq,
      },
      { column: "asset", expected: entry.asset, found: text(r.asset), index: seq },
      { column: "amount", expected: entry.amount.toString(), found: text(r.amount), index: seq },
      { column: "kind", expected: kind, found: text(r.kind), index: seq },
      { column: "created_at", expected: String(entry.timestamp), found: text(r.created_at), index: seq },
      { column: "hold_id", expected: released ?? null, found: holdId, index: seq },
      {
        column: "metadata, fee",
        expected: metadataHash,
        found: hashOr(() =>
          kind === "escrow_release" && hold?.escrowId && metadata === null && fee === null
            ? detailsHash(releaseDetails(hold.escrowId, hold.pseudonym))
            : metadata === null && fee === null
              ? ZERO32
              : detailsHash(transferDetails(metadata, fee)),
        ),
        index: seq,
      },
    ]);
  }
  for (const i of result.transferEvents.minus(matched))
    missing("derived_transfer", "ledger_transfers", i, "the transfer posted");

  // Facts: the row is a cache of its FACT_RECORDED leaf.
  const factsByIndex = new Map(result.facts.map((f) => [f.index, f]));
  const seenFacts = new Set<number>();
  for await (const r of pages("ledger_facts", byId)) {
    const key = String(r.id);
    const seq = Number(r.sequence);
    if (!(seq < events)) continue;
    const f = factsByIndex.get(seq);
    if (!f || seenFacts.has(seq)) {
      extra(
        "derived_fact",
        "ledger_facts",
        key,
        `its sequence ${seq} is not an event that recorded a fact (or another row's)`,
      );
      continue;
    }
    seenFacts.add(seq);
    compare("derived_fact", "ledger_facts", key, "fact recorded", [
      { column: "kind", expected: String(FACT_KINDS[f.kind]), found: text(r.kind), index: seq },
      {
        column: "document_hash",
        expected: f.documentHash,
        found: text(r.document_hash)?.toLowerCase() ?? null,
        index: seq,
      },
      {
        column: "subject_account_id",
        expected: f.subject ?? null,
        found: account(r.subject_account_id),
        index: seq,
      },
      // A fact without asset or amount has a zero word in its leaf.
      { column: "asset", expected: f.asset, found: text(r.asset) ?? "", index: seq },
      { column: "amount", expected: f.amount.toString(), found: text(r.amount) ?? "0", index: seq },
      { column: "created_at", expected: String(f.timestamp), found: text(r.created_at), index: seq },
    ]);
  }
  for (const f of result.facts)
    if (!seenFacts.has(f.index)) missing("derived_fact", "ledger_facts", f.index, "the fact recorded");

  out.drainInto(findings);
}
