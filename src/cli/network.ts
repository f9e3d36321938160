import path from "node:path";
import { Command } from "commander";
import { CONTRACTS_EVM_VERSION } from "../chain/evm-opcodes";
import { planBesuNetwork, writeNetworkFiles } from "../network/besu/generate";
import { GENESIS_FORKS } from "../network/besu/genesis";
import { CliUsageError, type CliContext } from "./context";
import { guard } from "./guard";
import { parseChainIdOption } from "./options";

function positiveInt(name: string, value: string): number {
  if (!/^[1-9][0-9]*$/.test(value) || !Number.isSafeInteger(Number(value)))
    throw new CliUsageError(`${name} must be a positive integer, got ${JSON.stringify(value)}`);
  return Number(value);
}

/**
 * `custody network besu --validators N --out DIR …`: writes a Besu QBFT network (docs/besu.md).
 * Prints the public facts only (validator addresses, enode URLs); node keys stay in their files.
 */
export function networkCommand(ctx: CliContext): Command {
  const network = new Command("network").description(
    "generate a permissioned chain for the custody contracts",
  );
  network
    .command("besu")
    .description(
      "Write a Hyperledger Besu QBFT network: genesis, node keys (0600), permissions_config.toml, per-node " +
        "configs, docker-compose.yml and a README with the deployment and role-grant steps.",
    )
    .requiredOption("--validators <n>", "number of validators (4 tolerate one faulty node)")
    .requiredOption("--out <dir>", "folder to write (must not exist or be empty)")
    .option("--block-period <seconds>", "seconds between blocks (the round timeout is twice this)", "2")
    .option("--chain-id <id>", "chain id", "1337")
    .option(
      "--evm <fork>",
      `EVM fork active from genesis (${GENESIS_FORKS.join(", ")}); must run the compiled contracts`,
      CONTRACTS_EVM_VERSION,
    )
    .option(
      "--accounts <addresses>",
      "comma-separated role keys allowed to send transactions (deployer, relayer, bank, auditors)",
    )
    .action(
      (opts: {
        validators: string;
        out: string;
        blockPeriod: string;
        chainId: string;
        evm: string;
        accounts?: string;
      }) =>
        guard(ctx, async () => {
          const plan = planBesuNetwork({
            validators: positiveInt("--validators", opts.validators),
            chainId: parseChainIdOption(opts.chainId)!,
            blockPeriodSeconds: positiveInt("--block-period", opts.blockPeriod),
            fork: opts.evm,
            accounts: (opts.accounts ?? "").split(",").filter((s) => s.trim() !== ""),
          });
          const out = path.resolve(opts.out);
          writeNetworkFiles(out, plan.files);
          ctx.out(
            `wrote a ${plan.validators.length}-validator QBFT network (chain ${plan.chainId}, ${plan.fork}) to ${out}`,
          );
          for (const v of plan.validators) ctx.out(`  ${v.name}  ${v.address}  ${v.enode}`);
          if (plan.accounts.length === 0)
            ctx.err(
              "warning: no --accounts: no key can send a transaction until the accounts allowlist is filled",
            );
          ctx.out(`next: ${path.join(out, "README.md")}`);
        }),
    );
  network.commands[0]!.configureOutput({
    writeOut: (s) => ctx.out(s.replace(/\n$/, "")),
    writeErr: (s) => ctx.err(s.replace(/\n$/, "")),
  });
  return network;
}
