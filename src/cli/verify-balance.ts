import { readFile } from "node:fs/promises";
import { Command } from "commander";
import type { BalanceVerdict } from "../protocol/balance-proof-v1";
import { verifyBalanceProof } from "../verify/balance-proof";
import { CliUsageError, EXIT_INVALID, EXIT_VALID, type CliContext } from "./context";
import { guard } from "./guard";
import { parseContractOption, parseUrlOption } from "./options";

/** Terminal rendering: the verdict, then every check that ran. */
export function formatBalanceVerdict(v: BalanceVerdict, subject: string): string {
  const lines = v.ok
    ? [`VALID    ${subject}`]
    : [`INVALID  ${subject}`, `         reason: ${v.reason ?? "unknown"}`];
  lines.push("");
  const width = Math.max(...v.checks.map((c) => c.name.length));
  for (const c of v.checks) lines.push(`  ${c.ok ? "ok  " : "FAIL"}  ${c.name.padEnd(width)}  ${c.detail}`);
  return lines.join("\n");
}

/** `custody verify-balance <proof.json> --rpc URL [--contract ADDR] [--json]` */
export function verifyBalanceCommand(ctx: CliContext): Command {
  return new Command("verify-balance")
    .description(
      "Verify a balance proof (custody-balance-proof-v1): the balance re-hashes to its leaf, every sibling sum is in " +
        "range and adds up, the root and sum match CustodySolvency's commitment, and the custodian's attested " +
        "reserves for that day cover the root sum. Only the chain is asked.",
    )
    .argument("<proof>", "balance proof JSON file, or - for stdin")
    .requiredOption("--rpc <url>", "JSON-RPC endpoint of a node of the chain")
    .option("--contract <address>", "the CustodySolvency you trust; proofs naming another are rejected")
    .option("--json", "print the verdict as JSON")
    .addHelpText("after", "\nExit codes: 0 valid, 1 invalid (the reason is printed), 2 usage or I/O error.")
    .action((file: string, opts: { rpc: string; contract?: string; json?: boolean }) =>
      guard(ctx, async () => {
        const rpcUrl = parseUrlOption("--rpc", opts.rpc);
        const expectedContract = parseContractOption(opts.contract);
        let text: string;
        try {
          if (file === "-") {
            const chunks: Buffer[] = [];
            for await (const c of process.stdin) chunks.push(c as Buffer);
            text = Buffer.concat(chunks).toString("utf8");
          } else text = await readFile(file, "utf8");
        } catch (err) {
          throw new CliUsageError(
            `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
          );
        }
        let raw: unknown;
        try {
          raw = JSON.parse(text);
        } catch {
          raw = text;
        }
        const verdict = await verifyBalanceProof(raw, { rpcUrl, expectedContract });
        const { chain: _chain, ...shown } = verdict;
        const r = raw as { snapshot?: { asset?: string; day?: string }; leaf?: { balance?: string } };
        const subject = `balance ${r.leaf?.balance ?? "?"} ${r.snapshot?.asset ?? ""} on ${r.snapshot?.day ?? "?"}`;
        ctx.out(opts.json ? JSON.stringify(shown, null, 2) : formatBalanceVerdict(shown, subject));
        ctx.exitCode = verdict.ok ? EXIT_VALID : EXIT_INVALID;
      }),
    );
}
