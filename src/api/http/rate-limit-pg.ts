import type { Pool } from "pg";
import type { Migration } from "../../db/migrate";
import type { RateLimiter, RateLimitOptions } from "./rate-limit";

/** The shared token buckets of `createPgRateLimiter` (applied with the API's migrations). */
export const rateLimitMigrations: Migration[] = [
  {
    id: "api/002_rate_buckets",
    // SQLite ledgers keep their buckets in process (one API process per SQLite file).
    sqlite: "SELECT 1",
    postgres: `CREATE UNLOGGED TABLE api_rate_buckets (
      caller TEXT PRIMARY KEY,
      tokens DOUBLE PRECISION NOT NULL,
      at_ms BIGINT NOT NULL,
      allowed BOOLEAN NOT NULL
    )`,
  },
];

/**
 * Token buckets in PostgreSQL, shared by every API process on the database, so the limit holds
 * for the deployment and not per process. One statement per request: refill from the database's
 * clock (the same for every process), take a token if there is one, and say whether it did.
 * The table is UNLOGGED: buckets are not worth a WAL write and may be lost on a server crash.
 * `peek` answers from what this process last saw, so an address throttled here is refused before
 * any authentication; the authoritative count stays in the table.
 */
export function createPgRateLimiter(pool: Pool, opts: RateLimitOptions): RateLimiter {
  const { ratePerSecond, burst } = opts;
  const now = opts.now ?? Date.now;
  const blockedUntil = new Map<string, number>();
  const sql = `
    WITH t AS (SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS ms)
    INSERT INTO api_rate_buckets AS b (caller, tokens, at_ms, allowed)
      SELECT $1, $2::float8 - 1, t.ms, TRUE FROM t
    ON CONFLICT (caller) DO UPDATE SET
      allowed = LEAST($2::float8, b.tokens + GREATEST(0, EXCLUDED.at_ms - b.at_ms) / 1000.0 * $3::float8) >= 1,
      tokens = LEAST($2::float8, b.tokens + GREATEST(0, EXCLUDED.at_ms - b.at_ms) / 1000.0 * $3::float8)
        - CASE WHEN LEAST($2::float8, b.tokens + GREATEST(0, EXCLUDED.at_ms - b.at_ms) / 1000.0 * $3::float8) >= 1
          THEN 1 ELSE 0 END,
      at_ms = EXCLUDED.at_ms
    RETURNING allowed, tokens`;
  return {
    peek(caller) {
      const until = blockedUntil.get(caller);
      if (until === undefined) return 0;
      const t = now();
      if (until <= t) {
        blockedUntil.delete(caller);
        return 0;
      }
      return Math.max(1, Math.ceil((until - t) / 1000));
    },
    async take(caller) {
      const r = await pool.query<{ allowed: boolean; tokens: number }>(sql, [caller, burst, ratePerSecond]);
      const row = r.rows[0]!;
      if (row.allowed) return 0;
      const wait = Math.max(1, Math.ceil((1 - row.tokens) / ratePerSecond));
      if (blockedUntil.size > 100_000) blockedUntil.clear();
      blockedUntil.set(caller, now() + wait * 1000);
      return wait;
    },
  };
}
