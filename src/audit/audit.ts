import type { Address, Hex } from "viem";
import type { OnChainEscrow } from "../chain/actions/read-escrow";
import { leafEntryToJson, type LeafEntryJson } from "../protocol/leaf-v1";
import { toHex } from "../log/hex";
import { nodeHasher } from "../log/node-hasher";
import { MemoryTree } from "../log/tree";
import { type DerivedRowReader, checkDerivedRows } from "./derived";
import { checkEscrows } from "./escrows";
import { FindingList } from "./findings";
import type { AnchoredHead } from "../protocol/head";
import { type LeafHashReference, checkHeads } from "./heads";
import { readLeaf } from "./leaf";
import { LedgerReplay } from "./replay";
import { AUDIT_REPORT_FORMAT, type AuditReport, checkTable } from "./report";

/** One raw event as a source holds it, in log order. */
export interface AuditEventRow {
  /** The sequence the source files the event under (its row key). */
  sequence: number;
  /** The leaf bytes (416 bytes for v1). */
  leaf: Uint8Array;
  /** The leaf hash the source stored, if it keeps one (compared, never trusted). */
  leafHash?: Uint8Array;
  /** The source's own record of the event time (ms), compared with the leaf's timestamp. */
  createdAt?: number;
  /** The source's decoded entry (API), compared with the entry decoded from the leaf. */
  entry?: LeafEntryJson;
}

/** Where the events come from: a database (`--db`) or the auditor API (`--api`). */
export interface AuditEventSource {
  readonly kind: "sqlite" | "postgres" | "api";
  /** Where, for the report (no credentials). */
  readonly location: string;
  /** Number of events the source reports (for progress only). */
  count(): Promise<number>;
  /** Every event in sequence order, in batches. */
  batches(): AsyncIterable<AuditEventRow[]>;
  /** The derived tables (accounts, balances, transfers, holds, facts), compared row by row with the replay. */
  derivedRows?: DerivedRowReader;
  /** The platform's copy of the tree, used only to name the exact altered event. */
  reference?: LeafHashReference;
}

/** What the audit reads from the chain: the only thing it trusts. */
export interface AuditChainReader {
  readonly chainId: number;
  readonly custodyAnchor: Address;
  readonly custodyEscrow?: Address;
  blockNumber(): Promise<number>;
  /** Every anchored head, in head-index order. */
  heads(): Promise<AnchoredHead[]>;
  /** The escrows with these ids (undefined for an id the chain does not know). */
  escrows(ids: readonly Hex[]): Promise<Map<Hex, OnChainEscrow | undefined>>;
}

export interface AuditProgress {
  phase: "events" | "heads" | "escrows" | "derived";
  done: number;
  total: number;
}

export interface RunAuditParameters {
  events: AuditEventSource;
  chain: AuditChainReader;
  onProgress?: (p: AuditProgress) => void;
  now?: () => Date;
}

function eq(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameEntry(a: LeafEntryJson, b: LeafEntryJson): boolean {
  for (const k of Object.keys(b) as (keyof LeafEntryJson)[]) {
    const x = a[k];
    const y = b[k];
    if (typeof x === "string" && typeof y === "string" ? x.toLowerCase() !== y.toLowerCase() : x !== y)
      return false;
  }
  return Object.keys(a).length === Object.keys(b).length;
}

/**
 * The full audit: reads the anchored heads from the chain, streams every event once (leaf hash,
 * tree, leaf decoding, replay), checks every head and every escrow hold against the chain, and
 * returns the custody-audit-report-v1. Never throws for a discrepancy (that is a finding); throws
 * only when a source cannot be read.
 *
 * @example
 * const report = await runAudit({ events: databaseEventSource(db), chain: await chainReader({ rpcUrl, deployment }) });
 * if (!report.passed) console.log(report.firstBadIndex, report.firstBadHead);
 */
export async function runAudit(p: RunAuditParameters): Promise<AuditReport> {
  const { events, chain } = p;
  const findings = new FindingList();
  // Heads first: the audit covers what was anchored when it started.
  const blockNumber = await chain.blockNumber();
  const heads = await chain.heads();
  const total = await events.count();
  const tree = new MemoryTree(nodeHasher);
  const replay = new LedgerReplay(findings);
  let pos = 0;
  let inSequence = true;
  let progressAt = 0;
  for await (const batch of events.batches()) {
    for (const row of batch) {
      const index = pos++;
      if (row.sequence !== index) {
        if (inSequence)
          findings.add({
            check: "event_sequence",
            message: `position ${index} holds the event filed as ${row.sequence}: events were ${row.sequence > index ? "deleted" : "inserted or duplicated"}`,
            index,
          });
        inSequence = false;
      } else inSequence = true;
      const leafHash = nodeHasher.hashLeaf(row.leaf);
      tree.append(leafHash);
      if (row.leafHash && !eq(row.leafHash, leafHash))
        findings.add({
          check: "leaf_hash",
          message: `event ${index}: stored leaf hash is not the hash of its leaf`,
          index,
        });
      const entry = readLeaf(row.leaf);
      if (typeof entry === "string") {
        findings.add({ check: "leaf_encoding", message: `event ${index}: ${entry}`, index });
        continue;
      }
      if (entry.sequence !== index)
        findings.add({
          check: "event_sequence",
          message: `event ${index}: its leaf carries sequence ${entry.sequence} (reordered or moved)`,
          index,
        });
      if (row.createdAt !== undefined && row.createdAt !== entry.timestamp)
        findings.add({
          check: "stored_entry",
          message: `event ${index}: stored time ${row.createdAt} differs from the leaf's ${entry.timestamp}`,
          index,
        });
      if (row.entry && !sameEntry(row.entry, leafEntryToJson(entry)))
        findings.add({
          check: "stored_entry",
          message: `event ${index}: the served entry is not the leaf's`,
          index,
        });
      replay.apply(index, entry);
    }
    if (p.onProgress && (pos - progressAt >= 50_000 || pos >= total)) {
      progressAt = pos;
      p.onProgress({ phase: "events", done: pos, total: Math.max(total, pos) });
    }
  }
  const result = replay.finish();

  p.onProgress?.({ phase: "heads", done: 0, total: heads.length });
  const headCheck = await checkHeads(tree, heads, findings, events.reference);
  p.onProgress?.({ phase: "heads", done: heads.length, total: heads.length });

  let escrowStats = { checked: 0, released: 0, refunded: 0, open: 0 };
  if (result.escrowHolds.length) {
    p.onProgress?.({ phase: "escrows", done: 0, total: result.escrowHolds.length });
    const onChain = await chain.escrows(result.escrowHolds.map((h) => h.escrowId!));
    escrowStats = checkEscrows(result.escrowHolds, onChain, findings);
    p.onProgress?.({ phase: "escrows", done: result.escrowHolds.length, total: result.escrowHolds.length });
  }

  if (events.derivedRows) {
    p.onProgress?.({ phase: "derived", done: 0, total: 1 });
    await checkDerivedRows(result, events.derivedRows, pos, findings);
    p.onProgress?.({ phase: "derived", done: 1, total: 1 });
  }

  const latest = heads.length ? heads[heads.length - 1]! : undefined;
  const anchoredSize = latest?.treeSize ?? 0;
  let firstBadIndex: number | null = null;
  let firstBadHead: number | null = null;
  for (const f of findings.items) {
    if (f.index !== undefined && (firstBadIndex === null || f.index < firstBadIndex)) firstBadIndex = f.index;
    if (f.headIndex !== undefined && (firstBadHead === null || f.headIndex < firstBadHead))
      firstBadHead = f.headIndex;
  }
  const seg = new Map(result.segregation.map((s) => [s.asset, s]));
  return {
    format: AUDIT_REPORT_FORMAT,
    generatedAt: (p.now ?? (() => new Date()))().toISOString(),
    passed: findings.total === 0,
    firstBadIndex,
    firstBadHead,
    source: { kind: events.kind, location: events.location },
    chain: {
      chainId: chain.chainId,
      custodyAnchor: chain.custodyAnchor.toLowerCase() as Hex,
      custodyEscrow: chain.custodyEscrow ? (chain.custodyEscrow.toLowerCase() as Hex) : null,
      blockNumber,
    },
    log: {
      events: tree.size,
      rootHash: toHex(tree.root()),
      anchoredSize,
      unanchoredEvents: Math.max(0, tree.size - anchoredSize),
    },
    heads: {
      count: heads.length,
      verified: headCheck.verified,
      consistentPairs: headCheck.consistent,
      latest: latest
        ? {
            headIndex: latest.headIndex,
            treeSize: latest.treeSize,
            rootHash: latest.rootHash.toLowerCase() as Hex,
          }
        : null,
    },
    ledger: {
      accounts: result.accounts,
      transfers: result.transfers,
      holds: result.holds,
      openHolds: result.openHolds,
      assets: result.totals.map((t) => {
        const s = seg.get(t.asset)!;
        return {
          asset: t.asset,
          debitsPosted: t.debitsPosted.toString(),
          creditsPosted: t.creditsPosted.toString(),
          debitsPending: t.debitsPending.toString(),
          creditsPending: t.creditsPending.toString(),
          customerLiabilities: s.customerLiabilities.toString(),
          escrowLiabilities: s.escrowLiabilities.toString(),
          settlementInTransit: s.settlementInTransit.toString(),
          platformOwnFunds: s.platformOwnFunds.toString(),
          feeRevenue: s.feeRevenue.toString(),
          bankMirrorBalance: s.bankMirrorBalance.toString(),
          surplus: s.surplus.toString(),
          covered: s.covered,
        };
      }),
    },
    escrows: {
      holds: escrowStats.checked,
      released: escrowStats.released,
      refunded: escrowStats.refunded,
      open: escrowStats.open,
    },
    checks: checkTable(findings.items),
    findings: findings.items,
    findingsTotal: findings.total,
  };
}
