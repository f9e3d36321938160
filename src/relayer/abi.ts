import { parseAbi } from "viem";

/** The fixed CustodyAnchor interface the relayer uses (contracts/interfaces/ICustodyAnchor.sol). */
export const anchorAbi = parseAbi([
  "struct Head { bytes32 rootHash; uint64 treeSize; uint64 timestamp; uint64 blockNumber; bytes32 metadataHash; }",
  "event HeadAnchored(uint256 indexed headIndex, uint64 indexed treeSize, bytes32 indexed rootHash, bytes32 metadataHash)",
  "function anchor(uint64 newSize, bytes32 newRoot, bytes32[] consistencyProof, bytes32 metadataHash) returns (uint256)",
  "function headCount() view returns (uint256)",
  "function getHead(uint256 headIndex) view returns (Head)",
  "function verifyInclusion(uint256 headIndex, uint64 leafIndex, bytes32 leafHash, bytes32[] proof) view returns (bool)",
]);
