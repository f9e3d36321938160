// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/**
 * @title ICustodyAnchor
 * @notice Append-only sequence of anchored heads (tree size, root) of the custody log, an RFC 9162
 * Merkle tree over SHA-256. A new head is accepted only with a valid consistency proof from the
 * previous one, so anchored history cannot be rewritten, not even by the anchorer.
 */
interface ICustodyAnchor {
    /**
     * @dev One anchored head. `metadataHash` is not kept in storage (see {getHead}); it is emitted in
     * {HeadAnchored}.
     */
    struct Head {
        bytes32 rootHash;
        uint64 treeSize;
        uint64 timestamp;
        uint64 blockNumber;
        bytes32 metadataHash;
    }

    /// @dev An auditor's sign-off on one head.
    struct Attestation {
        bytes32 reportHash;
        bool passed;
        uint64 timestamp;
    }

    /// @dev Emitted when head `headIndex` (tree of `treeSize` leaves with root `rootHash`) is anchored.
    event HeadAnchored(
        uint256 indexed headIndex,
        uint64 indexed treeSize,
        bytes32 indexed rootHash,
        bytes32 metadataHash
    );

    /// @dev Emitted when `auditor` records its audit of head `headIndex`.
    event AuditAttested(uint256 indexed headIndex, address indexed auditor, bytes32 reportHash, bool passed);

    /// @dev No head has been anchored yet.
    error CustodyAnchorNoHeads();

    /// @dev `headIndex` is not below the number of anchored heads `headCount`.
    error CustodyAnchorUnknownHead(uint256 headIndex, uint256 headCount);

    /// @dev A new head must cover more leaves than the previous one.
    error CustodyAnchorTreeSizeNotIncreasing(uint64 previousSize, uint64 newSize);

    /// @dev `newSize` exceeds the largest tree size the contract stores, `maxSize` (2^48 - 1).
    error CustodyAnchorTreeSizeTooLarge(uint64 newSize, uint64 maxSize);

    /// @dev The consistency proof does not prove that the head (`newSize`, `newRoot`) extends the previous head.
    error CustodyAnchorInvalidConsistencyProof(
        uint64 previousSize,
        bytes32 previousRoot,
        uint64 newSize,
        bytes32 newRoot
    );

    /// @dev The first head has no predecessor, so its consistency proof must be empty.
    error CustodyAnchorUnexpectedProof(uint256 proofLength);

    /// @dev No anchored head covers leaf `leafIndex`; the latest covers `latestTreeSize` leaves.
    error CustodyAnchorLeafNotCovered(uint64 leafIndex, uint64 latestTreeSize);

    /// @dev `auditor` has already attested head `headIndex`; attestations are final.
    error CustodyAnchorAlreadyAttested(uint256 headIndex, address auditor);

    /// @dev This contract has a cosigner, `cosigner`: heads go through {anchorCosigned}, not {anchor}.
    error CustodyAnchorCosignatureRequired(address cosigner);

    /// @dev This contract was deployed without a cosigner: use {anchor}.
    error CustodyAnchorNoCosigner();

    /// @dev A cosignature is 65 bytes (r, s, v); this one has `length`.
    error CustodyAnchorCosignatureLength(uint256 length);

    /// @dev The cosignature's v is `v`; only 27 and 28 are accepted.
    error CustodyAnchorCosignatureInvalidV(uint8 v);

    /// @dev The cosignature's s is in the upper half of the curve order (malleable); only low s is accepted.
    error CustodyAnchorCosignatureHighS(bytes32 s);

    /// @dev The cosignature recovers to `recovered` (zero if to none), not to the cosigner `cosigner`:
    /// signed by another key, or over another head, size, root, metadata hash, chain or contract.
    error CustodyAnchorWrongCosigner(address recovered, address cosigner);

    /**
     * @notice Appends the head (`newSize`, `newRoot`) after checking that it extends the previous head.
     *
     * Requirements:
     * - the caller has ANCHORER_ROLE; the contract is not paused;
     * - `newSize` is greater than the previous head's tree size (and than 0 for the first head),
     *   else {CustodyAnchorTreeSizeNotIncreasing};
     * - `newSize` is at most 2^48 - 1, else {CustodyAnchorTreeSizeTooLarge};
     * - `consistencyProof` is a valid RFC 9162 consistency proof from the previous head to the new
     *   one; it is empty for the first head.
     *
     * - the contract has no cosigner, else {CustodyAnchorCosignatureRequired} (use {anchorCosigned}).
     *
     * Emits a {HeadAnchored} event.
     * @return headIndex the index of the new head (0 for the first).
     */
    function anchor(
        uint64 newSize,
        bytes32 newRoot,
        bytes32[] calldata consistencyProof,
        bytes32 metadataHash
    ) external returns (uint256 headIndex);

    /**
     * @notice {anchor} for a contract with a cosigner: the head also needs `cosignature`, the
     * cosigner's EIP-712 signature (domain "CustodyAnchor", version "1", this chain and contract) of
     * `AnchorCosignature(headIndex, previousSize, newSize, newRoot, metadataHash)`, where `headIndex`
     * is the index the new head gets and `previousSize` the latest head's tree size (0 before the
     * first). A cosignature is good for one head at one position only.
     *
     * Requirements: those of {anchor}, except the cosigner check, and:
     * - the contract has a cosigner, else {CustodyAnchorNoCosigner};
     * - `cosignature` is 65 bytes r ‖ s ‖ v, else {CustodyAnchorCosignatureLength}; v is 27 or 28, else
     *   {CustodyAnchorCosignatureInvalidV}; s is in the lower half order, else {CustodyAnchorCosignatureHighS};
     * - it recovers to the cosigner, else {CustodyAnchorWrongCosigner}.
     *
     * Emits a {HeadAnchored} event.
     * @return headIndex the index of the new head (0 for the first).
     */
    function anchorCosigned(
        uint64 newSize,
        bytes32 newRoot,
        bytes32[] calldata consistencyProof,
        bytes32 metadataHash,
        bytes calldata cosignature
    ) external returns (uint256 headIndex);

    /// @notice The address whose cosignature every head needs, set at deployment; zero if none.
    function cosigner() external view returns (address);

    /**
     * @notice The EIP-712 digest the cosigner signs to approve head `headIndex` (`newSize`, `newRoot`,
     * `metadataHash`) after a head of `previousSize` leaves, on this chain and contract.
     */
    function cosignatureDigest(
        uint256 headIndex,
        uint64 previousSize,
        uint64 newSize,
        bytes32 newRoot,
        bytes32 metadataHash
    ) external view returns (bytes32);

    /**
     * @notice Whether `proof` is a valid RFC 9162 inclusion proof of `leafHash` at `leafIndex` in head `headIndex`.
     * Returns false for any wrong proof (including `leafIndex` not covered by the head).
     *
     * Requirements:
     * - `headIndex` is an anchored head, else {CustodyAnchorUnknownHead}.
     */
    function verifyInclusion(
        uint256 headIndex,
        uint64 leafIndex,
        bytes32 leafHash,
        bytes32[] calldata proof
    ) external view returns (bool);

    /**
     * @notice Whether `proof` is a valid RFC 9162 consistency proof from head `fromHeadIndex` to head
     * `toHeadIndex`. Returns false for a wrong proof or when `fromHeadIndex > toHeadIndex`; equal
     * indices need an empty proof.
     *
     * Requirements:
     * - both indices are anchored heads, else {CustodyAnchorUnknownHead}.
     */
    function verifyConsistency(
        uint256 fromHeadIndex,
        uint256 toHeadIndex,
        bytes32[] calldata proof
    ) external view returns (bool);

    /// @notice The number of anchored heads.
    function headCount() external view returns (uint256);

    /**
     * @notice Head `headIndex` as stored. Its `metadataHash` is always zero: read it from the
     * {HeadAnchored} event of that head.
     *
     * Requirements:
     * - `headIndex` is an anchored head, else {CustodyAnchorUnknownHead}.
     */
    function getHead(uint256 headIndex) external view returns (Head memory);

    /**
     * @notice The latest head and its index.
     *
     * Requirements:
     * - at least one head is anchored, else {CustodyAnchorNoHeads}.
     */
    function latestHead() external view returns (uint256 headIndex, Head memory head);

    /// @notice The tree size of the latest head; 0 before the first head. One storage read.
    function latestTreeSize() external view returns (uint64);

    /**
     * @notice The first head whose tree covers leaf `leafIndex` (tree size > `leafIndex`): the head a
     * receipt for that leaf is proven against.
     *
     * Requirements:
     * - some head covers the leaf, else {CustodyAnchorLeafNotCovered}.
     */
    function headCovering(uint64 leafIndex) external view returns (uint256 headIndex);

    /**
     * @notice Records the caller's audit of head `headIndex`: the hash of its report and whether it passed.
     *
     * Requirements:
     * - the caller has AUDITOR_ROLE;
     * - `headIndex` is an anchored head, else {CustodyAnchorUnknownHead};
     * - the caller has not attested this head before, else {CustodyAnchorAlreadyAttested}.
     *
     * Emits an {AuditAttested} event.
     */
    function attest(uint256 headIndex, bytes32 reportHash, bool passed) external;

    /**
     * @notice The attestation of head `headIndex` by `auditor`; all zero if there is none.
     */
    function getAttestation(uint256 headIndex, address auditor) external view returns (Attestation memory);
}
