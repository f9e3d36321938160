// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ICustodyEscrow} from "./interfaces/ICustodyEscrow.sol";

/**
 * @title CustodyEscrow
 * @notice Escrow rules for the custody ledger: who approves a release, when it auto-releases or
 * refunds, and who arbitrates a dispute. Reaching the approval threshold releases in the approving
 * transaction (one transaction instead of two); {release} exists for auto-release.
 *
 * Every transition reads and writes one packed status word, so transitions stay cheap; the terms
 * are written once at creation and only read afterwards.
 */
contract CustodyEscrow is ICustodyEscrow, AccessControl, Pausable {
    /// @notice Version of this contract's interface and storage semantics.
    string public constant VERSION = "1.0.0";

    bytes32 public constant PLATFORM_ROLE = keccak256("PLATFORM_ROLE");
    bytes32 public constant CUSTODIAN_ROLE = keccak256("CUSTODIAN_ROLE");
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /// @notice At most this many approvers per escrow (the approval bitmaps are 16 bits).
    uint256 public constant MAX_APPROVERS = 16;

    struct Record {
        bytes32 payer;
        bytes32 payee;
        bytes32 asset;
        bytes32 agreementHash;
        // slot: written at creation and once more at the terminal transition
        uint128 amount;
        uint64 createdAt;
        uint64 closedAt;
        // slot: everything a transition decides on
        EscrowState state;
        uint8 threshold;
        uint8 approvalCount;
        uint16 approvedMask;
        uint16 payerSideMask;
        bool custodianApprovalRequired;
        bool custodianApproved;
        uint64 autoReleaseAt;
        uint64 expiresAt;
        address[] approvers;
    }

    mapping(bytes32 escrowId => Record) private _escrows;
    /// @dev approvers[i] ↦ i + 1; 0 = not an approver of that escrow.
    mapping(bytes32 escrowId => mapping(address approver => uint256)) private _approverPosition;
    mapping(bytes32 asset => uint128) private _custodianThresholds;

    /// @param admin receives DEFAULT_ADMIN_ROLE, which grants and revokes every other role.
    constructor(address admin) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @inheritdoc ICustodyEscrow
    function createEscrow(
        bytes32 escrowId,
        Terms calldata terms
    ) external onlyRole(PLATFORM_ROLE) whenNotPaused {
        Record storage e = _escrows[escrowId];
        if (e.state != EscrowState.None) revert CustodyEscrowAlreadyExists(escrowId);
        uint256 n = _validateTerms(terms);
        for (uint256 i = 0; i < n; ++i) {
            address approver = terms.approvers[i];
            if (approver == address(0) || _approverPosition[escrowId][approver] != 0) {
                revert CustodyEscrowInvalidApprover(approver);
            }
            _approverPosition[escrowId][approver] = i + 1;
        }
        uint128 custodianLimit = _custodianThresholds[terms.asset];
        bool custodianRequired = custodianLimit != 0 && terms.amount > custodianLimit;

        e.payer = terms.payer;
        e.payee = terms.payee;
        e.asset = terms.asset;
        e.agreementHash = terms.agreementHash;
        e.amount = terms.amount;
        e.createdAt = uint64(block.timestamp);
        e.state = EscrowState.Open;
        e.threshold = terms.threshold;
        e.payerSideMask = terms.payerSideMask;
        e.custodianApprovalRequired = custodianRequired;
        e.autoReleaseAt = terms.autoReleaseAt;
        e.expiresAt = terms.expiresAt;
        e.approvers = terms.approvers;

        emit EscrowCreated(
            escrowId,
            terms.payer,
            terms.payee,
            terms.asset,
            terms.amount,
            terms.agreementHash,
            custodianRequired
        );
    }

    /// @inheritdoc ICustodyEscrow
    function approve(bytes32 escrowId) external whenNotPaused {
        Record storage e = _openUnexpired(escrowId);
        uint256 position = _approverPosition[escrowId][msg.sender];
        if (position == 0) revert CustodyEscrowNotApprover(escrowId, msg.sender);
        uint16 bit = uint16(1 << (position - 1));
        if (e.approvedMask & bit != 0) revert CustodyEscrowAlreadyApproved(escrowId, msg.sender);
        e.approvedMask |= bit;
        uint8 count = e.approvalCount + 1;
        e.approvalCount = count;
        emit EscrowApproved(escrowId, msg.sender, count, false);
        if (_releasable(e)) _release(escrowId, e, false);
    }

    /// @inheritdoc ICustodyEscrow
    function approveAsCustodian(bytes32 escrowId) external onlyRole(CUSTODIAN_ROLE) whenNotPaused {
        Record storage e = _openUnexpired(escrowId);
        if (!e.custodianApprovalRequired) revert CustodyEscrowCustodianApprovalNotRequired(escrowId);
        if (e.custodianApproved) revert CustodyEscrowAlreadyApproved(escrowId, msg.sender);
        e.custodianApproved = true;
        emit EscrowApproved(escrowId, msg.sender, e.approvalCount, true);
        if (_releasable(e)) _release(escrowId, e, false);
    }

    /// @inheritdoc ICustodyEscrow
    function dispute(bytes32 escrowId) external whenNotPaused {
        Record storage e = _openUnexpired(escrowId);
        uint256 position = _approverPosition[escrowId][msg.sender];
        if (position == 0 || (uint256(e.payerSideMask) >> (position - 1)) & 1 == 0) {
            revert CustodyEscrowNotPayerSide(escrowId, msg.sender);
        }
        e.state = EscrowState.Disputed;
        emit EscrowDisputed(escrowId, msg.sender);
    }

    /// @inheritdoc ICustodyEscrow
    function resolveDispute(
        bytes32 escrowId,
        bool releaseToPayee
    ) external onlyRole(CUSTODIAN_ROLE) whenNotPaused {
        Record storage e = _existing(escrowId);
        if (e.state != EscrowState.Disputed) revert CustodyEscrowUnexpectedState(escrowId, e.state);
        if (block.timestamp >= e.expiresAt) revert CustodyEscrowExpired(escrowId, e.expiresAt);
        if (releaseToPayee) {
            _release(escrowId, e, true);
        } else {
            _refund(escrowId, e, true);
        }
    }

    /// @inheritdoc ICustodyEscrow
    function release(bytes32 escrowId) external whenNotPaused {
        Record storage e = _openUnexpired(escrowId);
        if (!_ruleAllowsRelease(e)) {
            revert CustodyEscrowReleaseNotAllowed(escrowId, e.approvalCount, e.threshold, e.autoReleaseAt);
        }
        if (e.custodianApprovalRequired && !e.custodianApproved)
            revert CustodyEscrowCustodianApprovalMissing(escrowId);
        _release(escrowId, e, false);
    }

    /// @inheritdoc ICustodyEscrow
    function refund(bytes32 escrowId) external whenNotPaused {
        Record storage e = _existing(escrowId);
        EscrowState state = e.state;
        if (state != EscrowState.Open && state != EscrowState.Disputed) {
            revert CustodyEscrowUnexpectedState(escrowId, state);
        }
        if (block.timestamp < e.expiresAt) revert CustodyEscrowNotExpired(escrowId, e.expiresAt);
        _refund(escrowId, e, false);
    }

    /// @inheritdoc ICustodyEscrow
    function setCustodianThreshold(bytes32 asset, uint128 amount) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _custodianThresholds[asset] = amount;
        emit CustodianThresholdSet(asset, amount);
    }

    /// @inheritdoc ICustodyEscrow
    function custodianThreshold(bytes32 asset) external view returns (uint128) {
        return _custodianThresholds[asset];
    }

    /// @inheritdoc ICustodyEscrow
    function getEscrow(bytes32 escrowId) external view returns (Terms memory terms, Status memory status) {
        Record storage e = _existing(escrowId);
        terms = Terms({
            payer: e.payer,
            payee: e.payee,
            asset: e.asset,
            amount: e.amount,
            approvers: e.approvers,
            payerSideMask: e.payerSideMask,
            threshold: e.threshold,
            autoReleaseAt: e.autoReleaseAt,
            expiresAt: e.expiresAt,
            agreementHash: e.agreementHash
        });
        status = Status({
            state: e.state,
            approvalCount: e.approvalCount,
            approvedMask: e.approvedMask,
            custodianApprovalRequired: e.custodianApprovalRequired,
            custodianApproved: e.custodianApproved,
            createdAt: e.createdAt,
            closedAt: e.closedAt
        });
    }

    /// @inheritdoc ICustodyEscrow
    function releasable(bytes32 escrowId) external view returns (bool) {
        Record storage e = _escrows[escrowId];
        return !paused() && e.state == EscrowState.Open && block.timestamp < e.expiresAt && _releasable(e);
    }

    /// @inheritdoc ICustodyEscrow
    function refundable(bytes32 escrowId) external view returns (bool) {
        Record storage e = _escrows[escrowId];
        return
            !paused() &&
            (e.state == EscrowState.Open || e.state == EscrowState.Disputed) &&
            block.timestamp >= e.expiresAt;
    }

    /**
     * @notice Stops every transition and creation until {unpause}. Time keeps running: an escrow may
     * expire while paused, and then only a refund remains.
     *
     * Requirements:
     * - the caller has PAUSER_ROLE; the contract is not paused.
     *
     * Emits a {Paused} event.
     */
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /**
     * @notice Resumes transitions and creation.
     *
     * Requirements:
     * - the caller has PAUSER_ROLE; the contract is paused.
     *
     * Emits an {Unpaused} event.
     */
    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    /// @dev Checks everything in `terms` but the approvers' uniqueness; returns the approver count.
    function _validateTerms(Terms calldata terms) private view returns (uint256 n) {
        if (terms.payer == bytes32(0) || terms.payee == bytes32(0) || terms.payer == terms.payee) {
            revert CustodyEscrowInvalidParties(terms.payer, terms.payee);
        }
        if (terms.amount == 0) revert CustodyEscrowInvalidAmount(terms.amount);
        n = terms.approvers.length;
        if (
            n == 0 ||
            n > MAX_APPROVERS ||
            terms.threshold == 0 ||
            terms.threshold > n ||
            (uint256(terms.payerSideMask) >> n) != 0
        ) {
            revert CustodyEscrowInvalidApprovers(n, terms.threshold, terms.payerSideMask);
        }
        if (
            terms.expiresAt <= block.timestamp ||
            (terms.autoReleaseAt != 0 && terms.autoReleaseAt >= terms.expiresAt)
        ) {
            revert CustodyEscrowInvalidSchedule(
                terms.autoReleaseAt,
                terms.expiresAt,
                uint64(block.timestamp)
            );
        }
    }

    function _existing(bytes32 escrowId) private view returns (Record storage e) {
        e = _escrows[escrowId];
        if (e.state == EscrowState.None) revert CustodyEscrowNotFound(escrowId);
    }

    function _openUnexpired(bytes32 escrowId) private view returns (Record storage e) {
        e = _existing(escrowId);
        if (e.state != EscrowState.Open) revert CustodyEscrowUnexpectedState(escrowId, e.state);
        if (block.timestamp >= e.expiresAt) revert CustodyEscrowExpired(escrowId, e.expiresAt);
    }

    /// @dev Threshold met, or auto-release time reached (an Open escrow has not been disputed).
    function _ruleAllowsRelease(Record storage e) private view returns (bool) {
        return e.approvalCount >= e.threshold || (e.autoReleaseAt != 0 && block.timestamp >= e.autoReleaseAt);
    }

    /// @dev Requires an Open, unexpired escrow.
    function _releasable(Record storage e) private view returns (bool) {
        return _ruleAllowsRelease(e) && (!e.custodianApprovalRequired || e.custodianApproved);
    }

    function _release(bytes32 escrowId, Record storage e, bool byResolution) private {
        e.state = EscrowState.Released;
        e.closedAt = uint64(block.timestamp);
        emit EscrowReleased(escrowId, e.amount, byResolution);
    }

    function _refund(bytes32 escrowId, Record storage e, bool byResolution) private {
        e.state = EscrowState.Refunded;
        e.closedAt = uint64(block.timestamp);
        emit EscrowRefunded(escrowId, e.amount, byResolution);
    }
}
