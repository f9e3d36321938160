// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {AccessControlDefaultAdminRules} from "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IERC5267} from "@openzeppelin/contracts/interfaces/IERC5267.sol";
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
 *
 * Optional cosigner (the custodian): when set at deployment, a head is accepted only through
 * {anchorCosigned}, with the cosigner's EIP-712 signature over the head, so the anchorer's key alone
 * can neither anchor nor block anchoring with a bogus extension. The cosigner is an immutable: it
 * lives in the bytecode, so reading it costs 3 gas where a storage slot would cost a cold 2,100 on
 * every anchor. Rotating it means a new deployment (see docs/contracts-v1.md).
 */
contract CustodyAnchor is ICustodyAnchor, IERC5267, AccessControlDefaultAdminRules, Pausable {
    /// @notice Version of this contract's interface and storage semantics.
    string public constant VERSION = "1.2.0";

    /// @notice EIP-712 type of the cosigner's approval of one head (domain: "CustodyAnchor", "1").
    bytes32 public constant ANCHOR_COSIGNATURE_TYPEHASH = keccak256(
        "AnchorCosignature(uint256 headIndex,uint64 previousSize,uint64 newSize,bytes32 newRoot,bytes32 metadataHash)"
    );

    bytes32 public constant ANCHORER_ROLE = keccak256("ANCHORER_ROLE");
    bytes32 public constant AUDITOR_ROLE = keccak256("AUDITOR_ROLE");
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /// @dev The largest tree size that can be anchored: sizes are stored in 48 bits.
    uint64 private constant _MAX_TREE_SIZE = type(uint48).max;

    /// @dev The custodian whose cosignature every head needs; zero: none, plain {anchor} as before.
    address private immutable _COSIGNER;

    // EIP-712 domain {name: "CustodyAnchor", version: "1", chainId, verifyingContract}, done here
    // rather than with OpenZeppelin's EIP712: that one imports Strings and Bytes, whose `mcopy` would
    // stop this contract from compiling for pre-cancun chains (docs/besu.md). Same caching scheme.
    bytes32 private constant _DOMAIN_TYPEHASH = keccak256(
        "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
    );
    bytes32 private constant _HASHED_NAME = keccak256("CustodyAnchor");
    bytes32 private constant _HASHED_VERSION = keccak256("1");
    bytes32 private immutable _CACHED_DOMAIN_SEPARATOR;
    uint256 private immutable _CACHED_CHAIN_ID;
    address private immutable _CACHED_THIS;

    // Packed next to Pausable's `_paused` flag (declaration order matters, and so does the order of
    // the bases: Pausable must be the last one with storage).
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
     * @param cosigner_ the address whose EIP-712 cosignature every head needs ({anchorCosigned}), or
     * zero for none ({anchor} only). Fixed for the life of the contract.
     */
    constructor(
        address admin,
        uint48 adminTransferDelay,
        address cosigner_
    ) AccessControlDefaultAdminRules(adminTransferDelay, admin) {
        _COSIGNER = cosigner_;
        _CACHED_CHAIN_ID = block.chainid;
        _CACHED_THIS = address(this);
        _CACHED_DOMAIN_SEPARATOR = _buildDomainSeparator();
    }

    /// @inheritdoc ICustodyAnchor
    function anchor(
        uint64 newSize,
        bytes32 newRoot,
        bytes32[] calldata consistencyProof,
        bytes32 metadataHash
    ) external onlyRole(ANCHORER_ROLE) returns (uint256 headIndex) {
        if (_COSIGNER != address(0)) revert CustodyAnchorCosignatureRequired(_COSIGNER);
        uint128 previousInfo;
        (headIndex, previousInfo) = _readCountWord();
        _append(headIndex, previousInfo, newSize, newRoot, consistencyProof, metadataHash);
    }

    /// @inheritdoc ICustodyAnchor
    function anchorCosigned(
        uint64 newSize,
        bytes32 newRoot,
        bytes32[] calldata consistencyProof,
        bytes32 metadataHash,
        bytes calldata cosignature
    ) external onlyRole(ANCHORER_ROLE) returns (uint256 headIndex) {
        address expected = _COSIGNER;
        if (expected == address(0)) revert CustodyAnchorNoCosigner();
        uint128 previousInfo;
        (headIndex, previousInfo) = _readCountWord();
        _requireCosignature(
            _cosignatureDigest(headIndex, uint48(previousInfo), newSize, newRoot, metadataHash),
            cosignature,
            expected
        );
        _append(headIndex, previousInfo, newSize, newRoot, consistencyProof, metadataHash);
    }

    /// @inheritdoc ICustodyAnchor
    function cosigner() external view returns (address) {
        return _COSIGNER;
    }

    /// @inheritdoc ICustodyAnchor
    function cosignatureDigest(
        uint256 headIndex,
        uint64 previousSize,
        uint64 newSize,
        bytes32 newRoot,
        bytes32 metadataHash
    ) external view returns (bytes32) {
        return _cosignatureDigest(headIndex, previousSize, newSize, newRoot, metadataHash);
    }

    /// @dev Reverts unless `cosignature` is `expected`'s canonical (low-s, v 27/28) signature of `digest`.
    function _requireCosignature(bytes32 digest, bytes calldata cosignature, address expected) private pure {
        if (cosignature.length != 65) revert CustodyAnchorCosignatureLength(cosignature.length);
        bytes32 r;
        bytes32 s;
        uint8 v;
        assembly ("memory-safe") {
            r := calldataload(cosignature.offset)
            s := calldataload(add(cosignature.offset, 0x20))
            v := byte(0, calldataload(add(cosignature.offset, 0x40)))
        }
        // ecrecover returns no address for other v values, and ECDSA refuses high s: named errors instead.
        if (v != 27 && v != 28) revert CustodyAnchorCosignatureInvalidV(v);
        (address signer, ECDSA.RecoverError err, ) = ECDSA.tryRecover(digest, v, r, s);
        if (err == ECDSA.RecoverError.InvalidSignatureS) revert CustodyAnchorCosignatureHighS(s);
        // A signature that recovers no address (InvalidSignature) reports `signer` zero.
        if (signer != expected) revert CustodyAnchorWrongCosigner(signer, expected);
    }

    /// @inheritdoc IERC5267
    function eip712Domain()
        external
        view
        returns (
            bytes1 fields,
            string memory name,
            string memory version,
            uint256 chainId,
            address verifyingContract,
            bytes32 salt,
            uint256[] memory extensions
        )
    {
        return (hex"0f", "CustodyAnchor", "1", block.chainid, address(this), bytes32(0), new uint256[](0));
    }

    /// @dev The domain separator: cached at deployment, rebuilt on another chain (a fork) or address.
    function _domainSeparator() private view returns (bytes32) {
        if (address(this) == _CACHED_THIS && block.chainid == _CACHED_CHAIN_ID)
            return _CACHED_DOMAIN_SEPARATOR;
        return _buildDomainSeparator();
    }

    function _buildDomainSeparator() private view returns (bytes32) {
        return
            keccak256(
                abi.encode(_DOMAIN_TYPEHASH, _HASHED_NAME, _HASHED_VERSION, block.chainid, address(this))
            );
    }

    function _cosignatureDigest(
        uint256 headIndex,
        uint64 previousSize,
        uint64 newSize,
        bytes32 newRoot,
        bytes32 metadataHash
    ) private view returns (bytes32 digest) {
        bytes32 structHash = keccak256(
            abi.encode(ANCHOR_COSIGNATURE_TYPEHASH, headIndex, previousSize, newSize, newRoot, metadataHash)
        );
        bytes32 domainSeparator = _domainSeparator();
        // keccak256("\x19\x01" ‖ domainSeparator ‖ structHash) (EIP-712), built in scratch memory past
        // the free pointer, which is not moved: nothing else is allocated in between.
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, hex"1901")
            mstore(add(ptr, 0x02), domainSeparator)
            mstore(add(ptr, 0x22), structHash)
            digest := keccak256(ptr, 0x42)
        }
    }

    /**
     * @dev The next head's index and the latest head's packed info; reverts {EnforcedPause} when paused.
     * One read of the word holding Pausable's flag (the bytes below `_headCount`), the head count
     * and the latest info stands for `whenNotPaused` and two field reads; one whole-word write in
     * {_append} stands for a read-modify-write. Saves two warm reads (~200 gas).
     */
    function _readCountWord() private view returns (uint256 headIndex, uint128 previousInfo) {
        bool isPaused;
        assembly ("memory-safe") {
            let word := sload(_headCount.slot)
            isPaused := and(word, sub(shl(shl(3, _headCount.offset), 1), 1))
            headIndex := and(shr(shl(3, _headCount.offset), word), 0xffffffffffffffff)
            previousInfo := and(shr(shl(3, _latestInfo.offset), word), 0xffffffffffffffffffffffffffffffff)
        }
        if (isPaused) revert EnforcedPause();
    }

    /// @dev Checks and stores head `headIndex` after the head whose info is `previousInfo`; emits {HeadAnchored}.
    function _append(
        uint256 headIndex,
        uint128 previousInfo,
        uint64 newSize,
        bytes32 newRoot,
        bytes32[] calldata consistencyProof,
        bytes32 metadataHash
    ) private {
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
        // Not paused (checked by {_readCountWord}), so the flag bytes are zero. At most 2^48 - 1 heads (sizes grow).
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
