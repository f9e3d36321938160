/**
 * Deploys CustodyAnchor and CustodyEscrow to any JSON-RPC endpoint, grants the roles and writes
 * the deployment file (custody-deployment-v1) that the relayer, API and CLI read.
 *
 *   npm run deploy -- --rpc-url http://127.0.0.1:8545 --out .data/deployment.json --anchorer 0x...
 *
 * The deployer key comes from $CUSTODY_DEPLOYER_KEY or from an encrypted keystore (--keystore,
 * password from $CUSTODY_KEYSTORE_PASSWORD). Role addresses come from flags (repeatable) or from
 * comma-separated environment variables (CUSTODY_ANCHORERS, CUSTODY_AUDITORS, CUSTODY_PAUSERS,
 * CUSTODY_PLATFORMS, CUSTODY_CUSTODIANS, CUSTODY_ADMIN, CUSTODY_ANCHOR_COSIGNER_ADDRESS for --anchor-cosigner).
 */
import { Command } from "commander";
import { getAddress, isAddress, stringToHex, zeroAddress, type Address, type Hex } from "viem";
import { CustodyError } from "../src/errors";
import { createChainClients } from "../src/chain/clients";
import {
  DEFAULT_ADMIN_TRANSFER_DELAY,
  deployCustodyContracts,
  writeDeployment,
} from "../src/chain/deployment";
import { loadSigner } from "../src/chain/keys";
import { custodyAnchorAbi } from "../src/chain/generated/abi";

function addresses(flag: string[], envVar: string): Address[] {
  const fromEnv = (process.env[envVar] ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  return [...flag, ...fromEnv].map((a) => {
    if (!isAddress(a, { strict: false })) throw new Error(`not an address: ${a}`);
    return getAddress(a);
  });
}

const collect = (v: string, prev: string[]) => [...prev, v];

async function main(): Promise<void> {
  const program = new Command()
    .name("deploy")
    .description("Deploy the custody contracts and write the deployment file.")
    .option("--rpc-url <url>", "JSON-RPC endpoint", process.env.CUSTODY_RPC_URL ?? "http://127.0.0.1:8545")
    .option(
      "--out <path>",
      "deployment file to write",
      process.env.CUSTODY_DEPLOYMENT ?? ".data/deployment.json",
    )
    .option(
      "--key-env <name>",
      "environment variable holding the deployer's private key",
      "CUSTODY_DEPLOYER_KEY",
    )
    .option(
      "--keystore <path>",
      "encrypted JSON keystore of the deployer (password: $CUSTODY_KEYSTORE_PASSWORD)",
    )
    .option(
      "--admin <address>",
      "final DEFAULT_ADMIN_ROLE holder (default: the deployer); it accepts with acceptDefaultAdminTransfer after the delay",
    )
    .option(
      "--admin-delay <seconds>",
      "delay between the two steps of a DEFAULT_ADMIN_ROLE transfer",
      String(DEFAULT_ADMIN_TRANSFER_DELAY),
    )
    .option("--anchorer <address>", "grant ANCHORER_ROLE (repeatable)", collect, [])
    .option("--auditor <address>", "grant AUDITOR_ROLE (repeatable)", collect, [])
    .option("--pauser <address>", "grant PAUSER_ROLE on both contracts (repeatable)", collect, [])
    .option("--platform <address>", "grant PLATFORM_ROLE (repeatable)", collect, [])
    .option("--custodian <address>", "grant CUSTODIAN_ROLE (repeatable)", collect, [])
    .option(
      "--anchor-cosigner <address>",
      "CustodyAnchor accepts heads only with this address's EIP-712 cosignature (the custodian's witness " +
        "--anchor-key); fixed for the contract's life (default: none)",
    )
    .option(
      "--custodian-threshold <ASSET=amount>",
      "custodian approval above this amount (minor units) for ASSET (repeatable)",
      collect,
      [],
    )
    .parse();
  const o = program.opts<{
    rpcUrl: string;
    out: string;
    keyEnv: string;
    keystore?: string;
    admin?: string;
    adminDelay: string;
    anchorer: string[];
    auditor: string[];
    pauser: string[];
    platform: string[];
    custodian: string[];
    custodianThreshold: string[];
    anchorCosigner?: string;
  }>();

  const account = await loadSigner({
    envVar: o.keyEnv,
    keystorePath: o.keystore,
    password: process.env.CUSTODY_KEYSTORE_PASSWORD,
  });
  const probe = createChainClients({ rpcUrl: o.rpcUrl, chainId: 1 });
  const chainId = await probe.publicClient.getChainId();
  const { publicClient, walletClient } = createChainClients({ rpcUrl: o.rpcUrl, chainId, account });
  const admin = addresses(o.admin ? [o.admin] : [], "CUSTODY_ADMIN")[0] ?? account.address;
  if (!/^\d{1,12}$/.test(o.adminDelay))
    throw new Error(`--admin-delay expects seconds, found ${o.adminDelay}`);
  const adminDelay = Number(o.adminDelay);
  const custodianThresholds = o.custodianThreshold.map((spec) => {
    const m = /^([\x21-\x7e]{1,32})=(\d+)$/.exec(spec);
    if (!m) throw new Error(`--custodian-threshold expects ASSET=amount, found ${spec}`);
    return { asset: stringToHex(m[1]!, { size: 32 }) as Hex, amount: BigInt(m[2]!) };
  });
  const deployment = await deployCustodyContracts({
    walletClient: walletClient!,
    publicClient,
    admin,
    anchorers: addresses(o.anchorer, "CUSTODY_ANCHORERS"),
    auditors: addresses(o.auditor, "CUSTODY_AUDITORS"),
    pausers: addresses(o.pauser, "CUSTODY_PAUSERS"),
    platforms: addresses(o.platform, "CUSTODY_PLATFORMS"),
    custodians: addresses(o.custodian, "CUSTODY_CUSTODIANS"),
    custodianThresholds,
    adminTransferDelay: adminDelay,
    anchorCosigner: o.anchorCosigner
      ? addresses([o.anchorCosigner], "CUSTODY_ANCHOR_COSIGNER")[0]
      : undefined,
  });
  writeDeployment(o.out, deployment);
  const cosigner = await publicClient.readContract({
    address: deployment.custodyAnchor,
    abi: custodyAnchorAbi,
    functionName: "cosigner",
  });
  const cosignerNote = cosigner === zeroAddress ? "" : ` (cosigner ${cosigner})`;
  console.log(
    `deployed on chain ${deployment.chainId} at block ${deployment.deploymentBlock}:\n` +
      `  CustodyAnchor ${deployment.custodyAnchor}${cosignerNote}\n  CustodyEscrow ${deployment.custodyEscrow}\nwrote ${o.out}`,
  );
  if (admin.toLowerCase() !== account.address.toLowerCase())
    console.log(
      `DEFAULT_ADMIN_ROLE: transfer to ${admin} started; it calls acceptDefaultAdminTransfer() on both contracts after ${adminDelay} s`,
    );
}

main().catch((err: unknown) => {
  console.error(err instanceof CustodyError ? `${err.name}: ${err.message}` : err);
  process.exit(1);
});
