import fs from "node:fs";
import path from "node:path";
import type { Database } from "../db/database";
import type { Ledger } from "../ledger";
import { deriveStatement, readLedgerDay, writeCamt053 } from "../bank";
import type { LedgerMovement } from "../bank/reconcile";
import { addDays } from "../bank/statement";
import { endOfDay } from "./clock";

/**
 * The embedded stack's custodian bank (demo and tests only): after each business day it sends a
 * camt.053.001.08 statement of every custodian account it keeps, booked from what really moved on
 * the ledger's mirror account, into the statement inbox. Once, it loses a deposit: the smallest
 * credit of the first day that has one is never booked, so the day's reconciliation shows a
 * `ledger_only` break that a person must explain. Its own books (last closing balance per account)
 * live in `stateFile`, so a restart continues them.
 */
export interface SimulatedBankDay {
  day: string;
  bankAccount: string;
  ledgerAccount: string;
  entries: number;
  closing: bigint;
  currency: string;
  exponent: number;
  missing?: LedgerMovement;
}

interface BankBooks {
  accounts: Record<string, { lastDay: string; closing: string }>;
  lostDeposit?: string;
}

export function simulatedCustodianBank(o: {
  db: Database;
  ledger: Pick<Ledger, "getAccount">;
  /** Bank account id → custodian-mirror ledger account. */
  accounts: Record<string, string>;
  inboxDir: string;
  stateFile: string;
}) {
  const books: BankBooks = fs.existsSync(o.stateFile)
    ? (JSON.parse(fs.readFileSync(o.stateFile, "utf8")) as BankBooks)
    : { accounts: {} };
  const save = () => {
    const tmp = `${o.stateFile}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(books, null, 2) + "\n", { mode: 0o600 });
    fs.renameSync(tmp, o.stateFile);
  };

  /** Sends the statements of `day` not sent yet; returns what it sent. */
  async function sendDay(day: string): Promise<SimulatedBankDay[]> {
    const out: SimulatedBankDay[] = [];
    for (const [bankAccount, ledgerAccount] of Object.entries(o.accounts)) {
      const mine = books.accounts[bankAccount];
      if (mine && mine.lastDay >= day) continue;
      const account = await o.ledger.getAccount(ledgerAccount).catch(() => undefined);
      if (!account) continue; // the platform has not opened the mirror account yet
      const cutoff = endOfDay(day);
      const view = await readLedgerDay(o.db, ledgerAccount, account.asset, cutoff);
      let movements = view.today;
      // The first statement starts from the ledger's own balance at the previous cut-off.
      const opening = mine
        ? BigInt(mine.closing)
        : movements.reduce(
            (b, m) => b - (m.direction === "credit" ? m.amount : -m.amount),
            view.mirrorBalance,
          );
      let missing: LedgerMovement | undefined;
      if (!books.lostDeposit) {
        const credits = movements.filter((m) => m.direction === "credit" && !m.reversal);
        missing = credits.sort((a, b) => (a.amount < b.amount ? -1 : a.amount > b.amount ? 1 : 0))[0];
        if (missing) movements = movements.filter((m) => m !== missing);
      }
      const statement = deriveStatement({
        id: `SIM-${bankAccount}-${day}`,
        account: bankAccount,
        currency: account.asset,
        exponent: account.scale,
        day,
        opening,
        openingDate: addDays(day, -1),
        cutoff,
        movements,
      });
      const xml = writeCamt053([statement], {
        version: "08",
        messageId: `SIM-${day.replace(/-/g, "")}-${bankAccount}`.slice(0, 35),
        createdAt: new Date(cutoff + 1).toISOString(),
      });
      // Written elsewhere and renamed in, so the inbox never reads half a file.
      const name = `camt053-${bankAccount}-${day}.xml`;
      const tmp = path.join(o.inboxDir, `.${name}.tmp`);
      fs.writeFileSync(tmp, xml);
      fs.renameSync(tmp, path.join(o.inboxDir, name));
      books.accounts[bankAccount] = { lastDay: day, closing: statement.closing.amount.toString() };
      if (missing) books.lostDeposit = missing.transferId;
      save();
      out.push({
        day,
        bankAccount,
        ledgerAccount,
        entries: statement.entries.length,
        closing: statement.closing.amount,
        currency: account.asset,
        exponent: account.scale,
        missing,
      });
    }
    return out;
  }
  return { sendDay };
}
