// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/**
 * @title ICustodySolvency
 * @notice Proof of segregation per asset and business day: the custodian bank attests the closing
 * balance of the segregated account (reserves) and the statement it comes from; the platform
 * commits the root of its liabilities Merkle sum tree (docs/liabilities-tree-v1.md) taken at a log
 * size already anchored in CustodyAnchor. Once both are in, the contract emits {ReservesCovered}
 * or {ReservesShortfall}. Both records are final: nothing can be replaced or replayed.
 *
 * `day` is the business day as days since 1970-01-01 (UTC); `asset` is the ASCII asset code,
 * zero-padded on the right to 32 bytes.
 */
interface ICustodySolvency {
    /// @dev The custodian's attestation for one asset and day; `attested` is false when there is none.
    struct Reserves {
        bool attested;
        uint128 amount;
        bytes32 statementHash;
    }

    /// @dev The platform's liabilities snapshot for one asset and day. `leafCount` is 0 when there is none.
    struct Commitment {
        bytes32 rootHash;
        uint128 rootSum;
        uint64 logSize;
        uint64 leafCount;
    }

    /// @dev Emitted when `custodian` attested `reserves` for (`asset`, `day`) from statement `statementHash`.
    event ReservesAttested(
        bytes32 indexed asset,
        uint32 indexed day,
        address indexed custodian,
        uint128 reserves,
        bytes32 statementHash
    );

    /// @dev Emitted when the liabilities snapshot of (`asset`, `day`) was committed.
    event SnapshotCommitted(
        bytes32 indexed asset,
        uint32 indexed day,
        uint64 logSize,
        bytes32 rootHash,
        uint128 rootSum,
        uint64 leafCount
    );

    /// @dev Emitted once both records of (`asset`, `day`) exist and the reserves cover the liabilities.
    event ReservesCovered(bytes32 indexed asset, uint32 indexed day, uint128 reserves, uint128 liabilities);

    /// @dev Emitted once both records of (`asset`, `day`) exist and the reserves fall short of the liabilities.
    event ReservesShortfall(bytes32 indexed asset, uint32 indexed day, uint128 reserves, uint128 liabilities);

    /// @dev Reserves for (`asset`, `day`) were already attested; attestations are final.
    error CustodySolvencyAlreadyAttested(bytes32 asset, uint32 day);

    /// @dev A snapshot for (`asset`, `day`) was already committed; commitments are final.
    error CustodySolvencyAlreadyCommitted(bytes32 asset, uint32 day);

    /// @dev `logSize` is above the latest anchored head's tree size `anchoredSize` (0 when none is anchored).
    error CustodySolvencyLogSizeNotAnchored(uint64 logSize, uint64 anchoredSize);

    /// @dev `leafCount` must be a power of two between 1 and 2^32 (a full tree of fixed height).
    error CustodySolvencyInvalidLeafCount(uint64 leafCount);

    /// @dev `reserves` is above 2^96 - 1, the largest amount stored (far above any bank balance in minor units).
    error CustodySolvencyReservesTooLarge(uint128 reserves);

    /// @dev `rootSum` cannot come from `leafCount` balances each below 2^64.
    error CustodySolvencyRootSumOutOfRange(uint128 rootSum, uint64 leafCount);

    /// @dev The EIP-712 signature recovers to `signer`, which does not hold CUSTODIAN_ROLE.
    error CustodySolvencyUnauthorizedSigner(address signer);

    /**
     * @notice Records the caller's (the custodian bank's) closing balance of the segregated account
     * for `asset` on `day`, and the hash of the bank statement it comes from.
     *
     * Requirements:
     * - the caller has CUSTODIAN_ROLE;
     * - `reserves` < 2^96, else {CustodySolvencyReservesTooLarge};
     * - no reserves were attested for (`asset`, `day`), else {CustodySolvencyAlreadyAttested}.
     *
     * Emits a {ReservesAttested} event, and {ReservesCovered} or {ReservesShortfall} if the
     * snapshot of that day is already committed.
     */
    function attestReserves(bytes32 asset, uint32 day, uint128 reserves, bytes32 statementHash) external;

    /**
     * @notice Same as {attestReserves}, submitted by anyone (the relayer) with the custodian's EIP-712
     * signature over `ReservesAttestation(bytes32 asset,uint32 day,uint128 reserves,bytes32 statementHash)`
     * in the domain ("CustodySolvency", "1", chain id, this contract).
     *
     * Requirements:
     * - the signature recovers to a CUSTODIAN_ROLE holder, else {CustodySolvencyUnauthorizedSigner}
     *   (or ECDSA's errors for a malformed signature);
     * - `reserves` < 2^96, else {CustodySolvencyReservesTooLarge};
     * - no reserves were attested for (`asset`, `day`), else {CustodySolvencyAlreadyAttested}.
     *
     * Emits the events of {attestReserves}, naming the signer as the custodian.
     */
    function attestReservesWithSignature(
        bytes32 asset,
        uint32 day,
        uint128 reserves,
        bytes32 statementHash,
        bytes calldata signature
    ) external;

    /**
     * @notice Commits the liabilities sum tree of `asset` on `day`, taken at log size `logSize`.
     *
     * Requirements:
     * - the caller has PLATFORM_ROLE;
     * - `logSize` is at most the latest anchored head's tree size, else {CustodySolvencyLogSizeNotAnchored};
     * - `leafCount` is a power of two in 1..2^32, else {CustodySolvencyInvalidLeafCount};
     * - `rootSum` < `leafCount` × 2^64, else {CustodySolvencyRootSumOutOfRange};
     * - no snapshot was committed for (`asset`, `day`), else {CustodySolvencyAlreadyCommitted}.
     *
     * Emits a {SnapshotCommitted} event, and {ReservesCovered} or {ReservesShortfall} if the reserves
     * of that day are already attested.
     */
    function commitSnapshot(
        bytes32 asset,
        uint32 day,
        uint64 logSize,
        bytes32 rootHash,
        uint128 rootSum,
        uint64 leafCount
    ) external;

    /// @notice The reserves attested for (`asset`, `day`); all zero if none.
    function getReserves(bytes32 asset, uint32 day) external view returns (Reserves memory);

    /// @notice The snapshot committed for (`asset`, `day`); all zero if none.
    function getCommitment(bytes32 asset, uint32 day) external view returns (Commitment memory);

    /// @notice The CustodyAnchor whose heads bound committed log sizes.
    function custodyAnchor() external view returns (address);
}
