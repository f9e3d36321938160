import { CustodyError } from "../errors";
import { CliUsageError, EXIT_USAGE, type CliContext } from "./context";

/**
 * Runs a command's action; any error that prevents a verdict (bad arguments, unreadable file,
 * unreachable RPC or API) ends with exit code 2 and a one-line message on stderr.
 */
export async function guard(ctx: CliContext, action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (err) {
    ctx.exitCode = EXIT_USAGE;
    if (err instanceof CliUsageError) ctx.err(`error: ${err.message}`);
    else if (err instanceof CustodyError)
      ctx.err(`error: ${err.shortMessage}${err.details ? `\n  ${err.details}` : ""}\nno verdict was reached`);
    else ctx.err(`error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  }
}
