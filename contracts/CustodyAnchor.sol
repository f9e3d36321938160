// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {AccessControlDefaultAdminRules} from "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ICustodyAnchor} from "./interfaces/ICustodyAnchor.sol";
import {LogProof} from "./libraries/LogProof.sol";

/**
 * @title CustodyAnchor
 * @notice Anchors the heads of the custody log (RFC 9162, SHA-256) and verifies receipts against them.
 *
 * Storage per head: one slot for the root hash, and 128 bits of head info (tree size uint48,
 * timestamp uint40, block number uint40) in a slot shared by two heads: head 2k in the low half,
 * head 2k+1 in the high half. The latest head's info also sits in the word holding the pause flag
 * and the head count, which every anchor reads and writes anyway; so an even head costs no info
 * write at all, and its odd successor writes the pair's slot once, both halves together. The
 * metadata hash lives only in the {HeadAnchored} event: another slot would add ~22k gas to every
 * anchor.
 */
contract CustodyAnchor is ICustodyAnchor, AccessControlDefaultAdminRules, Pausable {
    /// @notice Version of this contract's interface and storage semantics.
    string public constant VERSION = "1.1.0";

    bytes32 public constant ANCHORER_ROLE = keccak256("ANCHORER_ROLE");
    bytes32 public constant AUDITOR_ROLE = keccak256("AUDITOR_ROLE");
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /// @dev The largest tree size that can be anchored: sizes are stored in 48 bits.
    uint64 private constant _MAX_TREE_SIZE = type(uint48).max;

    // Packed next to Pausable's `_paused` flag (declaration order matters).
    uint64 private _headCount;
    /// @dev The info of head `_headCount - 1` (zero before the first head), see {_packInfo}.
    uint128 private _latestInfo;

    mapping(uint256 headIndex => bytes32) private _roots;
    /// @dev The info of heads 2k (low 128 bits) and 2k+1 (high 128 bits), see {_packInfo}.
    mapping(uint256 pairIndex => uint256) private _headInfoPairs;
    mapping(uint256 headIndex => mapping(address auditor => Attestation)) private _attestations;

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

    /// @inheritdoc ICustodyAnchor
    function anchor(
        uint64 newSize,
        bytes32 newRoot,
        bytes32[] calldata consistencyProof,
        bytes32 metadataHash
    ) external onlyRole(ANCHORER_ROLE) returns (uint256 headIndex) {
        // One read of the word holding Pausable's flag (the bytes below `_headCount`), the head count
        // and the latest info stands for `whenNotPaused` and two field reads; one whole-word write at
        // the end stands for a read-modify-write. Saves two warm reads (~200 gas).
        bool isPaused;
        uint128 previousInfo;
        assembly ("memory-safe") {
            let word := sload(_headCount.slot)
            isPaused := and(word, sub(shl(shl(3, _headCount.offset), 1), 1))
            headIndex := and(shr(shl(3, _headCount.offset), word), 0xffffffffffffffff)
            previousInfo := and(shr(shl(3, _latestInfo.offset), word), 0xffffffffffffffffffffffffffffffff)
        }
        if (isPaused) revert EnforcedPause();
        uint64 previousSize = uint48(previousInfo);
        if (newSize <= previousSize) revert CustodyAnchorTreeSizeNotIncreasing(previousSize, newSize);
        if (newSize > _MAX_TREE_SIZE) revert CustodyAnchorTreeSizeTooLarge(newSize, _MAX_TREE_SIZE);
        if (headIndex == 0) {
            if (consistencyProof.length != 0) revert CustodyAnchorUnexpectedProof(consistencyProof.length);
        } else {
            bytes32 previousRoot;
            unchecked {
                previousRoot = _roots[headIndex - 1];
            }
            if (!LogProof.verifyConsistency(previousSize, previousRoot, newSize, newRoot, consistencyProof)) {
                revert CustodyAnchorInvalidConsistencyProof(previousSize, previousRoot, newSize, newRoot);
            }
        }
        _roots[headIndex] = newRoot;
        uint128 info = _packInfo(newSize);
        // An even head waits in the latest-info slot (written anyway); its odd successor writes both.
        if (headIndex & 1 == 1) {
            _headInfoPairs[headIndex >> 1] = uint256(previousInfo) | (uint256(info) << 128);
        }
        // Not paused (checked above), so the flag bytes are zero. At most 2^48 - 1 heads (sizes grow).
        assembly ("memory-safe") {
            sstore(
                _headCount.slot,
                or(shl(shl(3, _headCount.offset), add(headIndex, 1)), shl(shl(3, _latestInfo.offset), info))
            )
        }
        emit HeadAnchored(headIndex, newSize, newRoot, metadataHash);
    }

    /// @inheritdoc ICustodyAnchor
    function verifyInclusion(
        uint256 headIndex,
        uint64 leafIndex,
        bytes32 leafHash,
        bytes32[] calldata proof
    ) external view returns (bool) {
        _requireHead(headIndex);
        return LogProof.verifyInclusion(_roots[headIndex], _treeSize(headIndex), leafIndex, leafHash, proof);
    }

    /// @inheritdoc ICustodyAnchor
    function verifyConsistency(
        uint256 fromHeadIndex,
        uint256 toHeadIndex,
        bytes32[] calldata proof
    ) external view returns (bool) {
        _requireHead(fromHeadIndex);
        _requireHead(toHeadIndex);
        if (fromHeadIndex > toHeadIndex) return false;
        return
            LogProof.verifyConsistency(
                _treeSize(fromHeadIndex),
                _roots[fromHeadIndex],
                _treeSize(toHeadIndex),
                _roots[toHeadIndex],
                proof
            );
    }

    /// @inheritdoc ICustodyAnchor
    function headCount() external view returns (uint256) {
        return _headCount;
    }

    /// @inheritdoc ICustodyAnchor
    function getHead(uint256 headIndex) external view returns (Head memory) {
        _requireHead(headIndex);
        return _head(headIndex);
    }

    /// @inheritdoc ICustodyAnchor
    function latestHead() external view returns (uint256 headIndex, Head memory head) {
        uint256 count = _headCount;
        if (count == 0) revert CustodyAnchorNoHeads();
        headIndex = count - 1;
        head = _head(headIndex);
    }

    /// @inheritdoc ICustodyAnchor
    function latestTreeSize() external view returns (uint64) {
        return uint48(_latestInfo);
    }

    /// @inheritdoc ICustodyAnchor
    function headCovering(uint64 leafIndex) external view returns (uint256 headIndex) {
        uint256 count = _headCount;
        uint64 latestSize = uint48(_latestInfo);
        if (leafIndex >= latestSize) revert CustodyAnchorLeafNotCovered(leafIndex, latestSize);
        // Tree sizes strictly increase: find the first head with treeSize > leafIndex.
        uint256 low = 0;
        uint256 high = count - 1;
        while (low < high) {
            uint256 mid = (low + high) / 2;
            if (_treeSize(mid) > leafIndex) {
                high = mid;
            } else {
                low = mid + 1;
            }
        }
        return low;
    }

    /// @inheritdoc ICustodyAnchor
    function attest(uint256 headIndex, bytes32 reportHash, bool passed) external onlyRole(AUDITOR_ROLE) {
        _requireHead(headIndex);
        Attestation storage attestation = _attestations[headIndex][msg.sender];
        if (attestation.timestamp != 0) revert CustodyAnchorAlreadyAttested(headIndex, msg.sender);
        attestation.reportHash = reportHash;
        attestation.passed = passed;
        attestation.timestamp = uint64(block.timestamp);
        emit AuditAttested(headIndex, msg.sender, reportHash, passed);
    }

    /// @inheritdoc ICustodyAnchor
    function getAttestation(uint256 headIndex, address auditor) external view returns (Attestation memory) {
        return _attestations[headIndex][auditor];
    }

    /**
     * @notice Stops anchoring until {unpause}. Views and attestations keep working.
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
     * @notice Resumes anchoring.
     *
     * Requirements:
     * - the caller has PAUSER_ROLE; the contract is paused.
     *
     * Emits an {Unpaused} event.
     */
    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    function _requireHead(uint256 headIndex) private view {
        uint256 count = _headCount;
        if (headIndex >= count) revert CustodyAnchorUnknownHead(headIndex, count);
    }

    /**
     * @dev treeSize | timestamp << 48 | blockNumber << 88 in 128 bits. Requires `treeSize < 2^48`.
     * Timestamps and block numbers fit 40 bits for thousands of years (2^40 s ≈ 34,800 years, and
     * as many years of 1-second blocks).
     */
    function _packInfo(uint64 treeSize) private view returns (uint128) {
        return
            uint128(treeSize) |
            (uint128(uint40(block.timestamp)) << 48) |
            (uint128(uint40(block.number)) << 88);
    }

    /// @dev The packed info of anchored head `headIndex`. Requires `headIndex < _headCount`.
    function _info(uint256 headIndex) private view returns (uint128) {
        // The latest head may be an even one whose pair slot is not written yet.
        if (headIndex + 1 == _headCount) return _latestInfo;
        return uint128(_headInfoPairs[headIndex >> 1] >> ((headIndex & 1) << 7));
    }

    function _treeSize(uint256 headIndex) private view returns (uint64) {
        return uint48(_info(headIndex));
    }

    function _head(uint256 headIndex) private view returns (Head memory) {
        uint128 info = _info(headIndex);
        return
            Head({
                rootHash: _roots[headIndex],
                treeSize: uint48(info),
                timestamp: uint40(info >> 48),
                blockNumber: uint40(info >> 88),
                metadataHash: bytes32(0)
            });
    }
}
