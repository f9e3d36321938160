import { CustodyError, InvalidArgumentError, InvariantError } from "../errors";

/**
 * Errors of the verifiable log. Browser-safe (no Node imports): the receipt checker and the CLI
 * branch on these classes exactly as the API does.
 */

/** A proof did not verify. Base of every verification failure; `code` says which one. */
export class ProofError extends CustodyError {
  override name = "ProofError";
  constructor(code: string, message: string, opts: { details?: string; cause?: unknown } = {}) {
    super(code, message, opts);
  }
}

/** The root rebuilt from the proof differs from the root it was checked against. */
export class RootMismatchError extends ProofError {
  override name = "RootMismatchError";
  readonly expected: `0x${string}`;
  readonly calculated: `0x${string}`;
  constructor(expected: `0x${string}`, calculated: `0x${string}`, what = "root") {
    super("PROOF_ROOT_MISMATCH", `${what} calculated from the proof does not match`, {
      details: `expected ${expected}, calculated ${calculated}`,
    });
    this.expected = expected;
    this.calculated = calculated;
  }
}

/** The proof has the wrong number of hashes for its (index, size) or (size1, size2). */
export class ProofLengthError extends ProofError {
  override name = "ProofLengthError";
  readonly expected: number;
  readonly got: number;
  constructor(expected: number, got: number) {
    super("PROOF_LENGTH", `proof has ${got} hashes, expected ${expected}`, {
      details: `expected ${expected} hashes, got ${got}`,
    });
    this.expected = expected;
    this.got = got;
  }
}

/** A leaf index is not below the tree size (or a size is beyond the log). */
export class IndexOutOfRangeError extends ProofError {
  override name = "IndexOutOfRangeError";
  readonly index: number;
  readonly size: number;
  constructor(index: number, size: number, what = "leaf index") {
    super("PROOF_INDEX_OUT_OF_RANGE", `${what} ${index} is out of range for tree size ${size}`, {
      details: `requires 0 <= ${what} < ${size}`,
    });
    this.index = index;
    this.size = size;
  }
}

/** Malformed proof input: bad hex, wrong hash length, size 0 where not allowed, size1 > size2, … */
export class InvalidProofInputError extends ProofError {
  override name = "InvalidProofInputError";
  constructor(message: string, opts: { details?: string; cause?: unknown } = {}) {
    super("PROOF_INVALID_INPUT", message, opts);
  }
}

/** `LogStore.append` was called with `fromIndex` other than the current size (a concurrent or replayed append). */
export class LogAppendConflictError extends CustodyError {
  override name = "LogAppendConflictError";
  readonly fromIndex: number;
  readonly size: number;
  constructor(fromIndex: number, size: number) {
    super("LOG_APPEND_CONFLICT", `append at ${fromIndex} conflicts with log size ${size}`, {
      details: `requires fromIndex === size (${size}), got ${fromIndex}`,
    });
    this.fromIndex = fromIndex;
    this.size = size;
  }
}

/** A store argument is malformed (not a hash, negative index, …). */
export class LogArgumentError extends InvalidArgumentError {
  override name = "LogArgumentError";
}

/** The persisted tree is inconsistent with itself (missing tile, wrong blob length): a bug or tampering. */
export class LogCorruptError extends InvariantError {
  override name = "LogCorruptError";
}

/**
 * The log has not integrated this many leaves yet (the integrator appends committed ledger events
 * shortly after they commit). A reader never appends: it reports the gap and the caller retries.
 */
export class LogBehindError extends CustodyError {
  override name = "LogBehindError";
  readonly wanted: number;
  readonly size: number;
  constructor(wanted: number, size: number) {
    super("LOG_BEHIND", `the log holds ${size} leaves, ${wanted} are needed`, {
      details: `the integrator has not appended leaves [${size}, ${wanted}) yet`,
    });
    this.wanted = wanted;
    this.size = size;
  }
}
