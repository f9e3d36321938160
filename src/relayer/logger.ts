/** Structured JSON log lines. Never pass key material in `fields`. */
export type RelayerLogger = (
  level: "debug" | "info" | "warn" | "error",
  msg: string,
  fields?: object,
) => void;

export function jsonLogger(
  opts: { component?: string; write?: (line: string) => void; minLevel?: string } = {},
) {
  const order = ["debug", "info", "warn", "error"];
  const min = order.indexOf(opts.minLevel ?? process.env.CUSTODY_LOG_LEVEL ?? "info");
  const write = opts.write ?? ((line: string) => process.stderr.write(line + "\n"));
  const component = opts.component ?? "relayer";
  const log: RelayerLogger = (level, msg, fields = {}) => {
    if (order.indexOf(level) < min) return;
    write(
      JSON.stringify({ time: new Date().toISOString(), level, component, msg, ...fields }, (_k, v) =>
        typeof v === "bigint" ? v.toString() : v,
      ),
    );
  };
  return log;
}

export const silentLogger: RelayerLogger = () => {};
