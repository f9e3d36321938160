/**
 * Structured logs: one JSON object per line. Callers pass only non-secret fields (never keys,
 * salts or request bodies).
 */
export interface ApiLogger {
  info(fields: Record<string, unknown>): void;
  error(fields: Record<string, unknown>): void;
}

/** Writes JSON lines to a stream (stdout by default). */
export function jsonLineLogger(out: { write(s: string): unknown } = process.stdout): ApiLogger {
  const line = (level: string, fields: Record<string, unknown>) =>
    out.write(JSON.stringify({ ts: new Date().toISOString(), level, ...fields }) + "\n");
  return { info: (f) => line("info", f), error: (f) => line("error", f) };
}

export const silentLogger: ApiLogger = { info() {}, error() {} };
