import type { Hex } from "viem";
import type { Ledger } from "../ledger/ledger";
import { BALANCE_LIMIT } from "../protocol/liabilities-tree-v1";
import { bytesToHex, dayNumberOf } from "../protocol/balance-proof-v1";
import type { SolvencyDay } from "../chain/actions/read-solvency-day";
import { LiabilitiesFold } from "./liabilities";
import {
  documentHashOf,
  liabilitiesAt,
  treeOfDocument,
  type SolvencySnapshots,
  type SnapshotDocument,
} from "./snapshots";

/** One problem the solvency audit found, naming the snapshot and, where it applies, the account. */
export interface SolvencyFinding {
  snapshotId: string;
  check: "document_hash" | "tree" | "range" | "ledger" | "chain";
  message: string;
  /** Pseudonym of the first account that differs. */
  account?: Hex;
}

export interface SolvencyAuditResult {
  snapshots: number;
  /** Whether each tree was rebuilt (only with the master secret: the leaves are keyed by it). */
  treesRebuilt: boolean;
  findings: SolvencyFinding[];
}

/**
 * Rebuilds every stored snapshot: its document re-hashes to the stored (and fact) hash; the tree
 * rebuilt from the document and the master secret has the stored root and sum; every balance is in
 * range; the balances equal the ledger's customer liabilities replayed from the log up to the
 * snapshot's log size (naming the first account that differs); and, if `readChain` is given, the
 * on-chain commitment equals the root, sum, log size and leaf count. Without `masterSecret` every
 * check but the tree rebuild runs (the document's sum is then compared with its balances).
 */
export async function auditSolvency(params: {
  snapshots: Pick<SolvencySnapshots, "list" | "document">;
  ledger: Pick<Ledger, "getEvents">;
  masterSecret?: Uint8Array;
  readChain?: (asset: string, dayNumber: number) => Promise<SolvencyDay>;
}): Promise<SolvencyAuditResult> {
  const findings: SolvencyFinding[] = [];
  const list = (await params.snapshots.list()).sort((a, b) => a.logSize - b.logSize);
  let fold = new LiabilitiesFold();
  for (const snap of list) {
    const add = (f: Omit<SolvencyFinding, "snapshotId">) => findings.push({ snapshotId: snap.id, ...f });
    const { text, doc } = await params.snapshots.document(snap.id);
    if (documentHashOf(text) !== snap.documentHash)
      add({
        check: "document_hash",
        message: `the stored document hashes to ${documentHashOf(text)}, not ${snap.documentHash}`,
      });
    for (const [p, b] of doc.accounts)
      if (BigInt(b) < 0n || BigInt(b) >= BALANCE_LIMIT)
        add({ check: "range", message: `balance ${b} is outside 0..2^64-1`, account: p });
    if (findings.some((f) => f.snapshotId === snap.id && f.check === "range")) continue;
    if (params.masterSecret) {
      const built = treeOfDocument(doc, params.masterSecret);
      const root = bytesToHex(built.tree.rootHash);
      if (root !== snap.rootHash || built.tree.rootSum !== snap.rootSum || doc.rootHash !== snap.rootHash)
        add({
          check: "tree",
          message: `the document rebuilds to root ${root} and sum ${built.tree.rootSum}; stored: ${snap.rootHash}, ${snap.rootSum}`,
        });
    } else {
      const sum = doc.accounts.reduce((t, [, b]) => t + BigInt(b), 0n);
      if (sum !== snap.rootSum || BigInt(doc.rootSum) !== snap.rootSum || doc.rootHash !== snap.rootHash)
        add({
          check: "tree",
          message: `the document's balances add up to ${sum} (document: root ${doc.rootHash}, sum ${doc.rootSum}); stored: ${snap.rootHash}, ${snap.rootSum}`,
        });
    }
    fold = await liabilitiesAt(
      params.ledger,
      snap.logSize,
      fold.applied <= snap.logSize ? fold : new LiabilitiesFold(),
    );
    compareWithLedger(doc, fold.balances(snap.asset), add);
    if (params.readChain) {
      const c = (await params.readChain(snap.asset, dayNumberOf(snap.day))).commitment;
      if (!c) add({ check: "chain", message: `no commitment on chain for ${snap.asset} on ${snap.day}` });
      else if (
        c.rootHash !== snap.rootHash ||
        c.rootSum !== snap.rootSum ||
        c.logSize !== snap.logSize ||
        c.leafCount !== 2 ** snap.height
      )
        add({
          check: "chain",
          message: `on chain: root ${c.rootHash}, sum ${c.rootSum}, log size ${c.logSize}, ${c.leafCount} leaves; stored: ${snap.rootHash}, ${snap.rootSum}, ${snap.logSize}, ${2 ** snap.height}`,
        });
    }
  }
  return { snapshots: list.length, treesRebuilt: params.masterSecret !== undefined, findings };
}

/** Both lists sorted by pseudonym; reports the first pseudonym whose presence or balance differs. */
function compareWithLedger(
  doc: SnapshotDocument,
  ledger: { pseudonym: Hex; balance: bigint }[],
  add: (f: Omit<SolvencyFinding, "snapshotId">) => void,
): void {
  const total = ledger.reduce((t, a) => t + a.balance, 0n);
  const n = Math.max(doc.accounts.length, ledger.length);
  for (let i = 0; i < n; i++) {
    const d = doc.accounts[i];
    const l = ledger[i];
    if (d && l && d[0] === l.pseudonym && BigInt(d[1]) === l.balance) continue;
    const account = !d ? l!.pseudonym : !l ? d[0] : d[0] < l.pseudonym ? d[0] : l.pseudonym;
    const inDoc = doc.accounts.find((a) => a[0] === account);
    const inLedger = ledger.find((a) => a.pseudonym === account);
    add({
      check: "ledger",
      account,
      message:
        `snapshot total ${doc.rootSum}, ledger total ${total} at log size ${doc.logSize}; first account that differs: ${account} ` +
        `(snapshot ${inDoc ? inDoc[1] : "absent"}, ledger ${inLedger ? inLedger.balance : "absent"})`,
    });
    return;
  }
}
