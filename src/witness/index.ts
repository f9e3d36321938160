/** C2SP tlog-witness for this project's log (docs/witness.md). May import protocol, log and chain reads only. */
export {
  Witness,
  type WitnessOptions,
  type AnchoredHeadLookup,
  type AnchorChainView,
  type WitnessFaultHook,
} from "./witness";
export { WitnessStateFile, type WitnessLogState } from "./state";
export { WitnessRefusalError, WitnessStateError } from "./errors";
export { anchorChainView, chainHeadLookup } from "./chain-heads";
export { startWitnessServer, type WitnessServer } from "./server";
export { loadAnchorKey, openWitness, type OpenWitnessParameters } from "./open";
