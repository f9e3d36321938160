import type { ApiDeps } from "./app";
import type { ProofService } from "./services/proofs";
import type { ReceiptService } from "./services/receipts";

/** What route modules get: the app's dependencies and the services built on them. */
export interface ApiContext {
  deps: ApiDeps;
  proofs: ProofService;
  receipts: ReceiptService;
  options: ResolvedApiOptions;
}

export interface ResolvedApiOptions {
  bodyLimitBytes: number;
  maxBatchSize: number;
  readinessTimeoutMs: number;
  maxRelayerLagSeconds: number;
  maxRelayerFailures: number;
  maxRiskLagEvents: number;
  /** Escrow account id per asset, used when an escrow request names none. */
  escrowAccounts: Readonly<Record<string, string>>;
  /** Milliseconds since the Unix epoch. */
  now: () => number;
}
