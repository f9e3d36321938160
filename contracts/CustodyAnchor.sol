// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ICustodyAnchor} from "./interfaces/ICustodyAnchor.sol";
import {LogProof} from "./libraries/LogProof.sol";

/**
 * @title CustodyAnchor
 * @notice Anchors the heads of the custody log (RFC 9162, SHA-256) and verifies receipts against them.
 *
 * Storage per head is two fresh slots: the root hash, and one word packing tree size, timestamp and
 * block number (64 bits each). The metadata hash lives only in the {HeadAnchored} event: a third
 * slot would add ~22k gas to every anchor. The head count and the latest tree size share a slot with
 * the pause flag, so an anchor reads that slot once.
 */
contract CustodyAnchor is ICustodyAnchor, AccessControl, Pausable {
    /// @notice Version of this contract's interface and storage semantics.
    string public constant VERSION = "1.0.0";

    bytes32 public constant ANCHORER_ROLE = keccak256("ANCHORER_ROLE");
    bytes32 public constant AUDITOR_ROLE = keccak256("AUDITOR_ROLE");
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    // Packed next to Pausable's `_paused` flag (declaration order matters).
    uint64 private _headCount;
    uint64 private _latestTreeSize;

    mapping(uint256 headIndex => bytes32) private _roots;
    /// @dev treeSize | timestamp << 64 | blockNumber << 128.
    mapping(uint256 headIndex => uint256) private _packedHeads;
    mapping(uint256 headIndex => mapping(address auditor => Attestation)) private _attestations;

    /// @param admin receives DEFAULT_ADMIN_ROLE, which grants and revokes every other role.
    constructor(address admin) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @inheritdoc ICustodyAnchor
    function anchor(
        uint64 newSize,
        bytes32 newRoot,
        bytes32[] calldata consistencyProof,
        bytes32 metadataHash
    ) external onlyRole(ANCHORER_ROLE) whenNotPaused returns (uint256 headIndex) {
        headIndex = _headCount;
        uint64 previousSize = _latestTreeSize;
        if (newSize <= previousSize) revert CustodyAnchorTreeSizeNotIncreasing(previousSize, newSize);
        if (headIndex == 0) {
            if (consistencyProof.length != 0) revert CustodyAnchorUnexpectedProof(consistencyProof.length);
        } else {
            bytes32 previousRoot = _roots[headIndex - 1];
            if (!LogProof.verifyConsistency(previousSize, previousRoot, newSize, newRoot, consistencyProof)) {
                revert CustodyAnchorInvalidConsistencyProof(previousSize, previousRoot, newSize, newRoot);
            }
        }
        _roots[headIndex] = newRoot;
        _packedHeads[headIndex] =
            uint256(newSize) |
            (uint256(uint64(block.timestamp)) << 64) |
            (uint256(uint64(block.number)) << 128);
        _headCount = uint64(headIndex + 1);
        _latestTreeSize = newSize;
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
    function headCovering(uint64 leafIndex) external view returns (uint256 headIndex) {
        uint256 count = _headCount;
        if (leafIndex >= _latestTreeSize) revert CustodyAnchorLeafNotCovered(leafIndex, _latestTreeSize);
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

    function _treeSize(uint256 headIndex) private view returns (uint64) {
        return uint64(_packedHeads[headIndex]);
    }

    function _head(uint256 headIndex) private view returns (Head memory) {
        uint256 packed = _packedHeads[headIndex];
        return
            Head({
                rootHash: _roots[headIndex],
                treeSize: uint64(packed),
                timestamp: uint64(packed >> 64),
                blockNumber: uint64(packed >> 128),
                metadataHash: bytes32(0)
            });
    }
}
