import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { Registry, collectDefaultMetrics } from "prom-client";
import type { Address, LocalAccount } from "viem";
import { createApiApp, startApiServer, type ApiServer } from "../api/app";
import { apiMigrations, createApiKey, openApiKeyStore } from "../api/auth/keys";
import type { ApiLogger } from "../api/http/logger";
import { devAccount, startAnvil, DEV_CHAIN_ID, type AnvilNode } from "../chain/anvil";
import { createChainClients } from "../chain/clients";
import { readDeployment, writeDeployment, type Deployment } from "../chain/deployment";
import { DEV_ROLES, deployDevContracts } from "../chain/dev";
import { loadSigner } from "../chain/keys";
import { closeDatabase, openDatabase, type Database } from "../db/database";
import { migrate } from "../db/migrate";
import { CustodyError } from "../errors";
import { openLedger, type Ledger } from "../ledger";
import { assetToBytes32 } from "../protocol/leaf-v1";
import { createLogIntegrator } from "../log/integrator";
import type { LogReader } from "../log/reader";
import { openLogStore } from "../log/store";
import { createEscrowBridge } from "../relayer/escrow-bridge";
import { jsonLogger, type RelayerLogger } from "../relayer/logger";
import { relayerMigrations } from "../relayer/migrations";
import { createRelayer, type Relayer } from "../relayer/relayer";
import { logAnchorSource } from "../relayer/source";
import { buildWeb } from "../../web/build";
import { parseEscrowAccounts, parseFeeSchedule, type StackConfig } from "./config";

/** The stack could not start (bad data folder, missing key, chain without the contracts, …). */
export class StackStartError extends CustodyError {
  override name = "StackStartError";
  constructor(message: string, opts: { details?: string; cause?: unknown } = {}) {
    super("STACK_START_FAILED", message, opts);
  }
}

/** The development accounts of the embedded chain and what each is for (printed by `npm start`). */
export { DEV_ROLES };

export interface DemoKeys {
  platform: string;
  auditor: string;
}

export interface RunningStack {
  config: StackConfig;
  apiUrl: string;
  webUrl: string;
  rpcUrl: string;
  chainId: number;
  deployment: Deployment;
  /** API keys created on first start (embedded mode); plaintext exists only in `<dataDir>/api-keys.json`. */
  apiKeys: DemoKeys;
  db: Database;
  ledger: Ledger;
  /** The log, read-only (the stack's integrator appends). */
  log: LogReader;
  relayer: Relayer;
  registry: Registry;
  /** Stops API, relayer, database and local chain, in that order. Safe to call twice. */
  stop(): Promise<void>;
}

type Log = RelayerLogger;

/** Reads a secret file (hex) or creates it with 0600 permissions. */
function secretFile(file: string, bytes: number): Uint8Array {
  if (fs.existsSync(file)) {
    const hex = fs.readFileSync(file, "utf8").trim();
    if (!/^[0-9a-f]+$/.test(hex) || hex.length < 2 * bytes) {
      throw new StackStartError(`secret file ${file} is malformed`, {
        details: `expected ${bytes} hex bytes`,
      });
    }
    return Buffer.from(hex, "hex");
  }
  const key = randomBytes(bytes);
  fs.writeFileSync(file, key.toString("hex") + "\n", { mode: 0o600, flag: "wx" });
  return key;
}

function pseudonymKeyOf(config: StackConfig): Uint8Array {
  const fromEnv = process.env[config.pseudonymKeyEnv];
  if (fromEnv) {
    const hex = fromEnv.replace(/^0x/, "");
    if (!/^[0-9a-fA-F]{64,}$/.test(hex)) {
      throw new StackStartError(`$${config.pseudonymKeyEnv} must hold at least 32 bytes of hex`);
    }
    return Buffer.from(hex, "hex");
  }
  return secretFile(path.join(config.dataDir, "pseudonym.key"), 32);
}

async function relayerAccountOf(config: StackConfig, embedded: boolean): Promise<LocalAccount> {
  const haveKey = !!process.env[config.relayerKeyEnv] || !!config.relayerKeystore;
  if (!haveKey) {
    if (embedded) return devAccount(DEV_ROLES.relayer);
    throw new StackStartError("no relayer key: an external chain needs the relayer's own key", {
      details: `set $${config.relayerKeyEnv} or --relayer-keystore with $${config.relayerKeystorePasswordEnv}`,
    });
  }
  return loadSigner({
    envVar: config.relayerKeyEnv,
    keystorePath: config.relayerKeystore || undefined,
    password: process.env[config.relayerKeystorePasswordEnv],
  });
}

async function apiKeysOf(db: Database, file: string): Promise<DemoKeys> {
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, "utf8")) as DemoKeys;
  const keys: DemoKeys = {
    platform: (await createApiKey(db, { role: "platform" })).key,
    auditor: (await createApiKey(db, { role: "auditor" })).key,
  };
  fs.writeFileSync(file, JSON.stringify(keys, null, 2) + "\n", { mode: 0o600 });
  return keys;
}

/**
 * Starts the whole system in one process: a local chain (or an external one), the contracts
 * (deployed on first start, reused afterwards), the ledger and log, the relayer, and the API with
 * the receipt page. Everything it keeps lives in `config.dataDir` (and the database named by
 * `config.dbUrl`), so the next start resumes where this one stopped.
 */
export async function startStack(
  config: StackConfig,
  opts: { log?: Log; apiLogger?: ApiLogger } = {},
): Promise<RunningStack> {
  const log: Log = opts.log ?? jsonLogger({ component: "stack" });
  const relayerLog: Log = opts.log ?? jsonLogger({ component: "relayer" });
  fs.mkdirSync(config.dataDir, { recursive: true });
  const cleanups: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const c of cleanups.splice(0).reverse())
      await c().catch((e) => log("error", "stop failed", { error: String(e) }));
  };
  try {
    // 1. Chain.
    const embedded = !config.rpcUrl;
    let node: AnvilNode | undefined;
    let rpcUrl = config.rpcUrl;
    if (embedded) {
      node = await startAnvil({
        port: config.chainPort,
        statePath: path.join(config.dataDir, "chain", "state.json"),
        stateIntervalSeconds: 1,
        blockTime: config.blockTime || undefined,
        chainId: DEV_CHAIN_ID,
      });
      cleanups.push(() => node!.stop());
      rpcUrl = node.rpcUrl;
      log("info", "local chain started", { rpcUrl });
    }
    const probe = createChainClients({ rpcUrl, chainId: 1 });
    const chainId = await probe.publicClient.getChainId().catch((cause) => {
      throw new StackStartError(`the chain at ${rpcUrl} does not answer`, { cause });
    });
    const account = await relayerAccountOf(config, embedded);
    const clients = createChainClients({ rpcUrl, chainId, account });

    // 2. Contracts: the deployment file names them; the embedded chain gets them on first start.
    let deployment: Deployment;
    if (fs.existsSync(config.deploymentPath)) {
      deployment = readDeployment(config.deploymentPath);
      if (deployment.chainId !== chainId) {
        throw new StackStartError(
          `the deployment file is for chain ${deployment.chainId}, the RPC serves chain ${chainId}`,
        );
      }
      const code = await clients.publicClient.getCode({ address: deployment.custodyAnchor });
      if (!code || code === "0x") {
        throw new StackStartError(`no contract at ${deployment.custodyAnchor} on the chain at ${rpcUrl}`, {
          details: embedded
            ? `the local chain state in ${path.join(config.dataDir, "chain")} no longer matches ${config.deploymentPath}; remove the data folder to start afresh`
            : `check --rpc and --deployment`,
        });
      }
    } else if (embedded) {
      deployment = await deployDevContracts({
        rpcUrl,
        chainId,
        relayer: account.address,
        // Releases above 1,000.00 EUR need the bank's approval too.
        custodianThresholds: [{ asset: assetToBytes32("EUR"), amount: 100_000n }],
      });
      writeDeployment(config.deploymentPath, deployment);
      log("info", "contracts deployed", {
        anchor: deployment.custodyAnchor,
        escrow: deployment.custodyEscrow,
      });
    } else {
      throw new StackStartError(`deployment file ${config.deploymentPath} not found`, {
        details: "deploy with `npm run deploy` and point --deployment at its output",
      });
    }

    // 3. Database: ledger, log, relayer and API tables share it.
    const db = openDatabase(config.dbUrl);
    cleanups.push(() => closeDatabase(db));
    await migrate(db, [...relayerMigrations, ...apiMigrations]);
    const ledger = await openLedger(db, {
      pseudonymKey: pseudonymKeyOf(config),
      feeSchedule: parseFeeSchedule(config.feeSchedule),
    });
    const logStore = await openLogStore(db);

    // 4. The log's one writer: appends committed events in a loop; the relayer asks it for a round
    // before anchoring. Everyone else gets its read-only reader.
    const integrator = createLogIntegrator({
      source: ledger,
      store: logStore,
      onError: (err) => relayerLog("error", "log integration failed; retrying", { error: String(err) }),
    });
    integrator.start();
    cleanups.push(() => integrator.stop());

    // 5. Relayer.
    const registry = new Registry();
    collectDefaultMetrics({ register: registry, prefix: "custody_process_" });
    const relayer = createRelayer({
      db,
      source: logAnchorSource({ ledger, integrator }),
      publicClient: clients.publicClient,
      account,
      deployment,
      policy: { batchSize: config.anchorBatchSize, maxDelayMs: config.anchorIntervalMs },
      confirmations: config.confirmations,
      registry,
      log: relayerLog,
      tasks: [
        createEscrowBridge({
          db,
          ledger,
          publicClient: clients.publicClient,
          escrow: deployment.custodyEscrow as Address,
          fromBlock: deployment.deploymentBlock,
          confirmations: config.confirmations,
          log: relayerLog,
        }),
      ],
    });
    relayer.start();
    cleanups.push(() => relayer.stop());

    // 6. API with the receipt page.
    const webDir = await buildWeb();
    const apiKeys = await apiKeysOf(db, path.join(config.dataDir, "api-keys.json"));
    const app = createApiApp({
      ledger,
      log: integrator.reader,
      anchors: relayer.anchors,
      relayerStatus: relayer,
      chain: { publicClient: clients.publicClient, deployment, rpcUrl },
      auth: openApiKeyStore(db),
      webDir,
      metrics: registry,
      logger: opts.apiLogger,
      options: { escrowAccounts: parseEscrowAccounts(config.escrowAccounts) },
    });
    let server: ApiServer;
    try {
      server = await startApiServer(app, { host: config.apiHost, port: config.apiPort });
    } catch (cause) {
      throw new StackStartError(`cannot listen on ${config.apiHost}:${config.apiPort}`, {
        cause,
        details: String(cause),
      });
    }
    cleanups.push(() => server.close());
    const apiUrl = server.url;
    return {
      config,
      apiUrl,
      webUrl: `${apiUrl}/`,
      rpcUrl,
      chainId,
      deployment,
      apiKeys,
      db,
      ledger,
      log: integrator.reader,
      relayer,
      registry,
      stop: stopAll,
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}
