import { Command } from "commander";
import { LeafNotFoundError, fetchLeafProof, normalizeLeafHash, verifyLeafProof } from "../verify";
import { InvalidArgumentError } from "../errors";
import { CliUsageError, EXIT_INVALID, EXIT_VALID, type CliContext } from "./context";
import { formatVerdict } from "./format";
import { guard } from "./guard";
import { parseChainIdOption, parseContractOption, parseUrlOption } from "./options";

/** `custody verify-hash <leafHash> --api URL --rpc URL [--contract ADDR] [--chain-id N] [--json]` */
export function verifyHashCommand(ctx: CliContext): Command {
  return new Command("verify-hash")
    .description(
      "Verify that a leaf hash (a receipt hash) is in the anchored log: fetch its inclusion proof from the " +
        "API, then check the proof and the anchored head against the chain. Only the chain is trusted.",
    )
    .argument("<leafHash>", "the leaf hash, 0x + 64 hex digits")
    .requiredOption("--api <url>", "base URL of the custody API serving /v1/proofs/by-leaf-hash/:leafHash")
    .requiredOption("--rpc <url>", "JSON-RPC endpoint of a node of the chain")
    .option("--contract <address>", "the CustodyAnchor you trust; proofs anchored elsewhere are rejected")
    .option("--chain-id <id>", "the chain id you trust")
    .option("--json", "print the verdict as JSON")
    .addHelpText(
      "after",
      "\nExit codes: 0 valid, 1 invalid or unknown to the API, 2 usage or I/O error (no verdict).",
    )
    .action(
      (
        leafHashArg: string,
        opts: { api: string; rpc: string; contract?: string; chainId?: string; json?: boolean },
      ) =>
        guard(ctx, async () => {
          let leafHash;
          try {
            leafHash = normalizeLeafHash(leafHashArg);
          } catch (err) {
            if (err instanceof InvalidArgumentError)
              throw new CliUsageError(`<leafHash>: ${err.shortMessage}`);
            throw err;
          }
          const apiUrl = parseUrlOption("--api", opts.api);
          const rpcUrl = parseUrlOption("--rpc", opts.rpc);
          const expectedContract = parseContractOption(opts.contract);
          const expectedChainId = parseChainIdOption(opts.chainId);
          let proof;
          try {
            proof = await fetchLeafProof(apiUrl, leafHash);
          } catch (err) {
            if (!(err instanceof LeafNotFoundError)) throw err;
            if (opts.json)
              ctx.out(JSON.stringify({ ok: false, checks: [], reason: err.shortMessage }, null, 2));
            else
              ctx.out(
                `INVALID  leaf ${leafHash}\n         reason: ${err.shortMessage} (according to ${apiUrl})`,
              );
            ctx.exitCode = EXIT_INVALID;
            return;
          }
          const verdict = await verifyLeafProof(proof, { rpcUrl, expectedContract, expectedChainId });
          if (opts.json) ctx.out(JSON.stringify(verdict, null, 2));
          else {
            ctx.out(formatVerdict(verdict, `leaf ${leafHash} at index ${proof.leafIndex}`));
            if (!expectedContract)
              ctx.err(
                "note: the contract address came from the API's answer; pass --contract to pin the one you trust",
              );
          }
          ctx.exitCode = verdict.ok ? EXIT_VALID : EXIT_INVALID;
        }),
    );
}
