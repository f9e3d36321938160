// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/**
 * @title LogProof
 * @notice Verification of RFC 9162 §2.1.3 inclusion proofs and §2.1.4 consistency proofs for a
 * Merkle Tree Hash over SHA-256 (leaf = SHA-256(0x00 ‖ leaf), node = SHA-256(0x01 ‖ left ‖ right)).
 *
 * Hashing goes through the SHA-256 precompile (address 0x02) on a 65-byte buffer at the free
 * memory pointer, which is never advanced: the buffer is scratch and reused by every hash.
 * Verifiers return false for any malformed or wrong proof; they never revert.
 */
library LogProof {
    /// @dev SHA-256(0x01 ‖ left ‖ right), the RFC 9162 interior node hash.
    function hashChildren(bytes32 left, bytes32 right) internal view returns (bytes32 result) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore8(ptr, 0x01)
            mstore(add(ptr, 0x01), left)
            mstore(add(ptr, 0x21), right)
            // The precompile fails only when out of gas.
            if iszero(staticcall(gas(), 0x02, ptr, 0x41, 0x00, 0x20)) {
                revert(0, 0)
            }
            result := mload(0x00)
        }
    }

    /**
     * @dev RFC 9162 §2.1.3.2: whether `proof` proves that `leafHash` is leaf `leafIndex` of the tree of
     * `treeSize` leaves whose root is `root`. False whenever `leafIndex >= treeSize`.
     */
    function verifyInclusion(
        bytes32 root,
        uint256 treeSize,
        uint256 leafIndex,
        bytes32 leafHash,
        bytes32[] calldata proof
    ) internal view returns (bool) {
        if (leafIndex >= treeSize) return false;
        uint256 fn = leafIndex;
        uint256 sn = treeSize - 1;
        bytes32 r = leafHash;
        for (uint256 i = 0; i < proof.length; ++i) {
            if (sn == 0) return false;
            if (fn & 1 == 1 || fn == sn) {
                r = hashChildren(proof[i], r);
                // Skip the levels where this node is a left child with no right sibling.
                while (fn & 1 == 0 && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
            } else {
                r = hashChildren(r, proof[i]);
            }
            fn >>= 1;
            sn >>= 1;
        }
        return sn == 0 && r == root;
    }

    /**
     * @dev RFC 9162 §2.1.4.2: whether `proof` proves that the tree of `size1` leaves with root `root1`
     * is a prefix of the tree of `size2` leaves with root `root2`. Requires nothing: false when
     * `size1 == 0` (no root to extend) or `size1 > size2`; equal sizes need an empty proof and equal roots.
     */
    // solhint-disable-next-line function-max-lines
    function verifyConsistency(
        uint256 size1,
        bytes32 root1,
        uint256 size2,
        bytes32 root2,
        bytes32[] calldata proof
    ) internal view returns (bool) {
        if (size1 == 0 || size1 > size2) return false;
        if (size1 == size2) return proof.length == 0 && root1 == root2;
        if (proof.length == 0) return false;

        uint256 fn = size1 - 1;
        uint256 sn = size2 - 1;
        uint256 start;
        bytes32 fr;
        // A power-of-two first tree is a complete subtree of the second: its root opens the path.
        if (size1 & fn == 0) {
            fr = root1;
        } else {
            fr = proof[0];
            start = 1;
        }
        while (fn & 1 == 1) {
            fn >>= 1;
            sn >>= 1;
        }
        bytes32 sr;
        bool failed;
        // The hot loop in assembly: one 65-byte buffer, the proof read straight from calldata.
        // Per node: SR = H(c ‖ SR) and FR = H(c ‖ FR) on a left sibling, SR = H(SR ‖ c) on a right one.
        assembly ("memory-safe") {
            let buf := mload(0x40)
            mstore8(buf, 0x01)
            let left := add(buf, 0x01)
            let right := add(buf, 0x21)
            sr := fr
            let p := add(proof.offset, shl(5, start))
            let end := add(proof.offset, shl(5, proof.length))
            for {} lt(p, end) {
                p := add(p, 0x20)
            } {
                if iszero(sn) {
                    failed := 1
                    break
                }
                let c := calldataload(p)
                switch or(and(fn, 1), eq(fn, sn))
                case 1 {
                    mstore(left, c)
                    mstore(right, fr)
                    if iszero(staticcall(gas(), 0x02, buf, 0x41, 0x00, 0x20)) {
                        revert(0, 0)
                    }
                    fr := mload(0x00)
                    mstore(right, sr)
                    if iszero(staticcall(gas(), 0x02, buf, 0x41, 0x00, 0x20)) {
                        revert(0, 0)
                    }
                    sr := mload(0x00)
                    // Skip the levels where this node is a left child with no right sibling.
                    for {} and(iszero(and(fn, 1)), iszero(iszero(fn))) {} {
                        fn := shr(1, fn)
                        sn := shr(1, sn)
                    }
                }
                default {
                    mstore(left, sr)
                    mstore(right, c)
                    if iszero(staticcall(gas(), 0x02, buf, 0x41, 0x00, 0x20)) {
                        revert(0, 0)
                    }
                    sr := mload(0x00)
                }
                fn := shr(1, fn)
                sn := shr(1, sn)
            }
        }
        if (failed) return false;
        return sn == 0 && fr == root1 && sr == root2;
    }
}
