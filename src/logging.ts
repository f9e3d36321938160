import pino, { type DestinationStream, type Logger, type LoggerOptions } from "pino";

export type { Logger } from "pino";

/**
 * Fields that never reach a log line, at the top level or one object down (`req.headers` two
 * down): key material, salts, pseudonym keys, credentials and request or response bodies. Callers
 * do not pass these in the first place; redaction is the second line of defence.
 */
export const REDACTED_FIELDS = [
  "key",
  "apiKey",
  "privateKey",
  "secret",
  "seed",
  "salt",
  "pseudonymKey",
  "password",
  "mnemonic",
  "authorization",
  "cookie",
  "body",
] as const;

const REDACT_PATHS = [
  ...REDACTED_FIELDS,
  ...REDACTED_FIELDS.map((f) => `*.${f}`),
  "req.headers.authorization",
  "req.headers.cookie",
  "headers.authorization",
];

/** Names the level (`"level":"info"`, not 30) and stamps ISO time, as the project's logs always did. */
const BASE_OPTIONS: LoggerOptions = {
  base: undefined,
  timestamp: pino.stdTimeFunctions.isoTime,
  formatters: { level: (label) => ({ level: label }) },
  redact: { paths: REDACT_PATHS, censor: "[redacted]" },
};

export interface CreateLoggerOptions {
  /** Tags every line with `component` (api, relayer, stack, …). */
  component?: string;
  /** Minimum level (default: CUSTODY_LOG_LEVEL, else info). */
  level?: string;
  /**
   * Where lines go: a file descriptor (default 1, stdout) or a stream. File descriptors are
   * written synchronously: a line is out before the call returns, so nothing is lost when the
   * process dies right after logging an error.
   */
  destination?: number | DestinationStream | { write(line: string): unknown };
}

/**
 * The one structured logger of every component: pino, JSON lines, with the redaction rules above.
 *
 * @example
 * const log = createLogger({ component: "relayer" });
 * log.info({ treeSize: 42 }, "head anchored");
 */
export function createLogger(opts: CreateLoggerOptions = {}): Logger {
  const logger = pino(
    { ...BASE_OPTIONS, level: opts.level ?? process.env.CUSTODY_LOG_LEVEL ?? "info" },
    typeof opts.destination === "object"
      ? (opts.destination as DestinationStream)
      : pino.destination({ dest: opts.destination ?? 1, sync: true }),
  );
  return opts.component ? logger.child({ component: opts.component }) : logger;
}

/** A logger that writes nothing (tests, benchmarks). */
export const silentLogger: Logger = pino({ level: "silent" });
