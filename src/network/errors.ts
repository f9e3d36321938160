import { CustodyError } from "../errors";

/** A network generator option is missing, malformed or inconsistent; nothing was written. */
export class NetworkConfigError extends CustodyError {
  override name = "NetworkConfigError";
  constructor(message: string, opts: { details?: string; cause?: unknown } = {}) {
    super("NETWORK_CONFIG_INVALID", message, opts);
  }
}

/** The compiled contracts use opcodes the chosen genesis fork does not have; nothing was written. */
export class EvmForkMismatchError extends CustodyError {
  override name = "EvmForkMismatchError";
  constructor(message: string, opts: { details?: string; cause?: unknown } = {}) {
    super("EVM_FORK_MISMATCH", message, opts);
  }
}
