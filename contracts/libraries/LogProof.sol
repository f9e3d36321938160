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
    ) internal view returns (bool valid) {
        if (size1 == 0 || size1 > size2) return false;
        if (size1 == size2) return proof.length == 0 && root1 == root2;
        if (proof.length == 0) return false;

        // The whole walk in assembly, the proof read straight from calldata. Two phases:
        // A. while fn != sn (below the level where the paths to both trees' last leaves meet), one proof
        //    node per level: a left sibling (fn odd) gives FR = H(c ‖ FR) and SR = H(c ‖ SR), a right
        //    one SR = H(SR ‖ c);
        // B. once fn == sn, every remaining node is a left sibling and consumes the lowest set bit of
        //    fn (RFC 9162 skips the levels without a right sibling), so exactly popcount(fn) nodes
        //    must remain. This is the RFC loop with its per-level tests taken out of the common path.
        // The precompile fails only when out of gas; it is then given at most 63/64 of the gas left,
        // so the remaining 1/64 (under 2 gas) cannot pay for the next opcode and the whole call runs
        // out of gas too. Hence the unchecked `pop(staticcall(...))`.
        assembly ("memory-safe") {
            let fn := sub(size1, 1)
            let sn := sub(size2, 1)
            let p := proof.offset
            let end := add(p, shl(5, proof.length))
            // A power-of-two first tree is a complete subtree of the second: its root opens the path.
            let fr := root1
            if and(size1, fn) {
                fr := calldataload(p)
                p := add(p, 0x20)
            }
            for {} and(fn, 1) {} {
                fn := shr(1, fn)
                sn := shr(1, sn)
            }
            let sr := fr
            // Buffers [0x01 ‖ left ‖ right]: f for FR (and phase A), s for SR in phase B.
            let f := mload(0x40)
            let s := add(f, 0x60)
            mstore8(f, 0x01)
            // Phase A. Here sn > fn, so sn != 0. A proof that ends early leaves fn != sn, hence sn != 0.
            for {} iszero(eq(fn, sn)) {} {
                if iszero(lt(p, end)) {
                    break
                }
                let c := calldataload(p)
                p := add(p, 0x20)
                switch and(fn, 1)
                case 0 {
                    mstore(add(f, 0x01), sr)
                    mstore(add(f, 0x21), c)
                    pop(staticcall(gas(), 0x02, f, 0x41, 0x00, 0x20))
                    sr := mload(0x00)
                }
                default {
                    mstore(add(f, 0x01), c)
                    mstore(add(f, 0x21), fr)
                    pop(staticcall(gas(), 0x02, f, 0x41, 0x00, 0x20))
                    fr := mload(0x00)
                    mstore(add(f, 0x21), sr)
                    pop(staticcall(gas(), 0x02, f, 0x41, 0x00, 0x20))
                    sr := mload(0x00)
                }
                fn := shr(1, fn)
                sn := shr(1, sn)
            }
            // Phase B. Each hash writes its result where the next one reads it: nothing is copied.
            if eq(fn, sn) {
                mstore(add(f, 0x21), fr)
                mstore8(s, 0x01)
                mstore(add(s, 0x21), sr)
                for {} lt(p, end) {
                    p := add(p, 0x20)
                } {
                    // No set bit left: the proof is too long.
                    if iszero(fn) {
                        fn := 1
                        break
                    }
                    let c := calldataload(p)
                    mstore(add(f, 0x01), c)
                    pop(staticcall(gas(), 0x02, f, 0x41, add(f, 0x21), 0x20))
                    mstore(add(s, 0x01), c)
                    pop(staticcall(gas(), 0x02, s, 0x41, add(s, 0x21), 0x20))
                    fn := and(fn, sub(fn, 1))
                }
                fr := mload(add(f, 0x21))
                sr := mload(add(s, 0x21))
                sn := fn
            }
            valid := and(iszero(sn), and(eq(fr, root1), eq(sr, root2)))
        }
    }
}
