// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {AccessControlDefaultAdminRules} from "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {ICustodyAnchor} from "./interfaces/ICustodyAnchor.sol";
import {ICustodySolvency} from "./interfaces/ICustodySolvency.sol";

/**
 * @title CustodySolvency
 * @notice Reserves attested by the custodian bank against the platform's liabilities sum tree, per
 * asset and business day (see {ICustodySolvency}).
 *
 * Storage per (asset, day): one packed word (reserves, liabilities, log size, height, flags) that
 * both sides write, so the side arriving second finds the other's amount in the word it updates;
 * the root hash and the statement hash each in a slot of their own. The first record of a day
 * writes two new slots; attestations and commitments each stay below 80k gas.
 */
contract CustodySolvency is ICustodySolvency, AccessControlDefaultAdminRules, EIP712 {
    /// @notice Version of this contract's interface and storage semantics.
    string public constant VERSION = "1.1.0";

    bytes32 public constant PLATFORM_ROLE = keccak256("PLATFORM_ROLE");
    bytes32 public constant CUSTODIAN_ROLE = keccak256("CUSTODIAN_ROLE");

    /// @notice EIP-712 type hash of a custodian's signed attestation.
    bytes32 public constant RESERVES_ATTESTATION_TYPEHASH = keccak256(
        "ReservesAttestation(bytes32 asset,uint32 day,uint128 reserves,bytes32 statementHash)"
    );

    uint64 private constant _MAX_LEAF_COUNT = 1 << 32;
    uint8 private constant _ATTESTED = 1;
    uint8 private constant _COMMITTED = 2;

    /// @dev rootSum < 2^32 × 2^64 always fits 96 bits; reserves are capped there; log sizes by the anchor's 2^48.
    struct Day {
        uint96 reserves;
        uint96 liabilities;
        uint48 logSize;
        uint8 height;
        uint8 flags;
    }

    ICustodyAnchor private immutable _ANCHOR;

    mapping(bytes32 asset => mapping(uint32 day => Day)) private _days;
    mapping(bytes32 asset => mapping(uint32 day => bytes32)) private _rootHashes;
    mapping(bytes32 asset => mapping(uint32 day => bytes32)) private _statementHashes;

    /**
     * @param admin receives DEFAULT_ADMIN_ROLE, which grants and revokes every other role. As on
     * CustodyAnchor and CustodyEscrow, it is held by one account at a time and changes hands in two
     * steps ({beginDefaultAdminTransfer}, then {acceptDefaultAdminTransfer} after the delay).
     * @param adminTransferDelay seconds between the two steps (changing it is itself delayed).
     * @param anchor_ the CustodyAnchor whose latest head bounds committed log sizes.
     */
    constructor(
        address admin,
        uint48 adminTransferDelay,
        ICustodyAnchor anchor_
    ) AccessControlDefaultAdminRules(adminTransferDelay, admin) EIP712("CustodySolvency", "1") {
        _ANCHOR = anchor_;
    }

    /// @inheritdoc ICustodySolvency
    function attestReserves(
        bytes32 asset,
        uint32 day,
        uint128 reserves,
        bytes32 statementHash
    ) external onlyRole(CUSTODIAN_ROLE) {
        _attest(msg.sender, asset, day, reserves, statementHash);
    }

    /// @inheritdoc ICustodySolvency
    function attestReservesWithSignature(
        bytes32 asset,
        uint32 day,
        uint128 reserves,
        bytes32 statementHash,
        bytes calldata signature
    ) external {
        bytes32 digest = _hashTypedDataV4(
            keccak256(abi.encode(RESERVES_ATTESTATION_TYPEHASH, asset, day, reserves, statementHash))
        );
        address signer = ECDSA.recover(digest, signature);
        if (!hasRole(CUSTODIAN_ROLE, signer)) revert CustodySolvencyUnauthorizedSigner(signer);
        _attest(signer, asset, day, reserves, statementHash);
    }

    /// @inheritdoc ICustodySolvency
    function commitSnapshot(
        bytes32 asset,
        uint32 day,
        uint64 logSize,
        bytes32 rootHash,
        uint128 rootSum,
        uint64 leafCount
    ) external onlyRole(PLATFORM_ROLE) {
        if (leafCount == 0 || leafCount > _MAX_LEAF_COUNT || leafCount & (leafCount - 1) != 0) {
            revert CustodySolvencyInvalidLeafCount(leafCount);
        }
        // leafCount <= 2^32, so the bound fits 96 bits.
        if (uint256(rootSum) >= uint256(leafCount) << 64)
            revert CustodySolvencyRootSumOutOfRange(rootSum, leafCount);
        Day memory d = _days[asset][day];
        if (d.flags & _COMMITTED != 0) revert CustodySolvencyAlreadyCommitted(asset, day);
        uint64 anchoredSize = _ANCHOR.latestTreeSize();
        if (logSize > anchoredSize) revert CustodySolvencyLogSizeNotAnchored(logSize, anchoredSize);
        d.liabilities = uint96(rootSum);
        d.logSize = uint48(logSize);
        // leafCount is a power of two in 1..2^32, so its bit index is the height.
        d.height = uint8(Math.log2(leafCount));
        d.flags |= _COMMITTED;
        _days[asset][day] = d;
        _rootHashes[asset][day] = rootHash;
        emit SnapshotCommitted(asset, day, logSize, rootHash, rootSum, leafCount);
        if (d.flags & _ATTESTED != 0) _compare(asset, day, d.reserves, rootSum);
    }

    /// @inheritdoc ICustodySolvency
    function getReserves(bytes32 asset, uint32 day) external view returns (Reserves memory) {
        Day memory d = _days[asset][day];
        return
            Reserves({
                attested: d.flags & _ATTESTED != 0,
                amount: d.reserves,
                statementHash: _statementHashes[asset][day]
            });
    }

    /// @inheritdoc ICustodySolvency
    function getCommitment(bytes32 asset, uint32 day) external view returns (Commitment memory) {
        Day memory d = _days[asset][day];
        if (d.flags & _COMMITTED == 0) return Commitment(bytes32(0), 0, 0, 0);
        return
            Commitment({
                rootHash: _rootHashes[asset][day],
                rootSum: d.liabilities,
                logSize: d.logSize,
                leafCount: uint64(1) << d.height
            });
    }

    /// @inheritdoc ICustodySolvency
    function custodyAnchor() external view returns (address) {
        return address(_ANCHOR);
    }

    /// @notice The EIP-712 domain separator custodians sign under.
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    function _attest(
        address custodian,
        bytes32 asset,
        uint32 day,
        uint128 amount,
        bytes32 statementHash
    ) private {
        if (amount > type(uint96).max) revert CustodySolvencyReservesTooLarge(amount);
        Day memory d = _days[asset][day];
        if (d.flags & _ATTESTED != 0) revert CustodySolvencyAlreadyAttested(asset, day);
        d.reserves = uint96(amount);
        d.flags |= _ATTESTED;
        _days[asset][day] = d;
        _statementHashes[asset][day] = statementHash;
        emit ReservesAttested(asset, day, custodian, amount, statementHash);
        if (d.flags & _COMMITTED != 0) _compare(asset, day, amount, d.liabilities);
    }

    function _compare(bytes32 asset, uint32 day, uint128 reserves, uint128 liabilities) private {
        if (reserves >= liabilities) emit ReservesCovered(asset, day, reserves, liabilities);
        else emit ReservesShortfall(asset, day, reserves, liabilities);
    }
}
