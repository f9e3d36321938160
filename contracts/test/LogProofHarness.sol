// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {LogProof} from "../libraries/LogProof.sol";

/// @dev Exposes {LogProof} to tests with explicit roots and sizes. Not deployed in production.
contract LogProofHarness {
    function hashChildren(bytes32 left, bytes32 right) external view returns (bytes32) {
        return LogProof.hashChildren(left, right);
    }

    function verifyInclusion(
        bytes32 root,
        uint256 treeSize,
        uint256 leafIndex,
        bytes32 leafHash,
        bytes32[] calldata proof
    ) external view returns (bool) {
        return LogProof.verifyInclusion(root, treeSize, leafIndex, leafHash, proof);
    }

    function verifyConsistency(
        uint256 size1,
        bytes32 root1,
        uint256 size2,
        bytes32 root2,
        bytes32[] calldata proof
    ) external view returns (bool) {
        return LogProof.verifyConsistency(size1, root1, size2, root2, proof);
    }
}
