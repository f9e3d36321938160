import { InvariantError } from "../errors";

/** A TOML value this writer emits: what Besu's config and permissions files use. */
export type TomlValue = string | number | boolean | readonly string[];

/**
 * Writes flat `key=value` TOML (no tables): strings and string arrays JSON-quoted (a JSON string
 * with only printable ASCII is a valid TOML basic string), integers and booleans bare. A `#`
 * comment line may precede the keys.
 */
export function writeFlatToml(entries: Record<string, TomlValue>, comment?: string): string {
  const lines = comment ? comment.split("\n").map((l) => `# ${l}`) : [];
  for (const [key, value] of Object.entries(entries)) {
    if (!/^[A-Za-z0-9_-]+$/.test(key)) throw new InvariantError(`not a bare TOML key: ${key}`);
    lines.push(`${key}=${tomlValue(value)}`);
  }
  return lines.join("\n") + "\n";
}

function tomlValue(value: TomlValue): string {
  if (typeof value === "boolean") return String(value);
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw new InvariantError(`not a TOML integer: ${value}`);
    return String(value);
  }
  if (typeof value === "string") return tomlString(value);
  return `[${value.map(tomlString).join(", ")}]`;
}

function tomlString(s: string): string {
  if (!/^[\x20-\x7e]*$/.test(s))
    throw new InvariantError(`TOML string must be printable ASCII: ${JSON.stringify(s)}`);
  return JSON.stringify(s);
}
