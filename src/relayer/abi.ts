/** The contract ABIs the relayer uses, typed from the compiled contracts (src/chain/generated/abi.ts). */
export { custodyAnchorAbi as anchorAbi, custodyEscrowAbi as escrowAbi } from "../chain/generated/abi";
