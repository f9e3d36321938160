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
export {
  readHead,
  readHeadCount,
  readHeadCovering,
  readLatestHead,
  verifyConsistencyOnChain,
  verifyInclusionOnChain,
  type AnchoredHead,
} from "./anchor";
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
} from "./escrow-terms";
export { ESCROW_STATES, findEscrow, readEscrow, type EscrowStateName, type OnChainEscrow } from "./escrow";
export { revertErrorName } from "./revert";
export { DeploymentFailedError, DeploymentFileError, KeyUnavailableError, NodeStartError } from "./errors";
