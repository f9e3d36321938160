import { Command } from "commander";
import { createChainClients } from "../chain/clients";
import { openWitness, startWitnessServer } from "../witness";
import type { CliContext } from "./context";
import { guard } from "./guard";
import { parseUrlOption } from "./options";

/** `custody witness --key FILE --policy FILE --rpc URL [--state FILE] [--anchor-key FILE] [--host H] [--port N]` */
export function witnessCommand(ctx: CliContext): Command {
  return new Command("witness")
    .description(
      "Run a C2SP tlog-witness for the log named in the trust policy: cosign (cosignature/v1) only checkpoints " +
        "signed by the log key, consistent with the last one cosigned, and equal to a head anchored on chain.",
    )
    .requiredOption(
      "--key <file>",
      "witness key file (PRIVATE+KEY+<name>+<id>+<base64>, type 0x04, mode 0600)",
    )
    .requiredOption("--policy <file>", "trust policy file: log origin and key, chain id, anchor contract")
    .requiredOption("--rpc <url>", "JSON-RPC endpoint of a node of the chain")
    .option("--state <file>", "durable state file (default: <key file>.state.json)")
    .option(
      "--anchor-key <file>",
      "opt-in: secp256k1 key file (0x + 64 hex, mode 0600) with which to cosign heads before they are " +
        "anchored (POST /anchor-cosignature), for an anchor contract deployed with this key's address as cosigner",
    )
    .option("--host <host>", "listen address", "127.0.0.1")
    .option("--port <port>", "listen port (0 = any free port)", "0")
    .action(
      (opts: {
        key: string;
        policy: string;
        rpc: string;
        state?: string;
        anchorKey?: string;
        host: string;
        port: string;
      }) =>
        guard(ctx, async () => {
          const rpcUrl = parseUrlOption("--rpc", opts.rpc);
          const { publicClient } = createChainClients({ rpcUrl, chainId: 1 });
          const witness = await openWitness({
            keyFile: opts.key,
            policyFile: opts.policy,
            stateFile: opts.state ?? `${opts.key}.state.json`,
            anchorKeyFile: opts.anchorKey,
            publicClient,
          });
          const server = await startWitnessServer(witness, {
            host: opts.host,
            port: Number(opts.port),
            origins: [witness.origin],
          });
          ctx.out(`witness ${witness.name} listening on ${server.url}`);
          if (witness.anchorCosigner) ctx.out(`anchor cosigner ${witness.anchorCosigner} (address only)`);
          await new Promise<void>((resolve) => {
            process.once("SIGINT", resolve);
            process.once("SIGTERM", resolve);
          });
          await server.close();
        }),
    );
}
