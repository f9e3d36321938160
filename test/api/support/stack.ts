import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createApiApp, startApiServer, type ApiServer, type ApiDeps } from "../../../src/api/app";
import { apiMigrations, createApiKey, openApiKeyStore, revokeApiKey } from "../../../src/api/auth/keys";
import { openCustodianBank } from "../../../src/bank/bank";
import type { AnvilNode } from "../../../src/chain/anvil";
import type { ChainClients } from "../../../src/chain/clients";
import type { Deployment } from "../../../src/chain/deployment";
import { startDevChain } from "../../../src/chain/dev";
import { closeDatabase, openDatabase, type Database } from "../../../src/db/database";
import { migrate } from "../../../src/db/migrate";
import { openLedger, type Ledger } from "../../../src/ledger/ledger";
import { openLogStore, type LogStore } from "../../../src/log/store";
import { createLogIntegrator, type LogIntegrator } from "../../../src/log/integrator";
import { createEscrowBridge } from "../../../src/relayer/escrow-bridge";
import { createLogger, silentLogger } from "../../../src/logging";
import { createRelayer, type Relayer } from "../../../src/relayer/relayer";
import { relayerMigrations } from "../../../src/relayer/migrations";
import { logAnchorSource } from "../../../src/relayer/source";
import {
  type WitnessEndpoint,
  cosignatureMigrations,
  cosignatureStore,
  createCosignatureTask,
} from "../../../src/relayer/cosignatures";

/**
 * A whole stack for API tests: SQLite ledger and log, a fresh anvil chain with the contracts, the
 * real relayer (driven step by step with `anchor()`), and the API on a free port.
 */
export interface ApiStack {
  db: Database;
  ledger: Ledger;
  logStore: LogStore;
  /** The log's one writer (not looping: `anchor()` and `integrate()` drive it). */
  integrator: LogIntegrator;
  relayer: Relayer;
  chain: {
    node: AnvilNode;
    deployment: Deployment;
    publicClient: ChainClients["publicClient"];
  };
  server: ApiServer;
  url: string;
  keys: {
    platform: string;
    auditor: string;
    custodian: string;
    alice: string;
    bob: string;
    revoked: string;
  };
  logLines: Record<string, unknown>[];
  /** One relayer step: syncs the log, anchors everything pending, runs the escrow bridge. */
  anchor(): Promise<void>;
  /** fetch with an optional key; JSON in, JSON out. */
  call(
    method: string,
    p: string,
    opts?: { key?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> },
  ): Promise<{ status: number; body: any; headers: Headers }>;
  stop(): Promise<void>;
}

export async function startApiStack(
  opts: {
    options?: ApiDeps["options"];
    checkpoints?: ApiDeps["checkpoints"];
    /** Collect witness cosignatures after each anchor (the array may be filled after start). */
    witnesses?: WitnessEndpoint[];
    /** Serve the custodian bank's routes (statements, reconciliations). */
    bank?: boolean;
  } = {},
): Promise<ApiStack> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "custody-api-"));
  const db = openDatabase(path.join(dir, "ledger.db"));
  await migrate(db, [...apiMigrations, ...relayerMigrations, ...cosignatureMigrations]);
  const ledger = await openLedger(db, { pseudonymKey: randomBytes(32) });
  const logStore = await openLogStore(db);
  const integrator = createLogIntegrator({ source: ledger, store: logStore });

  // The cosignature task reads the relayer's anchor mirror, which exists once the relayer does.
  let relayerRef: Relayer | undefined;
  const relayerAnchors = () => ({ latestFinal: () => relayerRef!.anchors.latestFinal() });
  const devChain = await startDevChain();
  const { node, deployment, clients } = devChain;
  const relayer = createRelayer({
    db,
    source: logAnchorSource({ ledger, integrator }),
    publicClient: clients.publicClient,
    account: devChain.accounts.relayer,
    deployment,
    policy: { batchSize: 1, maxDelayMs: 0 },
    confirmations: 0,
    log: silentLogger,
    tasks: [
      createEscrowBridge({
        db,
        ledger,
        publicClient: clients.publicClient,
        escrow: deployment.custodyEscrow,
        fromBlock: deployment.deploymentBlock,
        log: silentLogger,
      }),
      ...(opts.witnesses && opts.checkpoints
        ? [
            createCosignatureTask({
              db,
              reader: integrator.reader,
              anchors: relayerAnchors(),
              origin: opts.checkpoints.origin,
              signer: opts.checkpoints.signer,
              witnesses: opts.witnesses,
              log: silentLogger,
            }),
          ]
        : []),
    ],
  });

  relayerRef = relayer;
  const keys = {
    platform: (await createApiKey(db, { role: "platform" })).key,
    auditor: (await createApiKey(db, { role: "auditor" })).key,
    custodian: (await createApiKey(db, { role: "custodian" })).key,
    alice: (await createApiKey(db, { role: "holder", accounts: ["alice"] })).key,
    bob: (await createApiKey(db, { role: "holder", accounts: ["bob"] })).key,
    revoked: "",
  };
  const r = await createApiKey(db, { role: "platform" });
  keys.revoked = r.key;
  await revokeApiKey(db, r.keyId);

  const logLines: Record<string, unknown>[] = [];
  // The production logger (pino, redaction included), writing into logLines.
  const logger = createLogger({
    component: "api",
    destination: { write: (line: string) => logLines.push(JSON.parse(line)) },
  });
  const app = createApiApp({
    ledger,
    log: integrator.reader,
    anchors: relayer.anchors,
    relayerStatus: relayer,
    chain: { publicClient: clients.publicClient, deployment, rpcUrl: node.rpcUrl },
    auth: openApiKeyStore(db, { cacheTtlMs: 0 }),
    logger,
    options: { rateLimit: false, escrowAccounts: { EUR: "escrow-eur" }, ...opts.options },
    bank: opts.bank ? await openCustodianBank({ db, ledger }) : undefined,
    checkpoints: opts.checkpoints && {
      ...opts.checkpoints,
      cosignatures: opts.witnesses ? cosignatureStore(db) : undefined,
    },
  });
  const server = await startApiServer(app, { host: "127.0.0.1", port: 0 });

  return {
    db,
    ledger,
    logStore,
    integrator,
    relayer,
    chain: { node, deployment, publicClient: clients.publicClient },
    server,
    url: server.url,
    keys,
    logLines,
    async anchor() {
      await relayer.runOnce();
    },
    async call(method, p, o = {}) {
      const headers: Record<string, string> = { ...o.headers };
      if (o.key !== undefined) headers.authorization = `Bearer ${o.key}`;
      let body: string | undefined = o.rawBody;
      if (o.body !== undefined) {
        body = JSON.stringify(o.body);
        headers["content-type"] ??= "application/json";
      }
      const res = await fetch(server.url + p, { method, headers, body });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON (metrics, static files)
      }
      return { status: res.status, body: parsed, headers: res.headers };
    },
    async stop() {
      await server.close();
      await relayer.stop();
      await node.stop();
      await closeDatabase(db);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Opens the standard accounts (bank mirror, escrow, alice, bob, carol) and funds alice and bob. */
export async function seedLedger(s: ApiStack): Promise<void> {
  const open = (id: string, type: string) =>
    s.call("POST", "/v1/accounts", { key: s.keys.platform, body: { id, type, asset: "EUR", scale: 2 } });
  for (const [id, type] of [
    ["bank", "bank_mirror"],
    ["escrow-eur", "escrow"],
    ["alice", "customer"],
    ["bob", "customer"],
    ["carol", "customer"],
  ]) {
    const r = await open(id, type);
    if (r.status !== 201) throw new Error(`seed: open ${id}: ${r.status} ${JSON.stringify(r.body)}`);
  }
  for (const [id, who] of [
    ["dep-alice", "alice"],
    ["dep-bob", "bob"],
  ]) {
    const r = await s.call("POST", "/v1/transfers", {
      key: s.keys.platform,
      body: { id, debitAccountId: "bank", creditAccountId: who, amount: "100000", kind: "deposit" },
    });
    if (r.status !== 201) throw new Error(`seed: ${id}: ${r.status} ${JSON.stringify(r.body)}`);
  }
}
