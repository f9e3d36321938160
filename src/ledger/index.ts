/** Public surface of the custody ledger. */
export { openLedger, type Ledger, type ListAccountsOptions, type OpenLedgerOptions } from "./ledger";
export { ledgerMigrations } from "./migrations";
export type { LedgerWriteStats } from "./store";
export * from "./errors";
export * from "./types";
export {
  EVENT_TYPES,
  FACT_KINDS,
  LEAF_V1_ABI,
  LEAF_V1_BYTES,
  LEAF_VERSION,
  ZERO32,
  decodeLeaf,
  encodeLeaf,
  leafEntryFromJson,
  leafEntryToJson,
  leafHashOf,
  type EventTypeName,
  type FactKind,
  type LeafEntry,
  type LeafEntryJson,
} from "../protocol/leaf-v1";
export { canonicalJson } from "./canonical";
export { balanceOf, maxFee } from "./rules";
