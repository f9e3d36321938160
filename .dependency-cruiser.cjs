/**
 * Layer rules of docs/ARCHITECTURE.md, checked in `npm test` (`npm run lint:layers`). A violation
 * fails the run and names the rule. Type-only imports count too (tsPreCompilationDeps).
 */
const FEATURES = "(bank|solvency|risk)";
/** Pure, browser-safe helpers of src/log that formats and verifiers may use. */
const PURE_LOG = "src/log/(hash|hex|errors|math|verify|tree|frontier)[.]ts$";

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-stack-import",
      comment: "src/stack is the composition root: it wires everything, nothing imports it.",
      severity: "error",
      from: { pathNot: "^src/stack/" },
      to: { path: "^src/stack/" },
    },
    {
      name: "protocol-pure",
      comment: "src/protocol (versioned formats) imports nothing of the project but pure helpers.",
      severity: "error",
      from: { path: "^src/protocol/" },
      to: { path: "^src/", pathNot: [`^src/protocol/`, "^src/errors[.]ts$", `^${PURE_LOG}`] },
    },
    {
      name: "protocol-browser-safe",
      comment: "src/protocol runs in the browser: no Node built-ins and no server packages.",
      severity: "error",
      from: { path: "^src/protocol/" },
      to: { pathNot: ["^src/", "^node_modules/(viem|zod|@noble)/"] },
    },
    {
      name: "ledger-not-up",
      comment: "The ledger never imports the API, the relayer, the chain or anything above it.",
      severity: "error",
      from: { path: "^src/ledger/" },
      to: { path: `^src/(api|relayer|chain|cli|audit|verify|witness|${FEATURES.slice(1, -1)})/` },
    },
    {
      name: "log-not-ledger-chain",
      comment: "The log never imports the ledger or the chain (leaves come in through LeafSource).",
      severity: "error",
      from: { path: "^src/log/" },
      to: { path: `^src/(ledger|chain|api|relayer|cli|audit|verify|witness|${FEATURES.slice(1, -1)})/` },
    },
    {
      name: "log-store-private",
      comment:
        "Only src/log (the integrator) writes the tree; others take a LogReader (src/log/reader.ts) from the stack.",
      severity: "error",
      from: { path: "^src/", pathNot: "^src/(log|stack)/" },
      to: { path: "^src/log/(store|sync|memory-store|sqlite-store|postgres-store|tiles|tile-cache)[.]ts$" },
    },
    {
      name: "db-bottom",
      comment: "src/db opens databases and runs migrations; it imports nothing of the project above errors.",
      severity: "error",
      from: { path: "^src/db/" },
      to: { path: "^src/", pathNot: ["^src/db/", "^src/errors[.]ts$"] },
    },
    {
      name: "chain-not-up",
      comment: "src/chain (contracts, clients, actions) imports only protocol formats below it.",
      severity: "error",
      from: { path: "^src/chain/" },
      to: { path: "^src/", pathNot: ["^src/chain/", "^src/protocol/", "^src/errors[.]ts$"] },
    },
    {
      name: "verify-reads-only",
      comment: "Verifiers trust the chain and the receipt only: protocol, pure log code and chain reads.",
      severity: "error",
      from: { path: "^src/verify/" },
      to: {
        path: "^src/",
        pathNot: [
          "^src/verify/",
          "^src/protocol/",
          "^src/errors[.]ts$",
          `^${PURE_LOG}`,
          "^src/chain/actions/(read|verify)-",
          "^src/chain/generated/",
        ],
      },
    },
    {
      name: "web-reads-only",
      comment:
        "The receipt page imports protocol formats, pure log verification, chain reads and the verifier.",
      severity: "error",
      from: { path: "^web/" },
      to: {
        path: "^src/",
        pathNot: [
          "^src/protocol/",
          "^src/verify/",
          "^src/errors[.]ts$",
          `^${PURE_LOG}`,
          "^src/chain/actions/(read|verify)-",
          "^src/chain/generated/",
        ],
      },
    },
    {
      name: "relayer-not-api",
      comment: "The relayer never imports the API or the CLI.",
      severity: "error",
      from: { path: "^src/relayer/" },
      to: { path: "^src/(api|cli)/" },
    },
    {
      name: "features-not-up",
      comment: `src/${FEATURES} may import protocol, log, db, ledger and chain/actions; never api, relayer or stack.`,
      severity: "error",
      from: { path: `^src/${FEATURES}/` },
      to: { path: "^src/(api|relayer|cli|verify|audit|witness)/" },
    },
    {
      name: "features-chain-actions-only",
      comment: `src/${FEATURES} call the chain through src/chain/actions only.`,
      severity: "error",
      from: { path: `^src/${FEATURES}/` },
      to: { path: "^src/chain/", pathNot: "^src/chain/(actions|generated)/" },
    },
    {
      name: "witness-reads-only",
      comment: "src/witness imports protocol, log and chain reads only.",
      severity: "error",
      from: { path: "^src/witness/" },
      to: {
        path: "^src/",
        pathNot: [
          "^src/witness/",
          "^src/protocol/",
          "^src/log/",
          "^src/errors[.]ts$",
          "^src/chain/actions/(read|verify)-",
          "^src/chain/generated/",
          "^src/chain/clients[.]ts$",
        ],
      },
    },
    {
      name: "network-offline",
      comment:
        "src/network generates chain configurations offline: it reads the compiled contracts and the opcode table, never a node.",
      severity: "error",
      from: { path: "^src/network/" },
      to: {
        path: "^src/",
        pathNot: [
          "^src/network/",
          "^src/errors[.]ts$",
          "^src/chain/evm-opcodes[.]ts$",
          "^src/chain/generated/",
        ],
      },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    exclude: { path: "(^|/)(generated|dist)/" },
  },
};
