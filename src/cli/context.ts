/**
 * What every command gets: where to write, and the exit code it settles on. Keeping these out of
 * `process` lets tests run commands in-process as well as in a child.
 */
export interface CliContext {
  out(text: string): void;
  err(text: string): void;
  /** 0 = valid / success, 1 = invalid (a verdict was reached and it is negative), 2 = usage or I/O error. */
  exitCode: number;
}

export const EXIT_VALID = 0;
export const EXIT_INVALID = 1;
export const EXIT_USAGE = 2;

/** A bad argument or an unreadable input: the command stops with exit code 2. */
export class CliUsageError extends Error {
  override name = "CliUsageError";
}
