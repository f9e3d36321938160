import fc from "fast-check";
import { type Hex, bytesToHex } from "viem";
import {
  EVENT_TYPES,
  type EventTypeName,
  FACT_KINDS,
  type LeafEntry,
  ZERO32,
} from "../../src/protocol/leaf-v1";

/** 32 random bytes. */
export const word32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
export const hex32: fc.Arbitrary<Hex> = word32.map((b) => bytesToHex(b));

/**
 * Any valid v1 leaf entry, with the edges weighted in: small and huge sequences, amounts around
 * 2^53 and up to 2^128 - 1, zero words where the ledger writes them.
 */
const anyRecord = fc.record({
  version: fc.constant(1),
  eventType: fc.constantFrom(...(Object.keys(EVENT_TYPES) as EventTypeName[])),
  sequence: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })),
  timestamp: fc.oneof(
    fc.integer({ min: 1_600_000_000_000, max: 2_000_000_000_000 }),
    fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  ),
  salt: hex32,
  entryId: hex32,
  debitAccount: fc.oneof(hex32, fc.constant(ZERO32)),
  creditAccount: hex32,
  asset: fc.stringMatching(/^[\x21-\x7e]{1,32}$/),
  amount: fc.oneof(
    fc.bigInt({ min: 0n, max: 10n ** 6n }),
    fc.bigInt({ min: 2n ** 52n, max: 2n ** 54n }),
    fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }),
  ),
  code: fc.integer({ min: 0, max: 255 }),
  reference: fc.oneof(hex32, fc.constant(ZERO32)),
  metadataHash: hex32,
});

/** Facts carry a known fact kind as their code and may name no asset. */
export const anyLeafEntry: fc.Arbitrary<LeafEntry> = fc
  .tuple(anyRecord, fc.constantFrom(...Object.values(FACT_KINDS)), fc.boolean())
  .map(([e, factCode, noAsset]) =>
    e.eventType === "FACT_RECORDED" ? { ...e, code: factCode, asset: noAsset ? "" : e.asset } : e,
  );
