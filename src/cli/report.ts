import { writeFile } from "node:fs/promises";
import { Command } from "commander";
import { closeDatabase, openDatabase } from "../db/database";
import { all } from "../db/sql";
import { openLedger } from "../ledger";
import { checkPseudonymKey } from "../ledger/pseudonym-key";
import { findRiskDatabase } from "../risk/database";
import { largeValueCsv, largeValueReport } from "../risk/large-value-report";
import { sqlRunner } from "../db/tx-runner";
import { CliUsageError, type CliContext } from "./context";
import { guard } from "./guard";
import { PSEUDONYM_KEY_ENV, readPseudonymKeyOption } from "./options";

interface LargeValueOptions {
  db: string;
  date: string;
  institution?: string;
  format: string;
  out?: string;
  pseudonymKeyEnv: string;
  pseudonymKeyFile?: string;
}

/** `custody report large-value --date D --db DB --institution ID [--format csv|json] [--out FILE]` */
export function reportCommand(ctx: CliContext): Command {
  const report = new Command("report").description("Regulatory reports from the risk engine's records");
  report.addCommand(
    new Command("large-value")
      .description(
        "The daily large-value transaction report: every customer-day a large-value rule alerted on, with " +
          "each transaction it counted, amounts in minor and major units, the reporting-currency equivalent " +
          "and the rate used (spec: docs/risk-v1.md)",
      )
      .requiredOption("--date <YYYY-MM-DD>", "the reporting day (in the rule file's time zone)")
      .requiredOption("--db <path|url>", "the ledger database: a SQLite file or a postgres:// URL")
      .option(
        "--institution <id>",
        "the reporting institution's identifier (default: $CUSTODY_INSTITUTION_ID)",
      )
      .option("--format <csv|json>", "output format", "csv")
      .option("--out <file>", "write the report to this file instead of stdout")
      .option(
        "--pseudonym-key-env <var>",
        "environment variable holding the ledger's hex pseudonym key (accounts are checked against their events with it)",
        PSEUDONYM_KEY_ENV,
      )
      .option("--pseudonym-key-file <file>", "file holding the hex pseudonym key (if the variable is unset)")
      .action((opts: LargeValueOptions) =>
        guard(ctx, async () => {
          if (opts.format !== "csv" && opts.format !== "json")
            throw new CliUsageError(`--format must be csv or json, not ${JSON.stringify(opts.format)}`);
          const institution = opts.institution ?? process.env.CUSTODY_INSTITUTION_ID;
          if (!institution) throw new CliUsageError("give --institution or set $CUSTODY_INSTITUTION_ID");
          const pseudonymKey = await readPseudonymKeyOption(opts);
          if (!pseudonymKey)
            throw new CliUsageError(
              `the report reads accounts the ledger checks against their events with its pseudonym key: set $${opts.pseudonymKeyEnv} or give --pseudonym-key-file`,
            );
          const db = openDatabase(opts.db);
          const risk = await findRiskDatabase(db).catch(async (err) => {
            await closeDatabase(db);
            throw err;
          });
          if (!risk) {
            await closeDatabase(db);
            throw new CliUsageError(`${opts.db} holds no risk records (the rules engine never ran on it)`);
          }
          // Reads only: a key other than the ledger's is refused before anything is read.
          try {
            await checkPseudonymKey(db, pseudonymKey);
          } catch (err) {
            await risk.close();
            await closeDatabase(db);
            throw err;
          }
          const ledger = await openLedger(db, { pseudonymKey });
          let text: string;
          try {
            const r = await largeValueReport({
              runner: sqlRunner(risk.db),
              ledger,
              date: opts.date,
              institution,
            });
            text = opts.format === "csv" ? largeValueCsv(r) : JSON.stringify(r, null, 2) + "\n";
          } finally {
            await ledger.close();
            await risk.close();
            await closeDatabase(db);
          }
          if (!opts.out) return ctx.out(text.replace(/\r?\n$/, ""));
          try {
            await writeFile(opts.out, text, { mode: 0o600 });
          } catch (err) {
            throw new CliUsageError(
              `cannot write ${opts.out}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
            );
          }
        }),
      ),
  );
  return report;
}
