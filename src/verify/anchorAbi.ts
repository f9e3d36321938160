/**
 * The read-only part of the CustodyAnchor interface that verifiers call (the fixed interface of
 * contracts/interfaces/ICustodyAnchor.sol). Kept small so the browser bundle does not carry the
 * contract's bytecode; test/verify checks it against the generated ABI so the two cannot drift.
 */
export const anchorVerifierAbi = [
  {
    type: "event",
    name: "HeadAnchored",
    anonymous: false,
    inputs: [
      { name: "headIndex", type: "uint256", indexed: true },
      { name: "treeSize", type: "uint64", indexed: true },
      { name: "rootHash", type: "bytes32", indexed: true },
      { name: "metadataHash", type: "bytes32", indexed: false },
    ],
  },
  {
    type: "function",
    name: "headCount",
    stateMutability: "view",
    inputs: [],
    outputs: [{ name: "", type: "uint256" }],
  },
  {
    type: "function",
    name: "getHead",
    stateMutability: "view",
    inputs: [{ name: "headIndex", type: "uint256" }],
    outputs: [
      {
        name: "",
        type: "tuple",
        components: [
          { name: "rootHash", type: "bytes32" },
          { name: "treeSize", type: "uint64" },
          { name: "timestamp", type: "uint64" },
          { name: "blockNumber", type: "uint64" },
          { name: "metadataHash", type: "bytes32" },
        ],
      },
    ],
  },
  {
    type: "function",
    name: "verifyInclusion",
    stateMutability: "view",
    inputs: [
      { name: "headIndex", type: "uint256" },
      { name: "leafIndex", type: "uint64" },
      { name: "leafHash", type: "bytes32" },
      { name: "proof", type: "bytes32[]" },
    ],
    outputs: [{ name: "", type: "bool" }],
  },
] as const;
