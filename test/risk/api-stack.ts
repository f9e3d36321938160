import { silentLogger } from "../../src/logging";
import { createApiApp, startApiServer, type ApiServer } from "../../src/api/app";
import { apiMigrations, createApiKey, openApiKeyStore } from "../../src/api/auth/keys";
import type { AnchorMirror } from "../../src/api/ports";
import { migrate } from "../../src/db/migrate";
import { openLogStore } from "../../src/log/store";
import { Approvals, RiskEngine, RiskService, ledgerExecutors } from "../../src/risk";
import { openAccounts, openRiskLedger } from "./fixture";
import { rulesWith } from "./support";
import { logReaderOf } from "../../src/log/reader";

/** No anchors yet: the risk routes do not read them. */
const noAnchors: AnchorMirror = {
  latest: async () => undefined,
  list: async () => [],
  covering: async () => undefined,
  byHeadIndex: async () => undefined,
};

/** The API over a real SQLite ledger with the risk module, on a free port, and one key per role. */
export async function startRiskApi(webDir?: string) {
  const env = await openRiskLedger();
  await openAccounts(env.ledger);
  await migrate(env.db, apiMigrations);
  const engine = await RiskEngine.open(env.db, env.ledger, env.ledger, {
    rules: rulesWith(["pboc.lv.cash", "segregation.refused", "velocity.debits"]),
  });
  const approvals = new Approvals(engine.runner, ledgerExecutors(env.ledger, engine));
  const risk = new RiskService(engine, approvals, env.ledger);
  const app = createApiApp({
    ledger: env.ledger,
    log: logReaderOf(await openLogStore(env.db)),
    anchors: noAnchors,
    auth: openApiKeyStore(env.db, { cacheTtlMs: 0 }),
    risk,
    webDir,
    logger: silentLogger,
    options: { rateLimit: false },
  });
  const server: ApiServer = await startApiServer(app);
  const key = async (role: "platform" | "auditor" | "operator" | "checker") =>
    (await createApiKey(env.db, { role })).key;
  const keys = {
    platform: await key("platform"),
    auditor: await key("auditor"),
    operator: await key("operator"),
    operator2: await key("operator"),
    checker: await key("checker"),
    checker2: await key("checker"),
    holder: (await createApiKey(env.db, { role: "holder", accounts: ["alice"] })).key,
  };
  async function call(method: string, p: string, key?: string, body?: unknown) {
    const res = await fetch(`${server.url}${p}`, {
      method,
      headers: {
        ...(key ? { authorization: `Bearer ${key}` } : {}),
        ...(body ? { "content-type": "application/json" } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as any) : undefined };
  }
  return {
    env,
    engine,
    risk,
    server,
    keys,
    call,
    async stop() {
      await engine.stop();
      await server.close();
      await env.close();
    },
  };
}
