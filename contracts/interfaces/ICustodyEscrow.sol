// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/**
 * @title ICustodyEscrow
 * @notice Escrow rules decided on chain and executed by the off-chain custody ledger. The contract
 * holds no funds: the ledger holds the amount in escrow and posts or voids that hold when it sees
 * {EscrowReleased} or {EscrowRefunded}, the two terminal events.
 *
 * State machine (docs/contracts-v1.md): Open → Released | Refunded, Open → Disputed → Released | Refunded.
 * Before `expiresAt`: approvals, disputes, releases and resolutions. From `expiresAt` on: the release of
 * an escrow the rules released before it (auto-release time reached, undisputed, custodian approval
 * given if required), else a refund. The outcome depends on the terms and on when the deciding
 * condition was met, never on when a transaction is sent (an outage or a pause changes nothing).
 */
interface ICustodyEscrow {
    enum EscrowState {
        None,
        Open,
        Disputed,
        Released,
        Refunded
    }

    /**
     * @dev Terms fixed at creation; they never change.
     * @param payer pseudonymous account id of the payer (keyed hash, never a name)
     * @param payee pseudonymous account id of the payee
     * @param asset asset code, ASCII right-padded with zero bytes (as in the ledger leaf)
     * @param amount minor units, > 0
     * @param approvers addresses that may approve a release, 1 to 16, distinct, non-zero
     * @param payerSideMask bit i set: approvers[i] acts for the payer and may dispute
     * @param threshold approvals needed for a release, 1 to approvers.length
     * @param autoReleaseAt release without the threshold from this time on unless disputed; 0 = never
     * @param expiresAt from this time on the escrow can only be refunded
     * @param agreementHash hash of the off-chain agreement
     */
    struct Terms {
        bytes32 payer;
        bytes32 payee;
        bytes32 asset;
        uint128 amount;
        address[] approvers;
        uint16 payerSideMask;
        uint8 threshold;
        uint64 autoReleaseAt;
        uint64 expiresAt;
        bytes32 agreementHash;
    }

    /// @dev The mutable part of an escrow.
    struct Status {
        EscrowState state;
        uint8 approvalCount;
        /// @dev bit i set: approvers[i] has approved.
        uint16 approvedMask;
        /// @dev fixed at creation: amount above the asset's custodian threshold.
        bool custodianApprovalRequired;
        bool custodianApproved;
        uint64 createdAt;
        /// @dev time of the terminal transition; 0 while open or disputed.
        uint64 closedAt;
    }

    /// @dev Emitted when escrow `escrowId` is created with its terms (read the rest with {getEscrow}).
    event EscrowCreated(
        bytes32 indexed escrowId,
        bytes32 indexed payer,
        bytes32 indexed payee,
        bytes32 asset,
        uint128 amount,
        bytes32 agreementHash,
        bool custodianApprovalRequired
    );

    /// @dev Emitted when `approver` approves; `byCustodian` for the custodian's additional approval.
    event EscrowApproved(
        bytes32 indexed escrowId,
        address indexed approver,
        uint8 approvalCount,
        bool byCustodian
    );

    /// @dev Emitted when payer-side approver `disputer` disputes the escrow.
    event EscrowDisputed(bytes32 indexed escrowId, address indexed disputer);

    /// @dev Terminal: the ledger pays `amount` to the payee. `byResolution` when the custodian decided a dispute.
    event EscrowReleased(bytes32 indexed escrowId, uint128 amount, bool byResolution);

    /// @dev Terminal: the ledger returns `amount` to the payer. `byResolution` when the custodian decided a dispute.
    event EscrowRefunded(bytes32 indexed escrowId, uint128 amount, bool byResolution);

    /// @dev Emitted when the admin sets the amount above which escrows in `asset` need the custodian's approval.
    event CustodianThresholdSet(bytes32 indexed asset, uint128 amount);

    error CustodyEscrowAlreadyExists(bytes32 escrowId);
    error CustodyEscrowNotFound(bytes32 escrowId);
    /// @dev payer and payee must be non-zero and different.
    error CustodyEscrowInvalidParties(bytes32 payer, bytes32 payee);
    error CustodyEscrowInvalidAmount(uint128 amount);
    /// @dev 1 <= threshold <= approverCount <= 16, and the mask names only listed approvers.
    error CustodyEscrowInvalidApprovers(uint256 approverCount, uint8 threshold, uint16 payerSideMask);
    /// @dev an approver is the zero address or listed twice.
    error CustodyEscrowInvalidApprover(address approver);
    /// @dev `expiresAt` must be in the future and `autoReleaseAt`, if set, before it.
    error CustodyEscrowInvalidSchedule(uint64 autoReleaseAt, uint64 expiresAt, uint64 currentTime);
    /// @dev the action needs another state.
    error CustodyEscrowUnexpectedState(bytes32 escrowId, EscrowState state);
    error CustodyEscrowNotApprover(bytes32 escrowId, address account);
    error CustodyEscrowNotPayerSide(bytes32 escrowId, address account);
    error CustodyEscrowAlreadyApproved(bytes32 escrowId, address approver);
    error CustodyEscrowExpired(bytes32 escrowId, uint64 expiresAt);
    error CustodyEscrowNotExpired(bytes32 escrowId, uint64 expiresAt);
    error CustodyEscrowCustodianApprovalNotRequired(bytes32 escrowId);
    error CustodyEscrowCustodianApprovalMissing(bytes32 escrowId);
    /**
     * @dev the rules released the escrow at `autoReleaseAt` (undisputed, custodian approval given if
     * required): it can no longer be disputed or refunded, only released.
     */
    error CustodyEscrowReleaseDue(bytes32 escrowId, uint64 autoReleaseAt);
    /// @dev neither the threshold is met nor the auto-release time has passed.
    error CustodyEscrowReleaseNotAllowed(
        bytes32 escrowId,
        uint8 approvalCount,
        uint8 threshold,
        uint64 autoReleaseAt
    );

    /**
     * @notice Opens escrow `escrowId` with `terms`. Whether the custodian's approval is also needed
     * is decided now, from the asset's custodian threshold.
     *
     * Requirements:
     * - the caller has PLATFORM_ROLE; the contract is not paused;
     * - `escrowId` is new, else {CustodyEscrowAlreadyExists} (a retried creation is recognisable);
     * - the terms are valid (see {Terms}).
     *
     * Emits an {EscrowCreated} event.
     */
    function createEscrow(bytes32 escrowId, Terms calldata terms) external;

    /**
     * @notice Records the caller's approval; releases in the same transaction when the escrow becomes
     * releasable (see {releasable}).
     *
     * Requirements:
     * - the contract is not paused; the escrow is Open and not expired;
     * - the caller is a listed approver that has not approved yet.
     *
     * Emits an {EscrowApproved} event, and an {EscrowReleased} event if it releases.
     */
    function approve(bytes32 escrowId) external;

    /**
     * @notice Records the custodian's additional approval of a large escrow; releases in the same
     * transaction when the escrow becomes releasable.
     *
     * Requirements:
     * - the caller has CUSTODIAN_ROLE; the contract is not paused; the escrow is Open and not expired;
     * - the escrow needs the custodian's approval and does not have it yet.
     *
     * Emits an {EscrowApproved} event, and an {EscrowReleased} event if it releases.
     */
    function approveAsCustodian(bytes32 escrowId) external;

    /**
     * @notice Disputes the escrow: approvals and auto-release stop; the custodian resolves it, or it
     * is refunded at expiry.
     *
     * Requirements:
     * - the contract is not paused; the escrow is Open and not expired;
     * - the caller is a payer-side approver;
     * - the rules have not released it yet (auto-release time reached with the custodian's approval if
     *   required), else {CustodyEscrowReleaseDue}.
     *
     * Emits an {EscrowDisputed} event.
     */
    function dispute(bytes32 escrowId) external;

    /**
     * @notice Ends a dispute: releases to the payee or refunds the payer.
     *
     * Requirements:
     * - the caller has CUSTODIAN_ROLE; the contract is not paused;
     * - the escrow is Disputed and not expired.
     *
     * Emits an {EscrowReleased} or {EscrowRefunded} event with `byResolution` true.
     */
    function resolveDispute(bytes32 escrowId, bool releaseToPayee) external;

    /**
     * @notice Releases an escrow that the rules released; anyone may call it (auto-release needs a
     * transaction). Also after `expiresAt`: the rules decided before it, whenever this is sent.
     *
     * Requirements:
     * - the contract is not paused; the escrow is Open;
     * - the threshold is met or the auto-release time has passed, and the custodian approved if
     *   required; otherwise it reverts with {CustodyEscrowExpired} once expired, else with
     *   {CustodyEscrowReleaseNotAllowed} or {CustodyEscrowCustodianApprovalMissing}.
     *
     * Emits an {EscrowReleased} event.
     */
    function release(bytes32 escrowId) external;

    /**
     * @notice Refunds an expired escrow that no rule released before its expiry; anyone may call it.
     *
     * Requirements:
     * - the contract is not paused; the escrow is Open or Disputed;
     * - `expiresAt` has passed, else {CustodyEscrowNotExpired};
     * - an Open escrow was not released by its rules (auto-release time reached, custodian approval
     *   given if required), else {CustodyEscrowReleaseDue}.
     *
     * Emits an {EscrowRefunded} event.
     */
    function refund(bytes32 escrowId) external;

    /**
     * @notice Sets the amount above which new escrows in `asset` need the custodian's approval; 0 = never.
     * Existing escrows keep what was decided at their creation.
     *
     * Requirements:
     * - the caller has DEFAULT_ADMIN_ROLE.
     *
     * Emits a {CustodianThresholdSet} event.
     */
    function setCustodianThreshold(bytes32 asset, uint128 amount) external;

    /// @notice The custodian threshold of `asset` (0 = custodian approval never required).
    function custodianThreshold(bytes32 asset) external view returns (uint128);

    /**
     * @notice Terms and status of escrow `escrowId`.
     *
     * Requirements:
     * - the escrow exists, else {CustodyEscrowNotFound}.
     */
    function getEscrow(bytes32 escrowId) external view returns (Terms memory terms, Status memory status);

    /// @notice Whether {release} would succeed now (false for an unknown escrow).
    function releasable(bytes32 escrowId) external view returns (bool);

    /// @notice Whether {refund} would succeed now (false for an unknown escrow).
    function refundable(bytes32 escrowId) external view returns (bool);
}
