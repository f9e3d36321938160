import fs from "node:fs";
import path from "node:path";
import {
  getAddress,
  isAddress,
  keccak256,
  toHex,
  zeroAddress,
  type Account,
  type Address,
  type Chain,
  type Hash,
  type Hex,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import { DeploymentFailedError, DeploymentFileError } from "./errors";
import {
  custodyAnchorAbi,
  custodyAnchorBytecode,
  custodyEscrowAbi,
  custodyEscrowBytecode,
  custodySolvencyAbi,
  custodySolvencyBytecode,
} from "./generated/abi";

export const DEPLOYMENT_VERSION = "custody-deployment-v1";

export interface DeploymentRoles {
  /** Holder of DEFAULT_ADMIN_ROLE on both contracts. */
  admin: Address;
  anchorers: Address[];
  auditors: Address[];
  pausers: Address[];
  platforms: Address[];
  custodians: Address[];
}

/** The deployment file (`custody-deployment-v1`) the rest of the system reads. Spec: docs/contracts-v1.md. */
export interface Deployment {
  version: typeof DEPLOYMENT_VERSION;
  chainId: number;
  custodyAnchor: Address;
  custodyEscrow: Address;
  /** CustodySolvency (reserves vs liabilities); absent in files written before it existed. */
  custodySolvency?: Address;
  /** Block of the first deployment transaction: where log scans start. */
  deploymentBlock: number;
  /** ISO 8601 time of the deployment. */
  deployedAt: string;
  roles: DeploymentRoles;
}

export const ROLE_IDS = {
  DEFAULT_ADMIN_ROLE: `0x${"00".repeat(32)}` as Hex,
  ANCHORER_ROLE: keccak256(toHex("ANCHORER_ROLE")),
  AUDITOR_ROLE: keccak256(toHex("AUDITOR_ROLE")),
  PAUSER_ROLE: keccak256(toHex("PAUSER_ROLE")),
  PLATFORM_ROLE: keccak256(toHex("PLATFORM_ROLE")),
  CUSTODIAN_ROLE: keccak256(toHex("CUSTODIAN_ROLE")),
} as const;

/** Reads and validates a deployment file. Throws {@link DeploymentFileError}. */
export function readDeployment(file: string): Deployment {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (cause) {
    throw new DeploymentFileError(`cannot read deployment file ${file}`, {
      details: (cause as Error).message,
      cause,
    });
  }
  return parseDeployment(raw, file);
}

/** Validates a parsed deployment document; addresses come back checksummed. */
export function parseDeployment(raw: unknown, source = "deployment"): Deployment {
  const fail = (details: string): never => {
    throw new DeploymentFileError(`${source} is not a valid ${DEPLOYMENT_VERSION} document`, { details });
  };
  if (typeof raw !== "object" || raw === null) return fail("expected a JSON object");
  const d = raw as Record<string, unknown>;
  if (d.version !== DEPLOYMENT_VERSION)
    return fail(`expected version "${DEPLOYMENT_VERSION}", found ${JSON.stringify(d.version)}`);
  const address = (field: string, v: unknown): Address =>
    typeof v === "string" && isAddress(v, { strict: false })
      ? getAddress(v)
      : fail(`${field}: expected an address, found ${JSON.stringify(v)}`);
  const count = (field: string, v: unknown): number =>
    typeof v === "number" && Number.isSafeInteger(v) && v >= 0
      ? v
      : fail(`${field}: expected a non-negative integer, found ${JSON.stringify(v)}`);
  const list = (field: string, v: unknown): Address[] =>
    Array.isArray(v)
      ? v.map((a, i) => address(`roles.${field}[${i}]`, a))
      : fail(`roles.${field}: expected an array`);
  if (typeof d.deployedAt !== "string" || Number.isNaN(Date.parse(d.deployedAt))) {
    fail(`deployedAt: expected an ISO 8601 time, found ${JSON.stringify(d.deployedAt)}`);
  }
  const r = d.roles;
  if (typeof r !== "object" || r === null) return fail("roles: expected an object");
  const roles = r as Record<string, unknown>;
  return {
    version: DEPLOYMENT_VERSION,
    chainId: count("chainId", d.chainId),
    custodyAnchor: address("custodyAnchor", d.custodyAnchor),
    custodyEscrow: address("custodyEscrow", d.custodyEscrow),
    ...(d.custodySolvency === undefined
      ? {}
      : { custodySolvency: address("custodySolvency", d.custodySolvency) }),
    deploymentBlock: count("deploymentBlock", d.deploymentBlock),
    deployedAt: d.deployedAt as string,
    roles: {
      admin: address("roles.admin", roles.admin),
      anchorers: list("anchorers", roles.anchorers),
      auditors: list("auditors", roles.auditors),
      pausers: list("pausers", roles.pausers),
      platforms: list("platforms", roles.platforms),
      custodians: list("custodians", roles.custodians),
    },
  };
}

/** Writes a deployment file atomically (temporary file, fsync, rename). */
export function writeDeployment(file: string, deployment: Deployment): void {
  const text = JSON.stringify(parseDeployment(deployment), null, 2) + "\n";
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  const fd = fs.openSync(tmp, "w");
  try {
    fs.writeFileSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

/** Two days between the two steps of a DEFAULT_ADMIN_ROLE transfer unless the deployment says otherwise. */
export const DEFAULT_ADMIN_TRANSFER_DELAY = 2 * 86_400;

export interface DeployCustodyContractsParameters {
  walletClient: WalletClient<Transport, Chain, Account>;
  publicClient: PublicClient<Transport, Chain>;
  /**
   * Final holder of DEFAULT_ADMIN_ROLE. If it is not the deployer, the deployer starts the two-step
   * transfer to it (`beginDefaultAdminTransfer`); `admin` completes it with
   * `acceptDefaultAdminTransfer` once `adminTransferDelay` has passed. Until then the deployer holds it.
   */
  admin: Address;
  /** Seconds between the two steps of a DEFAULT_ADMIN_ROLE transfer (default {@link DEFAULT_ADMIN_TRANSFER_DELAY}). */
  adminTransferDelay?: number;
  anchorers?: Address[];
  auditors?: Address[];
  pausers?: Address[];
  platforms?: Address[];
  custodians?: Address[];
  /**
   * The custodian's address whose EIP-712 cosignature every anchored head needs (CustodyAnchor
   * `anchorCosigned`); fixed for the contract's life. Absent: none, plain `anchor` as before.
   */
  anchorCosigner?: Address;
  /** Per asset (bytes32 asset code), the amount above which the custodian must also approve a release. */
  custodianThresholds?: { asset: Hex; amount: bigint }[];
}

/**
 * Deploys CustodyAnchor and CustodyEscrow with viem and the generated bytecode, grants the roles,
 * sets custodian thresholds, then starts handing DEFAULT_ADMIN_ROLE to `admin` (two steps with a
 * delay: `admin` accepts later). Waits for every receipt.
 *
 * @example
 * const deployment = await deployCustodyContracts({ walletClient, publicClient, admin, anchorers: [relayer] });
 * writeDeployment(".data/deployment.json", deployment);
 */
export async function deployCustodyContracts(params: DeployCustodyContractsParameters): Promise<Deployment> {
  const { walletClient, publicClient } = params;
  const deployer = walletClient.account.address;
  const chainId = await publicClient.getChainId();
  const adminDelay = params.adminTransferDelay ?? DEFAULT_ADMIN_TRANSFER_DELAY;

  const wait = async (hash: Hash, what: string) => {
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success")
      throw new DeploymentFailedError(`${what} reverted`, { details: `transaction ${hash}` });
    return receipt;
  };

  const anchorReceipt = await wait(
    await walletClient.deployContract({
      abi: custodyAnchorAbi,
      bytecode: custodyAnchorBytecode,
      args: [deployer, adminDelay, params.anchorCosigner ?? zeroAddress],
    }),
    "deploying CustodyAnchor",
  );
  const escrowReceipt = await wait(
    await walletClient.deployContract({
      abi: custodyEscrowAbi,
      bytecode: custodyEscrowBytecode,
      args: [deployer, adminDelay],
    }),
    "deploying CustodyEscrow",
  );
  const custodyAnchor = getAddress(anchorReceipt.contractAddress!);
  const custodyEscrow = getAddress(escrowReceipt.contractAddress!);
  const solvencyReceipt = await wait(
    await walletClient.deployContract({
      abi: custodySolvencyAbi,
      bytecode: custodySolvencyBytecode,
      args: [deployer, adminDelay, custodyAnchor],
    }),
    "deploying CustodySolvency",
  );
  const custodySolvency = getAddress(solvencyReceipt.contractAddress!);

  const roles: DeploymentRoles = {
    admin: getAddress(params.admin),
    anchorers: (params.anchorers ?? []).map((a) => getAddress(a)),
    auditors: (params.auditors ?? []).map((a) => getAddress(a)),
    pausers: (params.pausers ?? []).map((a) => getAddress(a)),
    platforms: (params.platforms ?? []).map((a) => getAddress(a)),
    custodians: (params.custodians ?? []).map((a) => getAddress(a)),
  };
  const anchorGrants: [Hex, Address[]][] = [
    [ROLE_IDS.ANCHORER_ROLE, roles.anchorers],
    [ROLE_IDS.AUDITOR_ROLE, roles.auditors],
    [ROLE_IDS.PAUSER_ROLE, roles.pausers],
  ];
  const escrowGrants: [Hex, Address[]][] = [
    [ROLE_IDS.PLATFORM_ROLE, roles.platforms],
    [ROLE_IDS.CUSTODIAN_ROLE, roles.custodians],
    [ROLE_IDS.PAUSER_ROLE, roles.pausers],
  ];
  for (const [role, accounts] of anchorGrants) {
    for (const account of accounts) {
      const hash = await walletClient.writeContract({
        address: custodyAnchor,
        abi: custodyAnchorAbi,
        functionName: "grantRole",
        args: [role, account],
      });
      await wait(hash, `granting a role on CustodyAnchor to ${account}`);
    }
  }
  for (const [role, accounts] of escrowGrants) {
    for (const account of accounts) {
      const hash = await walletClient.writeContract({
        address: custodyEscrow,
        abi: custodyEscrowAbi,
        functionName: "grantRole",
        args: [role, account],
      });
      await wait(hash, `granting a role on CustodyEscrow to ${account}`);
    }
  }
  for (const [role, accounts] of [
    [ROLE_IDS.PLATFORM_ROLE, roles.platforms],
    [ROLE_IDS.CUSTODIAN_ROLE, roles.custodians],
  ] as const) {
    for (const account of accounts) {
      const hash = await walletClient.writeContract({
        address: custodySolvency,
        abi: custodySolvencyAbi,
        functionName: "grantRole",
        args: [role, account],
      });
      await wait(hash, `granting a role on CustodySolvency to ${account}`);
    }
  }
  for (const t of params.custodianThresholds ?? []) {
    const hash = await walletClient.writeContract({
      address: custodyEscrow,
      abi: custodyEscrowAbi,
      functionName: "setCustodianThreshold",
      args: [t.asset, t.amount],
    });
    await wait(hash, `setting the custodian threshold of ${t.asset}`);
  }
  if (roles.admin !== getAddress(deployer)) {
    for (const [address, abi] of [
      [custodyAnchor, custodyAnchorAbi],
      [custodyEscrow, custodyEscrowAbi],
      [custodySolvency, custodySolvencyAbi],
    ] as const) {
      await wait(
        await walletClient.writeContract({
          address,
          abi,
          functionName: "beginDefaultAdminTransfer",
          args: [roles.admin],
        }),
        "starting the admin role transfer",
      );
    }
  }
  return {
    version: DEPLOYMENT_VERSION,
    chainId,
    custodyAnchor,
    custodyEscrow,
    custodySolvency,
    deploymentBlock: Number(anchorReceipt.blockNumber),
    deployedAt: new Date().toISOString(),
    roles,
  };
}
