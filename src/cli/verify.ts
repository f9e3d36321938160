import { readFile } from "node:fs/promises";
import { Command } from "commander";
import { parseReceipt, verifyReceipt } from "../verify";
import { CliUsageError, EXIT_INVALID, EXIT_VALID, type CliContext } from "./context";
import { formatVerdict } from "./format";
import { guard } from "./guard";
import { parseChainIdOption, parseContractOption, parseUrlOption } from "./options";

async function readReceiptText(file: string): Promise<string> {
  try {
    if (file === "-") {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      return Buffer.concat(chunks).toString("utf8");
    }
    return await readFile(file, "utf8");
  } catch (err) {
    throw new CliUsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

function subjectOf(text: string): string {
  try {
    const r = parseReceipt(text);
    return `receipt for entry #${r.entry.sequence} (${r.entry.eventType}, ${r.entry.amount} ${r.entry.asset} minor units)`;
  } catch {
    return "receipt";
  }
}

/** `custody verify <receipt.json> --rpc URL [--contract ADDR] [--chain-id N] [--json]` */
export function verifyCommand(ctx: CliContext): Command {
  return new Command("verify")
    .description(
      "Verify a receipt (custody-receipt-v1) against the chain alone: recompute the leaf, check the inclusion " +
        "proof, and read the anchored head from the CustodyAnchor contract. No server of the platform is asked.",
    )
    .argument("<receipt>", "receipt JSON file, or - for stdin")
    .requiredOption("--rpc <url>", "JSON-RPC endpoint of a node of the chain")
    .option("--contract <address>", "the CustodyAnchor you trust; receipts anchored elsewhere are rejected")
    .option("--chain-id <id>", "the chain id you trust")
    .option("--json", "print the verdict as JSON")
    .addHelpText(
      "after",
      "\nExit codes: 0 valid, 1 invalid (the reason is printed), 2 usage or I/O error (no verdict).",
    )
    .action((file: string, opts: { rpc: string; contract?: string; chainId?: string; json?: boolean }) =>
      guard(ctx, async () => {
        const rpcUrl = parseUrlOption("--rpc", opts.rpc);
        const expectedContract = parseContractOption(opts.contract);
        const expectedChainId = parseChainIdOption(opts.chainId);
        const text = await readReceiptText(file);
        const verdict = await verifyReceipt(text, { rpcUrl, expectedContract, expectedChainId });
        if (opts.json) ctx.out(JSON.stringify(verdict, null, 2));
        else {
          ctx.out(formatVerdict(verdict, subjectOf(text)));
          if (!expectedContract)
            ctx.err(
              "note: the contract address was taken from the receipt; pass --contract to pin the one you trust",
            );
        }
        ctx.exitCode = verdict.ok ? EXIT_VALID : EXIT_INVALID;
      }),
    );
}
