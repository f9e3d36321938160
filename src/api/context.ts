import type { ApiDeps } from "./app";
import type { ProofService } from "./services/proofs";

/** What route modules get: the app's dependencies and the services built on them. */
export interface ApiContext {
  deps: ApiDeps;
  proofs: ProofService;
  /** Brings the log store up to `size` leaves from the ledger (or all there are); single-flight. */
  ensureLogSize(size: number): Promise<void>;
  options: ResolvedApiOptions;
}

export interface ResolvedApiOptions {
  bodyLimitBytes: number;
  maxBatchSize: number;
  readinessTimeoutMs: number;
  maxRelayerLagSeconds: number;
}
