import { readFile } from "node:fs/promises";
import { Command } from "commander";
import type { Address } from "viem";
import { readHead } from "../chain/actions/read-head";
import { readHeadCovering } from "../chain/actions/read-head-covering";
import { createChainClients } from "../chain/clients";
import { CustodyError } from "../errors";
import { type LoadedTrustPolicy, loadTrustPolicy, verifyPolicyCheckpoint } from "../protocol/trust-policy";
import { parseAnyReceipt, verifyReceipt, verifyReceiptUnderPolicy, type VerificationResult } from "../verify";
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
    const r = parseAnyReceipt(text);
    return `receipt for entry #${r.entry.sequence} (${r.entry.eventType}, ${r.entry.amount} ${r.entry.asset} minor units)`;
  } catch {
    return "receipt";
  }
}

async function readPolicy(file: string): Promise<LoadedTrustPolicy> {
  const text = await readReceiptText(file);
  try {
    return loadTrustPolicy(text);
  } catch (e) {
    if (e instanceof CustodyError)
      throw new CliUsageError(`${file}: ${e.shortMessage}${e.details ? ` (${e.details})` : ""}`);
    throw e;
  }
}

/**
 * Checks a signed checkpoint under the policy (log key, origin, witness quorum) and that it is a
 * head anchored in the policy's contract. Returns a failure reason, or the summary line.
 */
async function checkCheckpoint(
  policy: LoadedTrustPolicy,
  note: string,
  rpcUrl: string,
): Promise<{ ok: boolean; line: string }> {
  try {
    const v = verifyPolicyCheckpoint(policy, note);
    const { publicClient } = createChainClients({ rpcUrl, chainId: policy.policy.chainId });
    const anchor = policy.policy.anchorContract as Address;
    const index =
      v.checkpoint.size > 0 ? await readHeadCovering(publicClient, anchor, v.checkpoint.size - 1) : undefined;
    const head = index === undefined ? undefined : await readHead(publicClient, anchor, index);
    if (!head || head.treeSize !== v.checkpoint.size || head.rootHash !== v.checkpoint.rootHash)
      return {
        ok: false,
        line: `checkpoint of size ${v.checkpoint.size} is not a head anchored in ${anchor}`,
      };
    return {
      ok: true,
      line: `checkpoint: size ${v.checkpoint.size}, anchored as head ${head.headIndex}, cosigned by ${v.witnesses.join(", ") || "no witness"} (quorum ${policy.policy.witnesses.quorum})`,
    };
  } catch (e) {
    if (e instanceof CustodyError) return { ok: false, line: `checkpoint refused: ${e.shortMessage}` };
    throw e;
  }
}

/** `custody verify <receipt.json> --rpc URL [--policy FILE [--checkpoint FILE]] [--contract ADDR] [--chain-id N] [--json]` */
export function verifyCommand(ctx: CliContext): Command {
  return new Command("verify")
    .description(
      "Verify a receipt (custody-receipt-v1 or v2) against the chain alone: recompute the leaf, check the inclusion " +
        "proof, and read the anchored head from the CustodyAnchor contract. No server of the platform is asked.",
    )
    .argument("<receipt>", "receipt JSON file, or - for stdin")
    .requiredOption("--rpc <url>", "JSON-RPC endpoint of a node of the chain")
    .option("--contract <address>", "the CustodyAnchor you trust; receipts anchored elsewhere are rejected")
    .option("--chain-id <id>", "the chain id you trust")
    .option(
      "--policy <file>",
      "trust policy (custody-trust-policy-v1) you got out of band: pins chain and contract",
    )
    .option(
      "--checkpoint <file>",
      "signed checkpoint to check under --policy (log key, witness quorum, anchored on chain)",
    )
    .option("--json", "print the verdict as JSON")
    .addHelpText(
      "after",
      "\nExit codes: 0 valid, 1 invalid (the reason is printed), 2 usage or I/O error (no verdict).",
    )
    .action(
      (
        file: string,
        opts: {
          rpc: string;
          contract?: string;
          chainId?: string;
          policy?: string;
          checkpoint?: string;
          json?: boolean;
        },
      ) =>
        guard(ctx, async () => {
          const rpcUrl = parseUrlOption("--rpc", opts.rpc);
          let expectedContract = parseContractOption(opts.contract);
          let expectedChainId = parseChainIdOption(opts.chainId);
          if (opts.checkpoint && !opts.policy)
            throw new CliUsageError("--checkpoint needs --policy (the keys to check it with)");
          const policy = opts.policy ? await readPolicy(opts.policy) : undefined;
          if (policy) {
            if (
              expectedContract &&
              expectedContract.toLowerCase() !== policy.policy.anchorContract.toLowerCase()
            )
              throw new CliUsageError("--contract differs from the policy's anchor contract");
            if (expectedChainId !== undefined && expectedChainId !== policy.policy.chainId)
              throw new CliUsageError("--chain-id differs from the policy's chain id");
            expectedContract = policy.policy.anchorContract as Address;
            expectedChainId = policy.policy.chainId;
          }
          const text = await readReceiptText(file);
          const extra: string[] = [];
          let verdict: VerificationResult;
          if (policy) {
            // Pins chain and contract; a v2 receipt's checkpoint must meet the log key and witness quorum.
            const v = await verifyReceiptUnderPolicy(text, policy, { rpcUrl });
            const { witnesses, checkpointChecked, ...rest } = v;
            verdict = rest;
            extra.push(
              `policy: ${policy.policy.name} (chain ${policy.policy.chainId}, contract ${policy.policy.anchorContract.toLowerCase()})`,
            );
            if (witnesses)
              extra.push(
                `receipt checkpoint: cosigned by ${witnesses.join(", ") || "no witness"} (quorum ${policy.policy.witnesses.quorum})`,
              );
            else if (!checkpointChecked && v.checks[0]?.ok)
              extra.push("receipt checkpoint: none (a v1 receipt); no witness checked");
            if (opts.checkpoint && !verdict.ok)
              extra.push("checkpoint: not checked (the receipt is refused)");
            else if (opts.checkpoint) {
              const c = await checkCheckpoint(policy, await readReceiptText(opts.checkpoint), rpcUrl);
              extra.push(c.line);
              if (!c.ok && verdict.ok) verdict = { ...verdict, ok: false, reason: c.line };
            }
          } else verdict = await verifyReceipt(text, { rpcUrl, expectedContract, expectedChainId });
          if (opts.json) ctx.out(JSON.stringify({ ...verdict, policy: extra }, null, 2));
          else {
            ctx.out(formatVerdict(verdict, subjectOf(text)));
            for (const l of extra) ctx.out(`         ${l}`);
            if (!expectedContract)
              ctx.err(
                "note: the contract address was taken from the receipt; pass --contract to pin the one you trust",
              );
          }
          ctx.exitCode = verdict.ok ? EXIT_VALID : EXIT_INVALID;
        }),
    );
}
