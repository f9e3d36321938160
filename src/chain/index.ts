export {
  custodyAnchorAbi,
  custodyAnchorBytecode,
  custodyEscrowAbi,
  custodyEscrowBytecode,
} from "./generated/abi";
export {
  DEPLOYMENT_VERSION,
  ROLE_IDS,
  deployCustodyContracts,
  parseDeployment,
  readDeployment,
  writeDeployment,
  type DeployCustodyContractsParameters,
  type Deployment,
  type DeploymentRoles,
} from "./deployment";
export {
  DEV_CHAIN_ID,
  DEV_MNEMONIC,
  anvilBinaryPath,
  devAccount,
  startAnvil,
  type AnvilNode,
  type StartAnvilParameters,
} from "./anvil";
export {
  DEV_ROLES,
  deployDevContracts,
  devAccounts,
  startDevChain,
  type DeployDevContractsParameters,
  type DevAccounts,
  type DevChain,
  type DevRole,
  type SigningClients,
  type StartDevChainParameters,
} from "./dev";
export {
  createChainClients,
  custodyChain,
  type ChainClients,
  type CreateChainClientsParameters,
} from "./clients";
export { loadSigner, type LoadSignerParameters } from "./keys";
export { readHeadCount } from "./actions/read-head-count";
export { readHead } from "./actions/read-head";
export { readLatestHead } from "./actions/read-latest-head";
export { readHeadCovering } from "./actions/read-head-covering";
export { readAnchorRecord, type ReadAnchorRecordParameters } from "./actions/read-anchor-record";
export { verifyInclusionOnChain } from "./actions/verify-inclusion-on-chain";
export { verifyConsistencyOnChain } from "./actions/verify-consistency-on-chain";
export { anchorHeadCallData, type AnchorHeadParameters } from "./actions/anchor-head";
export { attestAudit, type AttestAuditParameters } from "./actions/attest-audit";
export { createEscrowCallData } from "./actions/create-escrow";
export { decideEscrow, type DecideEscrowParameters } from "./actions/decide-escrow";
export { readEscrowDecisions, type EscrowDecision } from "./actions/read-escrow-decisions";
export { ESCROW_STATES, readEscrow, type EscrowStateName, type OnChainEscrow } from "./actions/read-escrow";
export { findEscrow } from "./actions/find-escrow";
export type { AnchoredHead, AnchorLocation, AnchorRecord } from "../protocol/head";
export {
  ESCROW_TERMS_FORMAT,
  ESCROW_TERMS_KEY,
  MAX_ESCROW_APPROVERS,
  EscrowTermsInvalidError,
  escrowTermsIssues,
  escrowTermsOf,
  parseEscrowTerms,
  toOnChainTerms,
  type EscrowTerms,
  type EscrowTermsIssue,
  type EscrowTermsV1,
} from "../protocol/escrow-terms-v1";
export { revertErrorName } from "./revert";
export {
  AuditAttestationError,
  DeploymentFailedError,
  DeploymentFileError,
  HeadEventNotFoundError,
  KeyUnavailableError,
  NodeStartError,
} from "./errors";
