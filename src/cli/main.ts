import { Command, CommanderError } from "commander";
import { auditCommand } from "./audit";
import { reconcileCommand, statementsCommand } from "./bank";
import { EXIT_USAGE, type CliContext } from "./context";
import { keysCommand } from "./keys";
import { networkCommand } from "./network";
import { reportCommand } from "./report";
import { verifyCommand } from "./verify";
import { verifyHashCommand } from "./verify-hash";
import { verifyBalanceCommand } from "./verify-balance";
import { witnessCommand } from "./witness";

/** Every command is one file exporting `(ctx) => Command`; adding one is one line here. */
const COMMANDS: ((ctx: CliContext) => Command)[] = [
  verifyCommand,
  verifyHashCommand,
  verifyBalanceCommand,
  auditCommand,
  keysCommand,
  statementsCommand,
  reconcileCommand,
  reportCommand,
  witnessCommand,
  networkCommand,
];

function applyExitOverride(cmd: Command): void {
  cmd.exitOverride();
  for (const sub of cmd.commands) applyExitOverride(sub);
}

/** Builds the `custody` program for a context (exposed for tests). */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command("custody")
    .description("Custody audit layer: verify receipts and leaf hashes against the anchoring chain.")
    .showHelpAfterError()
    .configureOutput({
      writeOut: (s) => ctx.out(s.replace(/\n$/, "")),
      writeErr: (s) => ctx.err(s.replace(/\n$/, "")),
    });
  for (const make of COMMANDS) {
    const cmd = make(ctx);
    cmd.configureOutput({
      writeOut: (s) => ctx.out(s.replace(/\n$/, "")),
      writeErr: (s) => ctx.err(s.replace(/\n$/, "")),
    });
    program.addCommand(cmd);
  }
  applyExitOverride(program);
  return program;
}

/**
 * Runs `custody` with `argv` (without the node and script entries) and resolves to the exit code:
 * 0 valid / success, 1 invalid, 2 usage or I/O error.
 */
export async function runCli(
  argv: string[],
  io: Pick<CliContext, "out" | "err"> = defaultIo,
): Promise<number> {
  const ctx: CliContext = { ...io, exitCode: 0 };
  const program = buildProgram(ctx);
  if (argv.length === 0) {
    ctx.err(program.helpInformation().replace(/\n$/, ""));
    return EXIT_USAGE;
  }
  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (
        err.code === "commander.helpDisplayed" ||
        err.code === "commander.version" ||
        err.code === "commander.help"
      )
        return 0;
      return EXIT_USAGE;
    }
    throw err;
  }
  return ctx.exitCode;
}

const defaultIo = {
  out: (s: string) => process.stdout.write(s + "\n"),
  err: (s: string) => process.stderr.write(s + "\n"),
};

/** The process entry point (bin/custody, `npm run custody`): runs the CLI and exits with its code. */
export function main(argv: string[] = process.argv.slice(2)): void {
  // A closed pipe (`custody … | head`) ends the output, not the process with a stack trace.
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(0);
    throw e;
  });
  runCli(argv).then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(EXIT_USAGE);
    },
  );
}

if (require.main === module) main();
