import { readFileSync } from "node:fs";
import { Command } from "commander";
import { SingleBar, Presets } from "cli-progress";
import { openCustodianBank, type CustodianBank } from "../bank";
import { closeDatabase, openDatabase } from "../db/database";
import { openLedger } from "../ledger";
import { CliUsageError, EXIT_INVALID, EXIT_VALID, type CliContext } from "./context";
import { guard } from "./guard";

interface BankCliOptions {
  db: string;
  pseudonymKeyEnv: string;
  pseudonymKeyFile?: string;
  toleranceDays?: string;
}

function pseudonymKey(o: BankCliOptions): Uint8Array {
  const text =
    process.env[o.pseudonymKeyEnv] ??
    (o.pseudonymKeyFile ? readFileSync(o.pseudonymKeyFile, "utf8") : undefined);
  if (text === undefined)
    throw new CliUsageError(
      `no pseudonym key: set $${o.pseudonymKeyEnv} or give --pseudonym-key-file (the ledger's HMAC key, hex)`,
    );
  const hex = text.trim().replace(/^0x/, "");
  if (!/^[0-9a-fA-F]{64,}$/.test(hex))
    throw new CliUsageError("the pseudonym key must be at least 32 bytes of hex");
  return Buffer.from(hex, "hex");
}

async function withBank<T>(o: BankCliOptions, fn: (bank: CustodianBank) => Promise<T>): Promise<T> {
  let toleranceDays: number | undefined;
  if (o.toleranceDays !== undefined) {
    if (!/^\d{1,2}$/.test(o.toleranceDays))
      throw new CliUsageError("--tolerance-days must be an integer in [0, 31]");
    toleranceDays = Number(o.toleranceDays);
  }
  const key = pseudonymKey(o);
  const db = openDatabase(o.db);
  const ledger = await openLedger(db, { pseudonymKey: key });
  try {
    const bank = await openCustodianBank({ db, ledger, toleranceDays });
    return await fn(bank);
  } finally {
    await ledger.close();
    await closeDatabase(db);
  }
}

function common(cmd: Command): Command {
  return cmd
    .requiredOption("--db <path|url>", "the ledger database: a SQLite file or a postgres:// URL")
    .option(
      "--pseudonym-key-env <var>",
      "environment variable holding the ledger's pseudonym key (hex)",
      "CUSTODY_PSEUDONYM_KEY",
    )
    .option(
      "--pseudonym-key-file <file>",
      "file holding the pseudonym key (hex), e.g. <data-dir>/pseudonym.key",
    );
}

/** `custody statements import FILE...`: camt.053 XML or custody-bank-statement-v1 JSON. */
export function statementsCommand(ctx: CliContext): Command {
  const statements = new Command("statements").description("The custodian bank's statements");
  statements.addCommand(
    common(new Command("import"))
      .description(
        "Checks and stores statement files (camt.053 001.02/001.08 or JSON feed); each file's hash enters the log",
      )
      .argument("<files...>", "statement files")
      .action((files: string[], opts: BankCliOptions) =>
        guard(ctx, async () => {
          await withBank(opts, async (bank) => {
            for (const f of files) {
              let raw: Buffer;
              try {
                raw = readFileSync(f);
              } catch (e) {
                throw new CliUsageError(
                  `cannot read ${f}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
                );
              }
              const r = await bank.importStatement(raw);
              for (const s of r.statements)
                ctx.out(
                  `${r.replay ? "already stored" : "stored"} ${f}: ${s.statementId} page ${s.page} of ${s.day} for ${s.ledgerAccount} (${s.entries} entries), document ${r.documentHash}, fact #${r.factSequence}`,
                );
            }
          });
        }),
      ),
  );
  return statements;
}

/** `custody reconcile --date D`: reconciles the day, stores the report and logs its hash. */
export function reconcileCommand(ctx: CliContext): Command {
  return common(new Command("reconcile"))
    .description(
      "Reconciles one business day's statements against the custodian-mirror accounts; exit 1 when an alarming break is found",
    )
    .requiredOption("--date <YYYY-MM-DD>", "the business day")
    .option("--account <id>", "only this custodian-mirror ledger account")
    .option("--tolerance-days <n>", "value-date tolerance when matching without an end-to-end id (default 1)")
    .option("--progress", "always draw the progress bar (default: when stderr is a terminal)")
    .option("--no-progress", "never draw the progress bar")
    .action((opts: BankCliOptions & { date: string; account?: string; progress?: boolean }) =>
      guard(ctx, async () => {
        const draw = opts.progress ?? process.stderr.isTTY === true;
        const bar = draw
          ? new SingleBar(
              { format: "{phase} [{bar}] {value}/{total} entries", stream: process.stderr },
              Presets.shades_classic,
            )
          : undefined;
        let started = false;
        const results = await withBank(opts, (bank) =>
          bank.reconcile(opts.date, {
            ledgerAccount: opts.account,
            progress: (phase, done, total) => {
              if (!bar) return;
              if (!started) {
                bar.start(total, 0, { phase });
                started = true;
              }
              bar.setTotal(total);
              bar.update(done, { phase });
            },
          }),
        ).finally(() => bar?.stop());
        let alarming = 0;
        for (const r of results) {
          const rep = r.report;
          const breaks = rep.breaks.map((b) => `${b.class}${b.severity === "info" ? " (info)" : ""}`);
          alarming += rep.breaks.filter((b) => b.severity !== "info").length;
          ctx.out(
            [
              `${rep.day} ${rep.ledgerAccount} (${rep.bankAccount}, ${rep.currency}): ${rep.counts.matched} matched, ${rep.breaks.length} break(s)${breaks.length ? `: ${breaks.join(", ")}` : ""}`,
              `  bank closing ${rep.balances.bank}, ledger ${rep.balances.ledger}, difference ${rep.balances.difference} minor units`,
              `  segregation ${rep.segregation.ok ? "ok" : `SHORTFALL ${rep.segregation.shortfall}`} (customer liabilities ${rep.segregation.customerLiabilities})`,
              ...rep.notes.map((n) => `  note: ${n}`),
              `  report ${r.reportHash} (run ${r.run}, fact #${r.factSequence})`,
            ].join("\n"),
          );
        }
        ctx.exitCode = alarming > 0 ? EXIT_INVALID : EXIT_VALID;
      }),
    );
}
