// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {AccessControlDefaultAdminRules} from "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
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
contract CustodyEscrow is ICustodyEscrow, AccessControlDefaultAdminRules, Pausable {
    /// @notice Version of this contract's interface and storage semantics.
    string public constant VERSION = "1.1.0";

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

    /**
     * @param admin receives DEFAULT_ADMIN_ROLE, which grants and revokes every other role. It is held
     * by one account at a time and changes hands in two steps: {beginDefaultAdminTransfer}, then
     * {acceptDefaultAdminTransfer} by the new admin once `adminTransferDelay` seconds have passed.
     * @param adminTransferDelay seconds between the two steps (changing it is itself delayed).
     */
    constructor(
        address admin,
        uint48 adminTransferDelay
    ) AccessControlDefaultAdminRules(adminTransferDelay, admin) {}

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
        // The rules released it already (at autoReleaseAt); a late dispute cannot undo that.
        if (_releasable(e)) revert CustodyEscrowReleaseDue(escrowId, e.autoReleaseAt);
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
        Record storage e = _existing(escrowId);
        if (e.state != EscrowState.Open) revert CustodyEscrowUnexpectedState(escrowId, e.state);
        // Releasable after expiry too: the deciding condition was met before it (see _releasable).
        if (_releasable(e)) {
            _release(escrowId, e, false);
            return;
        }
        if (block.timestamp >= e.expiresAt) revert CustodyEscrowExpired(escrowId, e.expiresAt);
        if (!_ruleAllowsRelease(e)) {
            revert CustodyEscrowReleaseNotAllowed(escrowId, e.approvalCount, e.threshold, e.autoReleaseAt);
        }
        revert CustodyEscrowCustodianApprovalMissing(escrowId);
    }

    /// @inheritdoc ICustodyEscrow
    function refund(bytes32 escrowId) external whenNotPaused {
        Record storage e = _existing(escrowId);
        EscrowState state = e.state;
        if (state != EscrowState.Open && state != EscrowState.Disputed) {
            revert CustodyEscrowUnexpectedState(escrowId, state);
        }
        if (block.timestamp < e.expiresAt) revert CustodyEscrowNotExpired(escrowId, e.expiresAt);
        if (state == EscrowState.Open && _releasable(e)) {
            revert CustodyEscrowReleaseDue(escrowId, e.autoReleaseAt);
        }
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
        return !paused() && e.state == EscrowState.Open && _releasable(e);
    }

    /// @inheritdoc ICustodyEscrow
    function refundable(bytes32 escrowId) external view returns (bool) {
        Record storage e = _escrows[escrowId];
        return
            !paused() &&
            (e.state == EscrowState.Disputed || (e.state == EscrowState.Open && !_releasable(e))) &&
            block.timestamp >= e.expiresAt;
    }

    /**
     * @notice Stops every transition and creation until {unpause}. Time keeps running, but a pause
     * never changes an outcome: an escrow whose auto-release time passed (undisputed, custodian
     * approval given if required) is released after {unpause} even if it expired meanwhile, and one
     * that no rule released before its expiry is refunded.
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

    /**
     * @dev For an Open escrow: the rules have released it. Approvals and the custodian's approval
     * are only accepted before expiry and autoReleaseAt < expiresAt, so once true this was already
     * true at a time before expiry, whenever the transaction that records it is sent.
     */
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
