import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { Gauge, Registry, collectDefaultMetrics } from "prom-client";
import { createLogger, type Logger } from "../logging";
import type { Address, LocalAccount } from "viem";
import { generatePrivateKey } from "viem/accounts";
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
import { createPgAdvisoryLease } from "../db/lease";
import { CustodyError } from "../errors";
import { openCustodianBank, type CustodianBank } from "../bank";
import { watchStatementInbox } from "../bank/inbox";
import { openLedger, type Ledger } from "../ledger";
import { assetToBytes32 } from "../protocol/leaf-v1";
import { ensurePseudonymKey, parsePseudonymKey, pseudonymKeyMigrations } from "../ledger/pseudonym-key";
import { createLogIntegrator } from "../log/integrator";
import type { LogReader } from "../log/reader";
import { openLogStore } from "../log/store";
import { ChainCheckedAnchors } from "../relayer/checked-anchors";
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
import { loadAnchorKey, openWitness, startWitnessServer } from "../witness";
import {
  Approvals,
  RiskEngine,
  RiskEngineThread,
  RiskService,
  openRiskDatabase,
  ledgerExecutors,
  storedFeeSchedule,
  type WebhookOptions,
} from "../risk";
import { SolvencySnapshots, SolvencyWatcher, snapshotIdOf, solvencyMigrations } from "../solvency";
import type { SigningClients } from "../chain/dev";
import { registerLedgerWriteMetrics } from "./ledger-metrics";
import { dayOf, stackClock, type StackClock } from "./clock";
import { createDailyCycle, type DailyCycle, type DailyCycleEvent } from "./daily-cycle";
import { simulatedCustodianBank } from "./simulated-bank";
import { createSnapshotTask } from "./solvency-task";
import { ConfigError, parseEscrowAccounts, parseFeeSchedule, type StackConfig } from "./config";

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
  /** Maker of dual-control operations; reviews alerts and explains reconciliation breaks. */
  operator: string;
  /** Approves or rejects what an operator proposed (never its own). */
  checker: string;
}

/** The bank account the simulated custodian bank keeps for the demo's `bank-eur` mirror account. */
export const SIMULATED_BANK_ACCOUNTS: Readonly<Record<string, string>> = {
  DE89370400440532013000: "bank-eur",
};

export interface RunningStack {
  config: StackConfig;
  apiUrl: string;
  webUrl: string;
  rpcUrl: string;
  chainId: number;
  deployment: Deployment;
  /** API keys created on first start (embedded mode); plaintext exists only in `<dataDir>/api-keys.json`. */
  apiKeys: DemoKeys;
  /** True on a start that created API keys (the only time they are printed). */
  apiKeysCreated: boolean;
  /** The roles whose keys this start created. */
  apiKeysNew: (keyof DemoKeys)[];
  db: Database;
  ledger: Ledger;
  /** The log, read-only (the stack's integrator appends). */
  log: LogReader;
  relayer: Relayer;
  registry: Registry;
  /** Business time (simulated when `daySeconds` > 0). */
  clock: StackClock;
  bank: CustodianBank;
  risk: RiskService;
  /** Absent when the deployment has no CustodySolvency. */
  snapshots?: SolvencySnapshots;
  watcher?: SolvencyWatcher;
  cycle: DailyCycle;
  /** Called with what the daily cycle did (statements, reconciliations, attestations, snapshots). */
  onCycleEvent?: (
    e:
      | DailyCycleEvent
      | { kind: "snapshot"; day: string; detail: { asset: string; logSize: number; rootSum: bigint } },
  ) => void;
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

/** The witness's secp256k1 anchor key file (0x + 64 hex, 0600), created on first use; returns its account. */
function anchorKeyFile(file: string) {
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(file, generatePrivateKey() + "\n", { mode: 0o600, flag: "wx" });
  }
  return loadAnchorKey(file);
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

const KEY_ROLES = ["platform", "auditor", "operator", "checker"] as const;

/** The stack's API keys, one per role, in a 0600 file; a role missing from it gets its key now. */
async function apiKeysOf(
  db: Database,
  file: string,
): Promise<{ keys: DemoKeys; created: (keyof DemoKeys)[] }> {
  const keys = (fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : {}) as Partial<DemoKeys>;
  const created: (keyof DemoKeys)[] = [];
  for (const role of KEY_ROLES) {
    if (keys[role]) continue;
    keys[role] = (await createApiKey(db, { role })).key;
    created.push(role);
  }
  if (created.length > 0) fs.writeFileSync(file, JSON.stringify(keys, null, 2) + "\n", { mode: 0o600 });
  return { keys: keys as DemoKeys, created };
}

/** Reads a setting's file, or names the setting that points at a missing file. */
function settingFile(file: string, setting: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (cause) {
    throw new ConfigError(`${setting}: cannot read ${file}`, { details: String(cause), cause });
  }
}

/** `IBAN=ledgerAccount,…` → a map (the same pair syntax as escrowAccounts). */
function bankAccountsOf(config: StackConfig): Record<string, string> {
  const map = parseEscrowAccounts(config.bankAccounts);
  return config.simulatedBank && Object.keys(map).length === 0 ? { ...SIMULATED_BANK_ACCOUNTS } : map;
}

function webhookOf(config: StackConfig): WebhookOptions | undefined {
  if (!config.webhookUrl) return undefined;
  const secret = process.env[config.webhookSecretEnv];
  if (!secret)
    throw new StackStartError(`a webhook URL needs its HMAC secret in $${config.webhookSecretEnv}`, {
      details: "the secret is read from the environment only, never from a file in the repository",
    });
  return { url: config.webhookUrl, secret };
}

/** The first business day of this data folder (kept, so a restart catches up on missed days). */
function firstDayOf(dataDir: string, now: number): string {
  const file = path.join(dataDir, "first-day.txt");
  if (fs.existsSync(file)) return fs.readFileSync(file, "utf8").trim();
  const day = dayOf(now);
  fs.writeFileSync(file, day + "\n", { mode: 0o600 });
  return day;
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
    const clock = stackClock(config.daySeconds, path.join(config.dataDir, "clock.json"));
    const firstDay = firstDayOf(config.dataDir, clock.now());
    const riskRules = config.riskRules ? settingFile(config.riskRules, "riskRules") : undefined;
    const webhook = webhookOf(config);
    const bankAccounts = bankAccountsOf(config);
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

    // 2. Contracts: the deployment file names them; the embedded chain gets them on first start
    // (with the bank witness's anchor key as the anchor contract's cosigner if asked).
    const bankAnchorKeyPath = path.join(config.dataDir, "witnesses", "bank.anchor.key");
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
        anchorCosigner: config.anchorCosigned ? anchorKeyFile(bankAnchorKeyPath).address : undefined,
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
      ...solvencyMigrations,
    ]);
    const pseudonymKey = pseudonymKeyOf(config);
    const ledger = await openLedger(db, {
      pseudonymKey,
      feeSchedule: parseFeeSchedule(config.feeSchedule),
      clock: clock.now,
      postgresGroups: { accountCacheSize: config.pgAccountCache },
    });
    // Before anything is written: a process with another key would fork every pseudonym.
    await ensurePseudonymKey(db, pseudonymKey);
    const logStore = await openLogStore(db);
    // On PostgreSQL every proof would otherwise cost a round trip per leaf tile until the slab has
    // seen it: load the stored full leaf tiles once, in the background (the API serves meanwhile).
    if (db.kind === "postgres") {
      const t0 = Date.now();
      logStore.warmLeafTiles().then(
        (r) => log.info({ tiles: r.tiles, bytes: r.bytes, ms: Date.now() - t0 }, "leaf tiles loaded"),
        (err) => log.warn({ error: String(err) }, "loading leaf tiles failed; proofs read them on demand"),
      );
    }
    // The custodian bank's statements: API route, and an inbox folder watched for statement files.
    const bank = await openCustodianBank({
      db,
      ledger,
      bankAccounts,
      toleranceDays: config.reconcileToleranceDays,
      clock: clock.now,
    });
    await bank.completePending();
    const inboxDir = path.join(config.dataDir, "bank-inbox");
    const inbox = watchStatementInbox(bank, inboxDir, {
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
    let bankWitnessUrl = "";
    for (const [i, who] of ["bank", "auditor"].entries()) {
      const keyFile = path.join(config.dataDir, "witnesses", `${who}.key`);
      const witness = await openWitness({
        keyFile,
        policyFile,
        stateFile: path.join(config.dataDir, "witnesses", `${who}.state.json`),
        anchorKeyFile: who === "bank" && config.anchorCosigned ? bankAnchorKeyPath : undefined,
        publicClient: clients.publicClient,
      });
      const ws = await startWitnessServer(witness, { host: "127.0.0.1", port: 0, origins: [witness.origin] });
      cleanups.push(() => ws.close());
      if (who === "bank") bankWitnessUrl = ws.url;
      witnessEndpoints.push({
        name: witness.name,
        url: ws.url,
        vkey: suggestedTrustPolicy.witnesses.vkeys[i],
      });
    }

    // 5. The log's one writer: appends committed events in a loop; the relayer asks it for a round
    // before anchoring. Everyone else gets its read-only reader.
    const integrator = createLogIntegrator({
      source: ledger,
      store: logStore,
      // Several processes on one PostgreSQL log: one appends in the background (the relayer's
      // leader still asks its own process for a round before anchoring).
      ...(db.kind === "postgres"
        ? { lease: createPgAdvisoryLease(config.dbUrl, { name: "log-integrator" }) }
        : {}),
      onError: (err) => relayerLog.error({ error: String(err) }, "log integration failed; retrying"),
    });
    integrator.start();
    cleanups.push(() => integrator.stop());

    // 6. Risk: the rules engine follows committed events with its own cursor, evaluating them on a
    // thread of its own (so the ledger's writer never shares its thread with it); alerts, dual
    // control and the outbox stay here. The rule file seeds the rules at start (a higher revision
    // activates); later changes go through a rules_change approval.
    const registry = new Registry();
    collectDefaultMetrics({ register: registry, prefix: "custody_process_" });
    let relayerRef: Relayer | undefined;
    // SQLite: the risk tables in a file of their own, so the engine's commits leave the ledger's
    // write lock and caches alone (src/risk/database.ts).
    const riskDb = await openRiskDatabase(db);
    cleanups.push(() => riskDb.close());
    const engine = await RiskEngine.open(riskDb.db, ledger, ledger, {
      rules: riskRules,
      metrics: registry,
      webhook,
      clock: clock.now,
      pollIntervalMs: 200,
    });
    const engineThread = await RiskEngineThread.start({
      main: engine,
      databaseUrl: config.dbUrl,
      pseudonymKey,
      onCommit: (listener) => ledger.onCommit(listener),
      clock: clock.linear,
      pollIntervalMs: 200,
      // In real seconds, whatever the business clock's speed.
      anchorLagSeconds: () => {
        const lag = relayerRef?.status().lagSeconds;
        return lag === undefined ? undefined : lag / clock.speed;
      },
      webhook,
      onError: (err) => relayerLog.error({ error: String(err) }, "risk engine thread failed; restarting it"),
    });
    cleanups.push(() => engineThread.stop());
    // A fee schedule approved under dual control outlives restarts: it overrides the configured one.
    const approvedFees = await storedFeeSchedule(engine.runner);
    if (approvedFees) ledger.setFeeSchedule(approvedFees);
    // Escrow overrides need the custodian's key: only the local chain's dev custodian has it here.
    const escrowOverride = embedded
      ? {
          ...(createChainClients({
            rpcUrl,
            chainId,
            account: devAccount(DEV_ROLES.custodian),
          }) as SigningClients),
          escrow: deployment.custodyEscrow as Address,
        }
      : undefined;
    const risk = new RiskService(
      engine,
      new Approvals(engine.runner, ledgerExecutors(ledger, engine, {}, escrowOverride), clock.now),
      ledger,
      clock.now,
    );
    registerLedgerWriteMetrics(registry, ledger);
    new Gauge({
      name: "custody_risk_lag_events",
      help: "Committed ledger events the rules engine has not evaluated yet.",
      registers: [registry],
      async collect() {
        this.set(Math.max(0, (await ledger.eventCount()) - engine.cursor));
      },
    });

    // 7. Solvency: daily liabilities snapshots (committed from the relayer's loop) and the watcher
    // that turns on-chain attestations into facts and shortfalls into the alarm.
    const solvencyAddress = deployment.custodySolvency;
    let snapshots: SolvencySnapshots | undefined;
    const snapshotTask = solvencyAddress
      ? createSnapshotTask({
          clock: clock.now,
          firstDay,
          ledger,
          snapshots: () => snapshots!,
          anchoredSize: async () => (await relayerRef?.anchors.latestFinal())?.treeSize,
          solvency: solvencyAddress,
          log: relayerLog,
          onSnapshot: (x) => running?.onCycleEvent?.({ kind: "snapshot", day: x.day, detail: x }),
        })
      : undefined;
    if (snapshotTask) {
      const masterSecret = process.env[config.solvencySecretEnv]
        ? parsePseudonymKey(process.env[config.solvencySecretEnv]!, `$${config.solvencySecretEnv}`)
        : secretFile(path.join(config.dataDir, "solvency.key"), 32);
      snapshots = new SolvencySnapshots({
        db,
        ledger,
        masterSecret,
        minHeight: config.snapshotMinHeight,
        facts: ledger,
        commit: snapshotTask.commit,
        chain: { chainId, solvencyContract: solvencyAddress! },
        clock: clock.now,
      });
    } else {
      log.warn({}, "the deployment has no CustodySolvency: no liabilities snapshots");
    }
    const watcher = solvencyAddress
      ? new SolvencyWatcher({
          db,
          publicClient: clients.publicClient,
          address: solvencyAddress,
          fromBlock: deployment.deploymentBlock,
          facts: ledger,
          metrics: registry,
        })
      : undefined;
    let running: RunningStack | undefined;

    // 8. Relayer.
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
      // The relayer measures ages in ledger (business) time; intervals given in real time scale up.
      now: clock.now,
      policy: {
        batchSize: config.anchorBatchSize,
        maxBatch: config.anchorBatchSize,
        maxDelayMs: config.anchorIntervalMs * clock.speed,
      },
      requiredRoles,
      confirmations: config.confirmations,
      registry,
      log: relayerLog,
      anchorCosigner:
        config.anchorCosigned || config.anchorCosigner
          ? {
              url: config.anchorCosigned ? bankWitnessUrl : config.anchorCosigner,
              signer: logSigner,
              origin: logSigner.name,
            }
          : undefined,
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
        ...(snapshotTask ? [snapshotTask] : []),
      ],
    });
    relayerRef = relayer;
    relayer.start();
    cleanups.push(() => relayer.stop());

    // 9. API with the receipt page.
    const webDir = await buildWeb();
    const { keys: apiKeys, created: apiKeysNew } = await apiKeysOf(
      db,
      path.join(config.dataDir, "api-keys.json"),
    );
    const app = createApiApp({
      ledger,
      log: integrator.reader,
      // Receipts name only heads this process has read from the chain (a restarted local chain may
      // have lost the newest ones before the relayer's mirror knows it).
      anchors: new ChainCheckedAnchors(relayer.anchors, {
        publicClient: clients.publicClient,
        contract: deployment.custodyAnchor as Address,
        chainId,
        onError: (err) => relayerLog.debug({ error: String(err) }, "anchored head not confirmed on chain"),
      }),
      relayerStatus: relayer,
      chain: { publicClient: clients.publicClient, deployment, rpcUrl },
      auth: openApiKeyStore(db),
      bank,
      risk,
      solvency: snapshots,
      solvencyStatus: watcher,
      webDir,
      metrics: registry,
      logger: apiLogger,
      options: {
        escrowAccounts: parseEscrowAccounts(config.escrowAccounts),
        maxRiskLagEvents: config.maxRiskLagEvents,
        // The relayer's lag is in business seconds: the 300 s limit is real time.
        maxRelayerLagSeconds: 300 * clock.speed,
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

    // 10. The daily cycle: statements in, reconciliation, the bank's attestation, the watcher.
    const cycle = createDailyCycle({
      clock: clock.now,
      firstDay,
      bank,
      inbox,
      simulatedBank: config.simulatedBank
        ? simulatedCustodianBank({
            db,
            ledger,
            accounts: bankAccounts,
            inboxDir,
            stateFile: path.join(config.dataDir, "simulated-bank.json"),
          })
        : undefined,
      // On the local chain the dev custodian key plays the bank; elsewhere the bank attests itself.
      custodian: embedded
        ? (createChainClients({
            rpcUrl,
            chainId,
            account: devAccount(DEV_ROLES.custodian),
          }) as SigningClients)
        : undefined,
      publicClient: clients.publicClient,
      solvency: solvencyAddress,
      watcher,
      // So the log holds the liabilities before the reserves they are compared with.
      snapshotCommitted: async (asset, day) =>
        !snapshots || !!(await snapshots.find(snapshotIdOf(asset, day)))?.commitTx,
      log: relayerLog,
      onEvent: (e) => running?.onCycleEvent?.(e),
    });
    cycle.start(config.cycleIntervalMs);
    cleanups.push(() => cycle.stop());
    running = {
      config,
      apiUrl,
      webUrl: `${apiUrl}/`,
      rpcUrl,
      chainId,
      deployment,
      apiKeys,
      apiKeysCreated: apiKeysNew.length > 0,
      apiKeysNew,
      db,
      ledger,
      log: integrator.reader,
      relayer,
      registry,
      clock,
      bank,
      risk,
      snapshots,
      watcher,
      cycle,
      stop: stopAll,
    };
    return running;
  } catch (e) {
    await stopAll();
    throw e;
  }
}
