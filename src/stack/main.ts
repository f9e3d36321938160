import { Command, Option } from "commander";
import { CustodyError } from "../errors";
import { ConfigError, SETTINGS, resolveConfig, settingsHelp, type StackConfig } from "./config";
import { startDemo } from "./demo";
import { startStack, type RunningStack } from "./stack";
import { stackSummary } from "./summary";

/** `npm start`: the whole custody audit layer in one process. */
async function main(argv: string[]): Promise<void> {
  const program = new Command("custody-stack")
    .description(
      "Runs the custody audit layer in one process: a local EVM chain (anvil, state kept in the data folder) " +
        "or an external one, the contracts (deployed on first start), the SQLite or PostgreSQL ledger, the " +
        "relayer that anchors the log, the custodian bank's statement inbox with the daily reconciliation, " +
        "the daily liabilities snapshot and reserves watcher, the risk rules engine with alerts and dual " +
        "control, and the API with the receipt checker page.",
    )
    .option("--config <file>", "JSON file with settings (keys as in the table below)")
    .addHelpText("after", "\n" + settingsHelp())
    .allowExcessArguments(false);
  const attribute = new Map<keyof StackConfig, string>();
  for (const s of SETTINGS) {
    const o =
      s.kind === "bool"
        ? new Option(s.flag, s.help)
        : new Option(`${s.flag} <${s.kind === "int" ? "n" : "value"}>`, s.help);
    program.addOption(o);
    attribute.set(s.key, o.attributeName());
  }
  program.parse(argv);
  const opts = program.opts<Record<string, unknown>>();
  const flags: Partial<Record<keyof StackConfig, unknown>> = {};
  for (const s of SETTINGS) {
    const v = opts[attribute.get(s.key)!];
    if (v !== undefined) flags[s.key] = v;
  }

  const config = resolveConfig(flags, process.env, opts.config as string | undefined);
  const stack = await startStack(config);
  printSummary(stack);
  const demo = config.demo ? startDemo(stack) : undefined;

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`\n${signal}: stopping…\n`);
    await demo?.stop();
    await stack.stop();
    process.stdout.write("stopped cleanly; the next start resumes from the data folder\n");
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
}

function printSummary(s: RunningStack): void {
  process.stdout.write(stackSummary(s));
}

main(process.argv).catch((e: unknown) => {
  if (e instanceof CustodyError) {
    process.stderr.write(`error: ${e.shortMessage}${e.details ? `\n  ${e.details}` : ""}\n`);
    process.exit(e instanceof ConfigError ? 2 : 1);
  }
  process.stderr.write(`error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
