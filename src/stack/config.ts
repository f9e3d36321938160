import fs from "node:fs";
import path from "node:path";
import { InvalidArgumentError } from "../errors";
import type { FeeRule, FeeSchedule } from "../ledger/types";

/**
 * Configuration of the one-process stack (`npm start`). Every setting comes, in increasing order of
 * precedence, from its default, a JSON config file (`--config` or CUSTODY_CONFIG), an environment
 * variable, and a command-line flag. The table below is the single source for `--help` and the README.
 */
export interface StackConfig {
  /** Folder for everything the embedded stack keeps: ledger, chain state, deployment, keys. */
  dataDir: string;
  /** `postgres://…` or a SQLite file path. Default: `<dataDir>/ledger.sqlite`. */
  dbUrl: string;
  /** External JSON-RPC endpoint; empty = start a local anvil node with its state in `<dataDir>/chain`. */
  rpcUrl: string;
  /** Port of the local anvil node (only when `rpcUrl` is empty). */
  chainPort: number;
  /** Seconds between blocks of the local node (0 = a block per transaction). */
  blockTime: number;
  /** Deployment file (custody-deployment-v1). Missing with a local node: the contracts are deployed. */
  deploymentPath: string;
  apiHost: string;
  apiPort: number;
  /** Entries per anchor at most; an anchor is sent when this many are pending or `anchorIntervalMs` passed. */
  anchorBatchSize: number;
  anchorIntervalMs: number;
  /** Blocks an anchor must be deep before it counts as final. */
  confirmations: number;
  /** Relayer signing key: env var name holding a 0x key, or a keystore file + password env var. */
  relayerKeyEnv: string;
  relayerKeystore: string;
  relayerKeystorePasswordEnv: string;
  /** Hex HMAC key for pseudonymous ids; empty = generated once into `<dataDir>/pseudonym.key`. */
  pseudonymKeyEnv: string;
  /** Escrow account per asset, `ASSET=accountId` pairs separated by commas. */
  escrowAccounts: string;
  /** Fee schedule as JSON: `{ "<code>": { "asset": "EUR", "fixed"?: "25", "basisPoints"?: 150, "min"?: "0", "max"?: "1000" } }`. */
  feeSchedule: string;
  /** Run the demo workload (accounts, transfers, fees, an escrow lifecycle). */
  demo: boolean;
  /** API requests per second per key, and per client address before authentication (0 = no limit). */
  rateLimit: number;
  /** Requests a caller may send at once before the rate applies. */
  rateBurst: number;
  /** Real seconds per simulated business day (0 = the wall clock). */
  daySeconds: number;
  /** How often the daily cycle (statements, reconciliation, snapshots, attestations) looks for work. */
  cycleIntervalMs: number;
  /** Bank account id (IBAN or other) per custodian-mirror ledger account, `IBAN=accountId` pairs. */
  bankAccounts: string;
  /** Days a value date may differ when matching bank entries without an end-to-end id. */
  reconcileToleranceDays: number;
  /** Embedded chain only: a simulated custodian bank writes each day's camt.053 into the inbox. */
  simulatedBank: boolean;
  /** Env var holding the hex HKDF master secret of liabilities snapshots; empty = `<dataDir>/solvency.key`. */
  solvencySecretEnv: string;
  /** Smallest liabilities tree height (the published bound on customers is 2^height). */
  snapshotMinHeight: number;
  /** Risk rule file (JSON or YAML, custody-risk-rules-v1); empty = the built-in PBOC defaults. */
  riskRules: string;
  /** Alerts are POSTed here, HMAC-signed (empty = no webhook). */
  webhookUrl: string;
  /** Env var holding the webhook's HMAC secret (required with webhookUrl; never logged). */
  webhookSecretEnv: string;
  /** /v1/ready fails when the rules engine is more than this many events behind the ledger. */
  maxRiskLagEvents: number;
  /** PostgreSQL: account rows the ledger keeps for checked writes (docs/ledger.md); 0 = lock every time. */
  pgAccountCache: number;
  /**
   * Embedded chain only, opt-in: deploy CustodyAnchor with the bank witness's secp256k1 anchor key
   * (`<dataDir>/witnesses/bank.anchor.key`) as cosigner, and anchor every head through it.
   */
  anchorCosigned: boolean;
  /** External chain: URL of the custodian witness that cosigns each head (contract deployed with a cosigner). */
  anchorCosigner: string;
}

export interface SettingSpec {
  key: keyof StackConfig;
  flag: string;
  env: string;
  kind: "string" | "int" | "bool";
  help: string;
}

export const SETTINGS: readonly SettingSpec[] = [
  {
    key: "dataDir",
    flag: "--data-dir",
    env: "CUSTODY_DATA_DIR",
    kind: "string",
    help: "data folder (default ./.data)",
  },
  {
    key: "dbUrl",
    flag: "--db",
    env: "CUSTODY_DB_URL",
    kind: "string",
    help: "SQLite path or postgres:// URL (default <data-dir>/ledger.sqlite)",
  },
  {
    key: "rpcUrl",
    flag: "--rpc",
    env: "CUSTODY_RPC_URL",
    kind: "string",
    help: "external chain JSON-RPC URL (default: start a local anvil node)",
  },
  {
    key: "chainPort",
    flag: "--chain-port",
    env: "CUSTODY_CHAIN_PORT",
    kind: "int",
    help: "port of the local chain node (default 8545)",
  },
  {
    key: "blockTime",
    flag: "--block-time",
    env: "CUSTODY_BLOCK_TIME",
    kind: "int",
    help: "local chain: seconds per block, 0 = instant (default 1)",
  },
  {
    key: "deploymentPath",
    flag: "--deployment",
    env: "CUSTODY_DEPLOYMENT",
    kind: "string",
    help: "deployment file (default <data-dir>/deployment.json)",
  },
  {
    key: "apiHost",
    flag: "--host",
    env: "CUSTODY_API_HOST",
    kind: "string",
    help: "API listen address (default 127.0.0.1)",
  },
  { key: "apiPort", flag: "--port", env: "CUSTODY_API_PORT", kind: "int", help: "API port (default 8080)" },
  {
    key: "anchorBatchSize",
    flag: "--batch-size",
    env: "CUSTODY_ANCHOR_BATCH_SIZE",
    kind: "int",
    help: "max entries per anchor (default 10000)",
  },
  {
    key: "anchorIntervalMs",
    flag: "--anchor-interval-ms",
    env: "CUSTODY_ANCHOR_INTERVAL_MS",
    kind: "int",
    help: "anchor pending entries at least this often (default 2000)",
  },
  {
    key: "confirmations",
    flag: "--confirmations",
    env: "CUSTODY_CONFIRMATIONS",
    kind: "int",
    help: "confirmation depth of an anchor (default 0)",
  },
  {
    key: "relayerKeyEnv",
    flag: "--relayer-key-env",
    env: "CUSTODY_RELAYER_KEY_ENV",
    kind: "string",
    help: "name of the env var holding the relayer key (default CUSTODY_RELAYER_KEY)",
  },
  {
    key: "relayerKeystore",
    flag: "--relayer-keystore",
    env: "CUSTODY_RELAYER_KEYSTORE",
    kind: "string",
    help: "encrypted JSON keystore of the relayer key",
  },
  {
    key: "relayerKeystorePasswordEnv",
    flag: "--relayer-keystore-password-env",
    env: "CUSTODY_RELAYER_KEYSTORE_PASSWORD_ENV",
    kind: "string",
    help: "env var holding the keystore password (default CUSTODY_RELAYER_KEYSTORE_PASSWORD)",
  },
  {
    key: "pseudonymKeyEnv",
    flag: "--pseudonym-key-env",
    env: "CUSTODY_PSEUDONYM_KEY_ENV",
    kind: "string",
    help: "env var holding the hex HMAC key for pseudonyms (default CUSTODY_PSEUDONYM_KEY)",
  },
  {
    key: "escrowAccounts",
    flag: "--escrow-accounts",
    env: "CUSTODY_ESCROW_ACCOUNTS",
    kind: "string",
    help: "escrow account per asset, e.g. EUR=escrow-eur,USD=escrow-usd (default EUR=escrow-eur)",
  },
  {
    key: "feeSchedule",
    flag: "--fee-schedule",
    env: "CUSTODY_FEE_SCHEDULE",
    kind: "string",
    help: 'fee schedule JSON (default {"standard":{"asset":"EUR","basisPoints":100,"max":"10000"}})',
  },
  { key: "demo", flag: "--demo", env: "CUSTODY_DEMO", kind: "bool", help: "run the demo workload" },
  {
    key: "rateLimit",
    flag: "--rate-limit",
    env: "CUSTODY_RATE_LIMIT",
    kind: "int",
    help: "API requests/s per key and per client address; shared by all processes on PostgreSQL; 0 = off (default 50)",
  },
  {
    key: "rateBurst",
    flag: "--rate-burst",
    env: "CUSTODY_RATE_BURST",
    kind: "int",
    help: "requests a caller may send at once (default 100)",
  },
  {
    key: "daySeconds",
    flag: "--day-seconds",
    env: "CUSTODY_DAY_SECONDS",
    kind: "int",
    help: "simulated business day length in real seconds; 0 = wall clock (default 0; the demo uses 60)",
  },
  {
    key: "cycleIntervalMs",
    flag: "--cycle-interval-ms",
    env: "CUSTODY_CYCLE_INTERVAL_MS",
    kind: "int",
    help: "how often the daily cycle (reconciliation, snapshots, attestations) looks for a finished day (default 10000)",
  },
  {
    key: "bankAccounts",
    flag: "--bank-accounts",
    env: "CUSTODY_BANK_ACCOUNTS",
    kind: "string",
    help: "bank account per custodian-mirror account, e.g. DE89370400440532013000=bank-eur (default: each mirror's metadata.bankAccount)",
  },
  {
    key: "reconcileToleranceDays",
    flag: "--reconcile-tolerance-days",
    env: "CUSTODY_RECONCILE_TOLERANCE_DAYS",
    kind: "int",
    help: "value-date tolerance when matching bank entries without an end-to-end id (default 1)",
  },
  {
    key: "anchorCosigned",
    flag: "--anchor-cosigned",
    env: "CUSTODY_ANCHOR_COSIGNED",
    kind: "bool",
    help: "local chain only, first start: the anchor contract needs the bank witness's cosignature on every head",
  },
  {
    key: "anchorCosigner",
    flag: "--anchor-cosigner",
    env: "CUSTODY_ANCHOR_COSIGNER",
    kind: "string",
    help: "URL of the custodian witness that cosigns each head (for an anchor contract deployed with a cosigner)",
  },
  {
    key: "simulatedBank",
    flag: "--simulated-bank",
    env: "CUSTODY_SIMULATED_BANK",
    kind: "bool",
    help: "local chain only: a simulated custodian bank sends a camt.053 statement every day (on with --demo)",
  },
  {
    key: "solvencySecretEnv",
    flag: "--solvency-secret-env",
    env: "CUSTODY_SOLVENCY_SECRET_ENV",
    kind: "string",
    help: "env var holding the hex master secret of liabilities snapshots (default CUSTODY_SOLVENCY_SECRET; else <data-dir>/solvency.key)",
  },
  {
    key: "snapshotMinHeight",
    flag: "--snapshot-min-height",
    env: "CUSTODY_SNAPSHOT_MIN_HEIGHT",
    kind: "int",
    help: "smallest liabilities tree height; 2^height bounds the published customer count (default 10)",
  },
  {
    key: "riskRules",
    flag: "--risk-rules",
    env: "CUSTODY_RISK_RULES",
    kind: "string",
    help: "risk rule file, JSON or YAML (default config/risk-rules.json); later changes go through a rules_change approval",
  },
  {
    key: "webhookUrl",
    flag: "--webhook-url",
    env: "CUSTODY_WEBHOOK_URL",
    kind: "string",
    help: "POST every alert here, HMAC-signed (default: no webhook)",
  },
  {
    key: "webhookSecretEnv",
    flag: "--webhook-secret-env",
    env: "CUSTODY_WEBHOOK_SECRET_ENV",
    kind: "string",
    help: "env var holding the webhook HMAC secret (default CUSTODY_WEBHOOK_SECRET)",
  },
  {
    key: "maxRiskLagEvents",
    flag: "--max-risk-lag",
    env: "CUSTODY_MAX_RISK_LAG",
    kind: "int",
    help: "/v1/ready fails when the rules engine is this many events behind (default 10000)",
  },
  {
    key: "pgAccountCache",
    flag: "--pg-account-cache",
    env: "CUSTODY_PG_ACCOUNT_CACHE",
    kind: "int",
    help: "PostgreSQL: account rows kept for checked writes; 0 = lock and load every time (default 100000)",
  },
];

export class ConfigError extends InvalidArgumentError {
  override name = "ConfigError";
}

function defaults(dataDir: string): StackConfig {
  return {
    dataDir,
    dbUrl: path.join(dataDir, "ledger.sqlite"),
    rpcUrl: "",
    chainPort: 8545,
    blockTime: 1,
    deploymentPath: path.join(dataDir, "deployment.json"),
    apiHost: "127.0.0.1",
    apiPort: 8080,
    anchorBatchSize: 10_000,
    anchorIntervalMs: 2000,
    confirmations: 0,
    relayerKeyEnv: "CUSTODY_RELAYER_KEY",
    relayerKeystore: "",
    relayerKeystorePasswordEnv: "CUSTODY_RELAYER_KEYSTORE_PASSWORD",
    pseudonymKeyEnv: "CUSTODY_PSEUDONYM_KEY",
    escrowAccounts: "EUR=escrow-eur",
    feeSchedule: JSON.stringify({ standard: { asset: "EUR", basisPoints: 100, max: "10000" } }),
    demo: false,
    rateLimit: 50,
    rateBurst: 100,
    daySeconds: 0,
    cycleIntervalMs: 10_000,
    bankAccounts: "",
    reconcileToleranceDays: 1,
    simulatedBank: false,
    solvencySecretEnv: "CUSTODY_SOLVENCY_SECRET",
    snapshotMinHeight: 10,
    riskRules: path.resolve(__dirname, "../../config/risk-rules.json"),
    webhookUrl: "",
    webhookSecretEnv: "CUSTODY_WEBHOOK_SECRET",
    maxRiskLagEvents: 10_000,
    pgAccountCache: 100_000,
    anchorCosigned: false,
    anchorCosigner: "",
  };
}

function parseValue(spec: SettingSpec, raw: unknown, source: string): string | number | boolean {
  if (spec.kind === "bool") {
    if (typeof raw === "boolean") return raw;
    if (raw === "1" || raw === "true" || raw === "") return true;
    if (raw === "0" || raw === "false") return false;
    throw new ConfigError(`${source}: ${spec.key} must be true or false`, { details: `got ${String(raw)}` });
  }
  if (spec.kind === "int") {
    const n = typeof raw === "number" ? raw : Number(raw);
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new ConfigError(`${source}: ${spec.key} must be a non-negative integer`, {
        details: `got ${String(raw)}`,
      });
    }
    return n;
  }
  if (typeof raw !== "string") throw new ConfigError(`${source}: ${spec.key} must be a string`);
  return raw;
}

/**
 * Resolves the configuration from defaults, the config file, the environment and flags.
 * `flags` holds values already parsed by the command line (keys of StackConfig).
 */
export function resolveConfig(
  flags: Partial<Record<keyof StackConfig, unknown>>,
  env: NodeJS.ProcessEnv = process.env,
  configFile?: string,
): StackConfig {
  const layers: { source: string; values: Partial<Record<keyof StackConfig, unknown>> }[] = [];
  const file = configFile ?? env.CUSTODY_CONFIG;
  if (file) {
    let json: unknown;
    try {
      json = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (cause) {
      throw new ConfigError(`cannot read config file ${file}`, { details: String(cause), cause });
    }
    if (typeof json !== "object" || json === null || Array.isArray(json)) {
      throw new ConfigError(`config file ${file} must hold a JSON object`);
    }
    for (const k of Object.keys(json)) {
      if (!SETTINGS.some((s) => s.key === k))
        throw new ConfigError(`config file ${file}: unknown setting ${k}`);
    }
    layers.push({ source: `config file ${file}`, values: json as Record<string, unknown> });
  }
  const fromEnv: Partial<Record<keyof StackConfig, unknown>> = {};
  for (const s of SETTINGS) if (env[s.env] !== undefined) fromEnv[s.key] = env[s.env];
  layers.push({ source: "environment", values: fromEnv });
  layers.push({ source: "command line", values: flags });

  // The data folder decides the other defaults, so it is resolved first.
  let dataDir = "./.data";
  for (const l of layers) if (l.values.dataDir !== undefined) dataDir = String(l.values.dataDir);
  const config = defaults(path.resolve(dataDir)) as unknown as Record<string, unknown>;
  for (const l of layers) {
    for (const s of SETTINGS) {
      const raw = l.values[s.key];
      if (raw !== undefined) config[s.key] = parseValue(s, raw, l.source);
    }
  }
  const c = config as unknown as StackConfig;
  c.dataDir = path.resolve(c.dataDir);
  if (c.apiPort > 65535 || c.chainPort > 65535) throw new ConfigError("ports must be at most 65535");
  if (c.anchorBatchSize < 1) throw new ConfigError("anchorBatchSize must be at least 1");
  if (c.reconcileToleranceDays > 31) throw new ConfigError("reconcileToleranceDays must be at most 31");
  if (c.snapshotMinHeight > 40) throw new ConfigError("snapshotMinHeight must be at most 40");
  if (c.cycleIntervalMs < 10) throw new ConfigError("cycleIntervalMs must be at least 10");
  if (c.anchorCosigned && c.rpcUrl)
    throw new ConfigError(
      "anchorCosigned needs the local chain; with an external chain, deploy with a cosigner and set anchorCosigner",
    );
  if (c.anchorCosigned && c.anchorCosigner)
    throw new ConfigError("anchorCosigned uses the embedded bank witness; do not also set anchorCosigner");
  if (c.anchorCosigner && !/^https?:\/\/\S+$/.test(c.anchorCosigner))
    throw new ConfigError("anchorCosigner must be an http(s) URL");
  if (c.demo) c.simulatedBank = true;
  if (c.simulatedBank && c.rpcUrl)
    throw new ConfigError("simulatedBank needs the local chain (its dev custodian key plays the bank)");
  return c;
}

/** The settings table for `--help`. */
export function settingsHelp(): string {
  const rows = SETTINGS.map((s) => `  ${s.flag.padEnd(34)} ${s.env.padEnd(40)} ${s.help}`);
  return [
    "Settings (flag, environment variable, meaning); a JSON config file may set them too (--config FILE or CUSTODY_CONFIG):",
    ...rows,
  ].join("\n");
}

/** `EUR=escrow-eur,USD=escrow-usd` → `{ EUR: "escrow-eur", USD: "escrow-usd" }`. */
export function parseEscrowAccounts(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = /^([\x21-\x7e]{1,32})=(.+)$/.exec(part);
    if (!m)
      throw new ConfigError("escrowAccounts must be ASSET=accountId pairs separated by commas", {
        details: `got ${part}`,
      });
    out[m[1]] = m[2];
  }
  return out;
}

/** The fee schedule JSON with amounts as decimal strings → the ledger's FeeSchedule (bigint amounts). */
export function parseFeeSchedule(text: string): FeeSchedule {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new ConfigError("feeSchedule is not valid JSON", { cause });
  }
  if (typeof json !== "object" || json === null || Array.isArray(json))
    throw new ConfigError("feeSchedule must be a JSON object");
  const amount = (code: string, k: string, v: unknown): bigint | undefined => {
    if (v === undefined) return undefined;
    if (typeof v !== "string" || !/^(0|[1-9][0-9]*)$/.test(v)) {
      throw new ConfigError(`feeSchedule.${code}.${k} must be a decimal string of minor units`, {
        details: `got ${String(v)}`,
      });
    }
    return BigInt(v);
  };
  const out: Record<string, FeeRule> = {};
  for (const [code, r] of Object.entries(json as Record<string, Record<string, unknown>>)) {
    if (typeof r !== "object" || r === null || typeof r.asset !== "string")
      throw new ConfigError(`feeSchedule.${code} needs an asset`);
    const bp = r.basisPoints;
    if (bp !== undefined && (typeof bp !== "number" || !Number.isInteger(bp) || bp < 0 || bp > 10_000)) {
      throw new ConfigError(`feeSchedule.${code}.basisPoints must be an integer in [0, 10000]`);
    }
    out[code] = {
      asset: r.asset,
      fixed: amount(code, "fixed", r.fixed),
      basisPoints: bp as number | undefined,
      min: amount(code, "min", r.min),
      max: amount(code, "max", r.max),
    };
  }
  return out;
}
