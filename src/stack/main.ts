import { Command, Option } from "commander";
import { CustodyError } from "../errors";
import { devAccount } from "../chain/anvil";
import { ConfigError, SETTINGS, resolveConfig, settingsHelp, type StackConfig } from "./config";
import { startDemo } from "./demo";
import { DEV_ROLES, startStack, type RunningStack } from "./stack";

/** `npm start`: the whole custody audit layer in one process. */
async function main(argv: string[]): Promise<void> {
  const program = new Command("custody-stack")
    .description(
      "Runs the custody audit layer in one process: a local EVM chain (anvil, state kept in the data folder) " +
        "or an external one, the contracts (deployed on first start), the SQLite or PostgreSQL ledger, the " +
        "relayer that anchors the log, and the API with the receipt checker page.",
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
  const embedded = !s.config.rpcUrl;
  const lines = [
    "",
    "Custody audit layer is running.",
    "",
    `  API           ${s.apiUrl}/v1   (OpenAPI: ${s.apiUrl}/v1/openapi.json)`,
    `  Receipt page  ${s.webUrl}`,
    `  Metrics       ${s.apiUrl}/metrics`,
    `  Chain RPC     ${s.rpcUrl}   (chain id ${s.chainId}${embedded ? ", local anvil" : ""})`,
    `  CustodyAnchor ${s.deployment.custodyAnchor}`,
    `  CustodyEscrow ${s.deployment.custodyEscrow}`,
    `  Ledger        ${s.config.dbUrl.replace(/\/\/([^:@/]+):[^@/]+@/, "//$1:***@")}`,
    `  Data folder   ${s.config.dataDir}`,
    "",
    "  API keys (kept in the data folder, api-keys.json):",
    `    platform    ${s.apiKeys.platform}`,
    `    auditor     ${s.apiKeys.auditor}`,
  ];
  if (embedded) {
    lines.push(
      "",
      "  Local chain accounts (the public development mnemonic; never use them on a real network):",
      ...Object.entries(DEV_ROLES).map(
        ([role, i]) => `    ${role.padEnd(14)} ${devAccount(i).address}  (index ${i})`,
      ),
    );
  }
  lines.push(
    "",
    `  Try:  curl -s ${s.apiUrl}/v1/log/head`,
    `        npm run custody -- audit --rpc ${s.rpcUrl} --db ${s.config.dbUrl} --deployment ${s.config.deploymentPath}`,
    "",
    "Ctrl-C stops everything cleanly.",
    "",
  );
  process.stdout.write(lines.join("\n") + "\n");
}

main(process.argv).catch((e: unknown) => {
  if (e instanceof CustodyError) {
    process.stderr.write(`error: ${e.shortMessage}${e.details ? `\n  ${e.details}` : ""}\n`);
    process.exit(e instanceof ConfigError ? 2 : 1);
  }
  process.stderr.write(`error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
