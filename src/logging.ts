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

const REDACTED = new Set<string>(REDACTED_FIELDS);
const CENSOR = "[redacted]";

/** The values under these keys of a nested object are objects whose fields are checked too (`req.headers`). */
const TWO_DOWN = new Set(["headers"]);

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * `o` with every REDACTED_FIELDS key censored at the top level, one object down and in `*.headers`.
 * The caller's objects are never changed: an object is copied only when something in it is censored,
 * so a line without secrets (every request line) costs one key lookup per field and nothing else.
 * (pino's own path-based redaction did the same with one wildcard pass per path, 27 per line.)
 */
export function redact(o: Record<string, unknown>, depth = 0): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  for (const k in o) {
    if (!Object.prototype.hasOwnProperty.call(o, k)) continue;
    const v = o[k];
    let w = v;
    if (REDACTED.has(k)) w = v === undefined ? v : CENSOR;
    else if ((depth === 0 || (depth === 1 && TWO_DOWN.has(k))) && isPlainObject(v)) w = redact(v, depth + 1);
    if (w !== v) (out ??= { ...o })[k] = w;
  }
  return out ?? o;
}

/** Names the level (`"level":"info"`, not 30) and stamps ISO time, as the project's logs always did. */
const BASE_OPTIONS: LoggerOptions = {
  base: undefined,
  timestamp: pino.stdTimeFunctions.isoTime,
  formatters: {
    level: (label) => ({ level: label }),
    bindings: (b) => redact(b),
    log: (o) => redact(o),
  },
};

/** pino's level number of `warn`: lines at this level and above are written before the call returns. */
const WARN = 40;
const pending = new Set<TurnBufferedDestination>();
let exitHook = false;

/**
 * A log destination that writes lines below `warn` once per turn of the event loop, together (one
 * write call for all the request lines of a turn instead of one each), and a `warn`, `error` or
 * `fatal` line at once, after the lines buffered before it, so order is kept and those lines are out
 * before the call returns. Buffered lines are also written when the process exits normally; a
 * process killed outright loses at most the lines of its current turn, never an error line.
 */
export class TurnBufferedDestination {
  /** pino sets `lastLevel` before each write on streams that ask for it. */
  readonly [pino.symbols.needsMetadataGsym] = true;
  lastLevel = 0;
  #buffer = "";
  #scheduled = false;
  readonly #out: { write(s: string): unknown };

  constructor(out: { write(s: string): unknown }) {
    this.#out = out;
  }

  write(line: string): void {
    this.#buffer += line;
    if (this.lastLevel >= WARN) return this.flush();
    if (this.#scheduled) return;
    this.#scheduled = true;
    pending.add(this);
    if (!exitHook) {
      exitHook = true;
      process.once("exit", () => {
        for (const d of pending) d.flush();
      });
    }
    setImmediate(() => this.flush());
  }

  /** Writes what is buffered now. */
  flush(): void {
    this.#scheduled = false;
    pending.delete(this);
    if (this.#buffer === "") return;
    const s = this.#buffer;
    this.#buffer = "";
    this.#out.write(s);
  }
}

export interface CreateLoggerOptions {
  /** Tags every line with `component` (api, relayer, stack, …). */
  component?: string;
  /** Minimum level (default: CUSTODY_LOG_LEVEL, else info). */
  level?: string;
  /**
   * Where lines go: a file descriptor (default 1, stdout) or a stream. File descriptors are
   * written synchronously: `warn` and above before the call returns, so nothing is lost when the
   * process dies right after logging an error; lines below `warn` (one per API request) once per
   * turn of the event loop (TurnBufferedDestination), unless `syncEveryLine` or the environment's
   * CUSTODY_LOG_SYNC=1 asks for each line at once.
   */
  destination?: number | DestinationStream | { write(line: string): unknown };
  /** Every line written before the call returns (default: CUSTODY_LOG_SYNC=1, else only `warn` and above). */
  syncEveryLine?: boolean;
}

/**
 * The one structured logger of every component: pino, JSON lines, with the redaction rules above.
 *
 * @example
 * const log = createLogger({ component: "relayer" });
 * log.info({ treeSize: 42 }, "head anchored");
 */
export function createLogger(opts: CreateLoggerOptions = {}): Logger {
  let destination: DestinationStream;
  if (typeof opts.destination === "object") destination = opts.destination as DestinationStream;
  else {
    const fd = pino.destination({ dest: opts.destination ?? 1, sync: true });
    const everyLine = opts.syncEveryLine ?? process.env.CUSTODY_LOG_SYNC === "1";
    destination = everyLine ? fd : (new TurnBufferedDestination(fd) as unknown as DestinationStream);
  }
  const logger = pino(
    { ...BASE_OPTIONS, level: opts.level ?? process.env.CUSTODY_LOG_LEVEL ?? "info" },
    destination,
  );
  return opts.component ? logger.child({ component: opts.component }) : logger;
}

/** A logger that writes nothing (tests, benchmarks). */
export const silentLogger: Logger = pino({ level: "silent" });
