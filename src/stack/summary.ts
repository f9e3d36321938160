import path from "node:path";
import { devAccount } from "../chain/anvil";
import { DEV_ROLES, type RunningStack } from "./stack";

/**
 * What `npm start` prints once the stack runs. API keys appear only on the start that created them
 * (afterwards they are only in the 0600 file `<data-dir>/api-keys.json`), so logs and terminals that
 * capture every start do not collect them.
 */
export function stackSummary(s: RunningStack): string {
  const embedded = !s.config.rpcUrl;
  const lines = [
    "",
    "Custody audit layer is running.",
    "",
    `  API           ${s.apiUrl}/v1   (OpenAPI: ${s.apiUrl}/v1/openapi.json)`,
    `  Receipt page  ${s.webUrl}`,
    `  Metrics       ${s.apiUrl}/metrics`,
    `  Chain RPC     ${s.rpcUrl}   (chain id ${s.chainId}${embedded ? ", local anvil" : ""})`,
    `  CustodyAnchor ${s.deployment.custodyAnchor}`,
    `  CustodyEscrow ${s.deployment.custodyEscrow}`,
    ...(s.deployment.custodySolvency ? [`  CustodySolvency ${s.deployment.custodySolvency}`] : []),
    `  Ledger        ${s.config.dbUrl.replace(/\/\/([^:@/]+):[^@/]+@/, "//$1:***@")}`,
    `  Data folder   ${s.config.dataDir}`,
    "",
    ...(s.apiKeysCreated
      ? [
          "  API keys, created now and shown only this once (kept in the data folder, api-keys.json):",
          ...s.apiKeysNew.map((role) => `    ${role.padEnd(11)} ${s.apiKeys[role]}`),
        ]
      : [`  API keys      in ${path.join(s.config.dataDir, "api-keys.json")} (shown when created)`]),
    "",
    `  Bank inbox    ${path.join(s.config.dataDir, "bank-inbox")}   (camt.053 / JSON statements; reconciled daily)`,
    `  Business day  ${s.clock.simulated ? `simulated: one day every ${s.clock.dayMs / 1000} s` : "wall clock (UTC)"}`,
  ];
  if (embedded) {
    lines.push(
      "",
      "  Local chain accounts (the public development mnemonic; never use them on a real network):",
      ...Object.entries(DEV_ROLES).map(
        ([role, i]) => `    ${role.padEnd(14)} ${devAccount(i).address}  (index ${i})`,
      ),
    );
  }
  lines.push(
    "",
    `  Try:  curl -s ${s.apiUrl}/v1/log/head`,
    `        npm run custody -- audit --rpc ${s.rpcUrl} --db ${s.config.dbUrl} --deployment ${s.config.deploymentPath}`,
    "",
    "Ctrl-C stops everything cleanly.",
    "",
  );
  return lines.join("\n") + "\n";
}
