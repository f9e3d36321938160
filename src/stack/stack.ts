import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { Registry, collectDefaultMetrics } from "prom-client";
import { createLogger, type Logger } from "../logging";
import type { Address, LocalAccount } from "viem";
import { createApiApp, startApiServer, type ApiOptions, type ApiServer } from "../api/app";
import { createPgRateLimiter, rateLimitMigrations } from "../api/http/rate-limit-pg";
import { apiMigrations, createApiKey, openApiKeyStore } from "../api/auth/keys";
import { devAccount, startAnvil, DEV_CHAIN_ID, type AnvilNode } from "../chain/anvil";
import { createChainClients } from "../chain/clients";
import { readDeployment, writeDeployment, type Deployment } from "../chain/deployment";
import { DEV_ROLES, deployDevContracts } from "../chain/dev";
import { loadSigner } from "../chain/keys";
import { requireRoles, type RequiredRole } from "../chain/actions/read-missing-roles";
import { closeDatabase, openDatabase, type Database } from "../db/database";
import { migrate } from "../db/migrate";
import { CustodyError } from "../errors";
import { openCustodianBank } from "../bank";
import { watchStatementInbox } from "../bank/inbox";
import { openLedger, type Ledger } from "../ledger";
import { assetToBytes32 } from "../protocol/leaf-v1";
import { ensurePseudonymKey, parsePseudonymKey, pseudonymKeyMigrations } from "../ledger/pseudonym-key";
import { createLogIntegrator } from "../log/integrator";
import type { LogReader } from "../log/reader";
import { openLogStore } from "../log/store";
import { createEscrowBridge } from "../relayer/escrow-bridge";
import { relayerMigrations } from "../relayer/migrations";
import { createRelayer, type Relayer } from "../relayer/relayer";
import { logAnchorSource } from "../relayer/source";
import { buildWeb } from "../../web/build";
import {
  SIG_TYPE_COSIGNATURE_V1,
  SIG_TYPE_ED25519,
  ed25519NoteSigner,
  formatSignerKey,
  formatVerifierKey,
  parseSignerKey,
  type NoteSigner,
} from "../protocol/note";
import { TRUST_POLICY_VERSION } from "../protocol/trust-policy";
import { cosignatureMigrations, cosignatureStore, createCosignatureTask } from "../relayer/cosignatures";
import { openWitness, startWitnessServer } from "../witness";
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
  /** True on the start that created the API keys (the only time they are printed). */
  apiKeysCreated: boolean;
  db: Database;
  ledger: Ledger;
  /** The log, read-only (the stack's integrator appends). */
  log: LogReader;
  relayer: Relayer;
  registry: Registry;
  /** Stops API, relayer, database and local chain, in that order. Safe to call twice. */
  stop(): Promise<void>;
}

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
  if (fromEnv) return parsePseudonymKey(fromEnv, `$${config.pseudonymKeyEnv}`);
  return secretFile(path.join(config.dataDir, "pseudonym.key"), 32);
}

/** A signer-key file (PRIVATE+KEY+…) read, or created 0600 with a fresh Ed25519 seed. */
function signerKeyFile(file: string, name: string, sigType: number) {
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, formatSignerKey(name, sigType, randomBytes(32)) + "\n", {
      mode: 0o600,
      flag: "wx",
    });
  }
  return parseSignerKey(fs.readFileSync(file, "utf8"));
}

/**
 * The log's checkpoint key: `$CUSTODY_LOG_KEY` (a signer key, PRIVATE+KEY+<origin>+…) or
 * `<data-dir>/log.key`, created 0600 on first start. Its key name is the checkpoint origin.
 */
function logSignerOf(
  config: StackConfig,
  deployment: Deployment,
): { signer: NoteSigner; publicKey: Uint8Array } {
  const fromEnv = process.env.CUSTODY_LOG_KEY;
  const k = fromEnv
    ? parseSignerKey(fromEnv)
    : signerKeyFile(
        path.join(config.dataDir, "log.key"),
        `localhost/custody/${deployment.chainId}/${deployment.custodyAnchor.toLowerCase()}`,
        SIG_TYPE_ED25519,
      );
  if (k.sigType !== SIG_TYPE_ED25519)
    throw new StackStartError("the log key must be an Ed25519 (type 0x01) signer key");
  return { signer: ed25519NoteSigner(k.name, k.seed), publicKey: k.publicKey };
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

function rateLimitOf(config: StackConfig, db: Database): Pick<ApiOptions, "rateLimit" | "rateLimiter"> {
  if (config.rateLimit === 0) return { rateLimit: false };
  const rateLimit = { ratePerSecond: config.rateLimit, burst: Math.max(1, config.rateBurst) };
  // On PostgreSQL several API processes share the ledger, so they share the buckets too.
  return db.kind === "postgres"
    ? { rateLimit, rateLimiter: createPgRateLimiter(db.pool, rateLimit) }
    : { rateLimit };
}

async function apiKeysOf(db: Database, file: string): Promise<{ keys: DemoKeys; created: boolean }> {
  if (fs.existsSync(file))
    return { keys: JSON.parse(fs.readFileSync(file, "utf8")) as DemoKeys, created: false };
  const keys: DemoKeys = {
    platform: (await createApiKey(db, { role: "platform" })).key,
    auditor: (await createApiKey(db, { role: "auditor" })).key,
  };
  fs.writeFileSync(file, JSON.stringify(keys, null, 2) + "\n", { mode: 0o600 });
  return { keys, created: true };
}

/**
 * The data folder holds keys, the ledger and the chain state: only its owner may read it. The
 * folder and its sub-folders become 0700 and every file in them 0600 (files created later inherit
 * nothing from this, but sit in a folder nobody else can enter).
 */
function restrictDataDir(dir: string): void {
  fs.chmodSync(dir, 0o700);
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) restrictDataDir(p);
    else if (e.isFile()) fs.chmodSync(p, 0o600);
  }
}

/**
 * Starts the whole system in one process: a local chain (or an external one), the contracts
 * (deployed on first start, reused afterwards), the ledger and log, the relayer, and the API with
 * the receipt page. Everything it keeps lives in `config.dataDir` (and the database named by
 * `config.dbUrl`), so the next start resumes where this one stopped.
 */
export async function startStack(config: StackConfig, opts: { logger?: Logger } = {}): Promise<RunningStack> {
  // Operational logs on stderr, the API's request log on stdout (next to its output).
  const root = opts.logger ?? createLogger({ destination: 2 });
  const log = root.child({ component: "stack" });
  const relayerLog = root.child({ component: "relayer" });
  const apiLogger = opts.logger?.child({ component: "api" }) ?? createLogger({ component: "api" });
  fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  restrictDataDir(config.dataDir);
  const cleanups: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const c of cleanups.splice(0).reverse())
      await c().catch((e) => log.error({ error: String(e) }, "stop failed"));
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
        // A node left running by a previous process that was killed is ours to stop; no other.
        pidFile: path.join(config.dataDir, "chain", "anvil.pid.json"),
        stateIntervalSeconds: 1,
        blockTime: config.blockTime || undefined,
        chainId: DEV_CHAIN_ID,
      });
      cleanups.push(() => node!.stop());
      rpcUrl = node.rpcUrl;
      log.info({ rpcUrl }, "local chain started");
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
      log.info(
        {
          anchor: deployment.custodyAnchor,
          escrow: deployment.custodyEscrow,
        },
        "contracts deployed",
      );
    } else {
      throw new StackStartError(`deployment file ${config.deploymentPath} not found`, {
        details: "deploy with `npm run deploy` and point --deployment at its output",
      });
    }

    // 3. Database: ledger, log, relayer and API tables share it.
    const db = openDatabase(config.dbUrl);
    cleanups.push(() => closeDatabase(db));
    await migrate(db, [
      ...relayerMigrations,
      ...cosignatureMigrations,
      ...apiMigrations,
      ...rateLimitMigrations,
      ...pseudonymKeyMigrations,
    ]);
    const pseudonymKey = pseudonymKeyOf(config);
    const ledger = await openLedger(db, {
      pseudonymKey,
      feeSchedule: parseFeeSchedule(config.feeSchedule),
    });
    // Before anything is written: a process with another key would fork every pseudonym.
    await ensurePseudonymKey(db, pseudonymKey);
    const logStore = await openLogStore(db);
    // The custodian bank's statements: API route, and an inbox folder watched for statement files.
    const bank = await openCustodianBank({ db, ledger });
    await bank.completePending();
    const inbox = watchStatementInbox(bank, path.join(config.dataDir, "bank-inbox"), {
      log: root.child({ component: "bank" }),
    });
    cleanups.push(() => inbox.stop());

    // 4. Checkpoints and two local witnesses (the bank's and an auditor's, in this process for the
    // embedded stack; in production each runs `custody witness` on its own machine).
    const { signer: logSigner, publicKey: logPublicKey } = logSignerOf(config, deployment);
    const witnessKeys = ["bank", "auditor"].map((who) =>
      signerKeyFile(
        path.join(config.dataDir, "witnesses", `${who}.key`),
        `localhost/custody/witness/${who}`,
        SIG_TYPE_COSIGNATURE_V1,
      ),
    );
    const suggestedTrustPolicy = {
      version: TRUST_POLICY_VERSION,
      name: "embedded stack (suggested by the platform)",
      chainId,
      anchorContract: deployment.custodyAnchor.toLowerCase(),
      log: {
        origin: logSigner.name,
        vkey: formatVerifierKey(logSigner.name, SIG_TYPE_ED25519, logPublicKey),
      },
      witnesses: {
        quorum: 2,
        vkeys: witnessKeys.map((k) => formatVerifierKey(k.name, SIG_TYPE_COSIGNATURE_V1, k.publicKey)),
      },
    };
    const policyFile = path.join(config.dataDir, "trust-policy.json");
    fs.writeFileSync(policyFile, JSON.stringify(suggestedTrustPolicy, null, 2) + "\n");
    const witnessEndpoints = [];
    for (const who of ["bank", "auditor"]) {
      const keyFile = path.join(config.dataDir, "witnesses", `${who}.key`);
      const witness = await openWitness({
        keyFile,
        policyFile,
        stateFile: path.join(config.dataDir, "witnesses", `${who}.state.json`),
        publicClient: clients.publicClient,
      });
      const ws = await startWitnessServer(witness, { host: "127.0.0.1", port: 0, origins: [witness.origin] });
      cleanups.push(() => ws.close());
      witnessEndpoints.push({ name: witness.name, url: ws.url });
    }

    // 5. The log's one writer: appends committed events in a loop; the relayer asks it for a round
    // before anchoring. Everyone else gets its read-only reader.
    const integrator = createLogIntegrator({
      source: ledger,
      store: logStore,
      onError: (err) => relayerLog.error({ error: String(err) }, "log integration failed; retrying"),
    });
    integrator.start();
    cleanups.push(() => integrator.stop());

    // 6. Relayer.
    const registry = new Registry();
    collectDefaultMetrics({ register: registry, prefix: "custody_process_" });
    const requiredRoles: RequiredRole[] = [
      { contract: "CustodyAnchor", address: deployment.custodyAnchor, role: "ANCHORER_ROLE" },
      { contract: "CustodyEscrow", address: deployment.custodyEscrow as Address, role: "PLATFORM_ROLE" },
    ];
    // A relayer key without its roles would start, fail every step and block nothing: refuse now.
    await requireRoles(clients.publicClient, account.address, requiredRoles);
    const relayer = createRelayer({
      db,
      source: logAnchorSource({ ledger, integrator }),
      publicClient: clients.publicClient,
      account,
      deployment,
      // --batch-size is the most entries one head may add; a full batch is also anchored at once.
      policy: {
        batchSize: config.anchorBatchSize,
        maxBatch: config.anchorBatchSize,
        maxDelayMs: config.anchorIntervalMs,
      },
      requiredRoles,
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
        createCosignatureTask({
          db,
          reader: integrator.reader,
          anchors: { latestFinal: () => relayer.anchors.latestFinal() },
          origin: logSigner.name,
          signer: logSigner,
          witnesses: witnessEndpoints,
          log: relayerLog,
        }),
      ],
    });
    relayer.start();
    cleanups.push(() => relayer.stop());

    // 6. API with the receipt page.
    const webDir = await buildWeb();
    const { keys: apiKeys, created: apiKeysCreated } = await apiKeysOf(
      db,
      path.join(config.dataDir, "api-keys.json"),
    );
    const app = createApiApp({
      ledger,
      log: integrator.reader,
      anchors: relayer.anchors,
      relayerStatus: relayer,
      chain: { publicClient: clients.publicClient, deployment, rpcUrl },
      auth: openApiKeyStore(db),
      bank,
      webDir,
      metrics: registry,
      logger: apiLogger,
      options: {
        escrowAccounts: parseEscrowAccounts(config.escrowAccounts),
        ...rateLimitOf(config, db),
      },
      checkpoints: { origin: logSigner.name, signer: logSigner, cosignatures: cosignatureStore(db) },
      suggestedTrustPolicy,
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
    restrictDataDir(config.dataDir); // the ledger, deployment and chain files now exist
    return {
      config,
      apiUrl,
      webUrl: `${apiUrl}/`,
      rpcUrl,
      chainId,
      deployment,
      apiKeys,
      apiKeysCreated,
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
