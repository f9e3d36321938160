import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { Command } from "commander";
import { createWalletClient, http, type Address } from "viem";
import {
  type AuditEventSource,
  type AuditReport,
  apiEventSource,
  attestAudit,
  auditReportHash,
  canonicalReport,
  chainReader,
  databaseEventSource,
  formatAuditSummary,
  runAudit,
  withModuleAudits,
  type ModuleAuditJson,
} from "../audit";
import { AuditAttestationError } from "../audit/errors";
import { readDeployment } from "../chain/deployment";
import { loadSigner } from "../chain/keys";
import { closeDatabase, openDatabase, type Database } from "../db/database";
import { checkPseudonyms, type PseudonymMismatch } from "../ledger/pseudonym-key";
import { CliUsageError, EXIT_INVALID, EXIT_VALID, type CliContext } from "./context";
import { runModuleAudits } from "./audit-modules";
import { guard } from "./guard";
import { auditProgressBar } from "./progress";
import {
  parseChainIdOption,
  parseContractOption,
  parseUrlOption,
  PSEUDONYM_KEY_ENV,
  readPseudonymKeyOption,
} from "./options";

interface AuditOptions {
  rpc: string;
  db?: string;
  api?: string;
  key?: string;
  deployment?: string;
  contract?: string;
  escrow?: string;
  solvency?: string;
  solvencySecretEnv: string;
  chainId?: string;
  out?: string;
  json?: boolean;
  attest?: boolean;
  auditorKeyEnv: string;
  keystore?: string;
  keystorePasswordEnv?: string;
  progress?: boolean;
  pseudonymKeyEnv: string;
  pseudonymKeyFile?: string;
}

/**
 * `custody audit --rpc URL (--db PATH|URL | --api URL --key K) (--deployment FILE | --contract ADDR)`
 * Exit codes: 0 the audit passed, 1 it found a discrepancy, 2 usage or I/O error (no verdict).
 */
/**
 * Where `custody audit` writes its report without `--out`: in the data folder `npm start` uses
 * (git-ignored), not in the current folder, where it could be committed by mistake.
 */
export function defaultAuditReportPath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.CUSTODY_DATA_DIR || ".data", "audit", "custody-audit-report.json");
}

export function auditCommand(ctx: CliContext): Command {
  return new Command("audit")
    .description(
      "Full audit: fetch every event, recompute leaf hashes, rebuild the tree, check every anchored head " +
        "(root at its size, consistency of consecutive heads), replay the ledger and recheck its invariants " +
        "(double entry, no negative balance, segregation, escrow holds resolved as the chain decided). " +
        "Trusts only the chain and the raw events.",
    )
    .requiredOption("--rpc <url>", "JSON-RPC endpoint of a node of the chain")
    .option("--db <path|url>", "the ledger database: a SQLite file or a postgres:// URL")
    .option("--api <url>", "the platform API (base URL), read with an auditor key")
    .option("--key <key>", "API key with the auditor role (with --api)")
    .option("--deployment <file>", "custody-deployment-v1 file naming the contracts")
    .option("--contract <address>", "the CustodyAnchor address (instead of --deployment)")
    .option("--escrow <address>", "the CustodyEscrow address (with --contract)")
    .option(
      "--solvency <address>",
      "the CustodySolvency address (with --contract; default: the deployment's), to compare snapshots with their commitments",
    )
    .option(
      "--solvency-secret-env <var>",
      "with --db: environment variable holding the hex solvency master secret; every snapshot tree is rebuilt",
      "CUSTODY_SOLVENCY_SECRET",
    )
    .option("--chain-id <id>", "the chain id you expect")
    .option(
      "--out <file>",
      "where to write the JSON report (default: <data dir>/audit/custody-audit-report.json, the data dir " +
        "being $CUSTODY_DATA_DIR or ./.data, as for npm start; never the current folder)",
    )
    .option("--json", "print the JSON report on stdout instead of the summary")
    .option("--attest", "record the report hash on chain (CustodyAnchor.attest) with the auditor key")
    .option(
      "--auditor-key-env <var>",
      "environment variable holding the auditor's private key",
      "CUSTODY_AUDITOR_KEY",
    )
    .option("--keystore <file>", "encrypted JSON keystore of the auditor key (if the variable is unset)")
    .option("--keystore-password-env <var>", "environment variable holding the keystore password")
    .option(
      "--pseudonym-key-env <var>",
      "with --db: environment variable holding the hex pseudonym key; every pseudonym is recomputed",
      PSEUDONYM_KEY_ENV,
    )
    .option(
      "--pseudonym-key-file <file>",
      "with --db: file holding the hex pseudonym key (if the variable is unset)",
    )
    .option("--progress", "always draw the progress bar (default: when stderr is a terminal)")
    .option("--no-progress", "never draw the progress bar")
    .addHelpText(
      "after",
      "\nExit codes: 0 passed, 1 discrepancy found (the first bad index or head is named), 2 usage or I/O error.",
    )
    .action((opts: AuditOptions) =>
      guard(ctx, async () => {
        const rpcUrl = parseUrlOption("--rpc", opts.rpc);
        if (!!opts.db === !!opts.api) throw new CliUsageError("give exactly one of --db and --api");
        if (opts.api && !opts.key) throw new CliUsageError("--api needs --key (an auditor API key)");
        let anchor: Address | undefined;
        let escrow: Address | undefined;
        let solvency: Address | undefined = parseContractOption(opts.solvency);
        let chainId = parseChainIdOption(opts.chainId);
        if (opts.deployment) {
          if (opts.contract) throw new CliUsageError("give --deployment or --contract, not both");
          const d = readDeployment(opts.deployment);
          anchor = d.custodyAnchor;
          escrow = d.custodyEscrow;
          solvency ??= d.custodySolvency;
          if (chainId !== undefined && chainId !== d.chainId)
            throw new CliUsageError(`--chain-id ${chainId} contradicts the deployment's chain ${d.chainId}`);
          chainId = d.chainId;
        } else {
          anchor = parseContractOption(opts.contract);
          escrow = parseContractOption(opts.escrow);
          if (!anchor) throw new CliUsageError("give --deployment FILE or --contract ADDRESS");
        }
        // Load the signer before the (long) audit, so a missing key fails fast.
        const signer = opts.attest
          ? await loadSigner({
              envVar: opts.auditorKeyEnv,
              keystorePath: opts.keystore,
              password: opts.keystorePasswordEnv ? process.env[opts.keystorePasswordEnv] : undefined,
            })
          : undefined;
        const pseudonymKey = opts.db ? await readPseudonymKeyOption(opts) : undefined;
        const solvencySecret = opts.db ? solvencySecretOf(opts.solvencySecretEnv) : undefined;
        const chain = await chainReader({ rpcUrl, custodyAnchor: anchor, custodyEscrow: escrow, chainId });
        let db: Database | undefined;
        let events: AuditEventSource;
        if (opts.db) {
          db = openDatabase(opts.db);
          events = databaseEventSource(db);
        } else events = apiEventSource({ url: parseUrlOption("--api", opts.api!), key: opts.key! });
        const draw = opts.progress ?? process.stderr.isTTY === true;
        const progress = draw
          ? auditProgressBar(process.stderr, opts.progress === true)
          : { update() {}, done() {} };
        let report: AuditReport & { pseudonyms?: { checked: number; mismatches: PseudonymMismatch[] } };
        let pseudonyms: { checked: number; mismatches: PseudonymMismatch[] } | undefined;
        let modules: ModuleAuditJson[] = [];
        try {
          report = await runAudit({ events, chain, onProgress: progress.update });
          if (db && pseudonymKey) pseudonyms = await checkPseudonyms(db, pseudonymKey);
          // Bank reconciliations, solvency snapshots and the risk trail, where the database holds them.
          if (db)
            modules = await runModuleAudits({
              db,
              ...(solvencySecret ? { solvencySecret } : {}),
              ...(solvency ? { solvencyChain: { client: chain.client, address: solvency } } : {}),
            });
        } finally {
          progress.done();
          if (db) await closeDatabase(db);
        }
        if (pseudonyms) {
          // Pseudonyms made with another key pass every other check: they still hash and replay.
          report = {
            ...report,
            passed: report.passed && pseudonyms.mismatches.length === 0,
            pseudonyms: { checked: pseudonyms.checked, mismatches: pseudonyms.mismatches.slice(0, 100) },
          };
        }
        if (opts.db) report = withModuleAudits(report, modules);
        const reportHash = auditReportHash(report);
        const out = opts.out ?? defaultAuditReportPath();
        try {
          if (!opts.out) await mkdir(path.dirname(out), { recursive: true, mode: 0o700 });
          await writeFile(out, JSON.stringify(report, null, 2) + "\n", { mode: 0o600 });
        } catch (err) {
          throw new CliUsageError(
            `cannot write ${out}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
          );
        }
        if (opts.json) ctx.out(canonicalReport(report));
        else ctx.out(`${formatAuditSummary(report)}\n\nreport ${out}\nreport hash ${reportHash}`);
        if (!opts.json) ctx.out(pseudonymSummary(pseudonyms, !!opts.db));
        if (signer) {
          const head = report.heads.latest;
          if (!head) throw new AuditAttestationError("nothing to attest: no head is anchored");
          const walletClient = createWalletClient({
            account: signer,
            transport: http(rpcUrl),
            chain: chain.client.chain,
          });
          const tx = await attestAudit({
            publicClient: chain.client,
            walletClient,
            custodyAnchor: anchor,
            headIndex: head.headIndex,
            reportHash,
            passed: report.passed,
          });
          ctx.err(
            `attested head ${head.headIndex} (${report.passed ? "passed" : "failed"}) by ${signer.address} in ${tx}`,
          );
        }
        ctx.exitCode = report.passed ? EXIT_VALID : EXIT_INVALID;
      }),
    );
}

/** The solvency master secret from `$var` (hex, at least 32 bytes), if set. */
function solvencySecretOf(envVar: string): Uint8Array | undefined {
  const text = process.env[envVar];
  if (!text) return undefined;
  const hex = text.trim().replace(/^0x/, "");
  if (!/^([0-9a-fA-F]{2}){32,}$/.test(hex))
    throw new CliUsageError(`$${envVar} must be the hex solvency master secret (at least 32 bytes)`);
  return Buffer.from(hex, "hex");
}

function pseudonymSummary(
  p: { checked: number; mismatches: PseudonymMismatch[] } | undefined,
  withDb: boolean,
): string {
  if (!p)
    return withDb
      ? "pseudonyms    not checked (no key: set $CUSTODY_PSEUDONYM_KEY or --pseudonym-key-file)"
      : "pseudonyms    not checked (needs --db and the key)";
  if (p.mismatches.length === 0) return `pseudonyms    ok (${p.checked} recomputed with the key)`;
  const m = p.mismatches[0]!;
  const where = m.where === "account" ? `account ${m.id}` : `event ${m.sequence} (${m.field} of ${m.id})`;
  return `pseudonyms    FAILED: ${p.mismatches.length} differ from the key; first: ${where}`;
}
