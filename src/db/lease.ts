import { randomUUID, createHash } from "node:crypto";
import pg from "pg";
import type { Database } from "./database";
import { dialectOf, run } from "./sql";

/**
 * A leader lease: at most one holder per name and database (the relayer that writes to the chain,
 * the risk engine that evaluates). Implementations:
 * a PostgreSQL session-level advisory lock on a dedicated connection (released by the server
 * the moment the leader's connection dies), or, for SQLite, a lease row renewed by a heartbeat
 * (taken over by a standby once it has expired).
 */
export interface LeaderLease {
  /** Becomes or stays leader if possible; returns whether this instance holds the lease now. */
  tryAcquire(): Promise<boolean>;
  /** Whether the lease is held as of the last `tryAcquire` and has not lapsed since. */
  isHeld(): boolean;
  release(): Promise<void>;
}

/**
 * 63-bit advisory-lock key derived from a name, so different ledgers/roles never collide by accident.
 * The prefix predates the risk and log leases; changing it would let processes of two versions both
 * lead during a rolling upgrade.
 */
export function advisoryLockKey(name: string): bigint {
  const h = createHash("sha256").update(`custody-relayer-lease:${name}`).digest();
  return h.readBigInt64BE(0) & 0x7fffffffffffffffn;
}

/** PostgreSQL: `pg_try_advisory_lock` held by one dedicated session for as long as it lives. */
export function createPgAdvisoryLease(url: string, opts: { name?: string } = {}): LeaderLease {
  const key = advisoryLockKey(opts.name ?? "default").toString();
  let client: pg.Client | undefined;
  let held = false;
  let inflight: Promise<boolean> | undefined;
  const drop = async () => {
    held = false;
    const c = client;
    client = undefined;
    await c?.end().catch(() => {});
  };
  const attempt = async (): Promise<boolean> => {
    try {
      if (!client) {
        const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
        // A broken session loses the lock on the server side; mirror that locally.
        c.on("error", () => {
          if (client === c) void drop();
        });
        await c.connect();
        client = c;
      }
      if (held) {
        await client.query("SELECT 1");
        return true;
      }
      const r = await client.query<{ ok: boolean }>("SELECT pg_try_advisory_lock($1::bigint) AS ok", [key]);
      held = r.rows[0]?.ok === true;
      return held;
    } catch {
      await drop();
      return false;
    }
  };
  return {
    // The heartbeat and the loop may ask at once: share one attempt.
    tryAcquire: () => (inflight ??= attempt().finally(() => (inflight = undefined))),
    isHeld: () => held,
    async release() {
      if (client && held) await client.query("SELECT pg_advisory_unlock($1::bigint)", [key]).catch(() => {});
      await drop();
    },
  };
}

/**
 * A row `(name, holder, expires_at)` renewed on each `tryAcquire`; a standby takes it once
 * `expires_at` has passed (the lease for SQLite, which has no session locks). `ttlMs` must exceed
 * the interval between heartbeats by a wide margin.
 */
export function createRowLease(
  db: Database,
  opts: { name?: string; ttlMs?: number; holder?: string; now?: () => number } = {},
): LeaderLease {
  const name = opts.name ?? "default";
  const ttl = opts.ttlMs ?? 10_000;
  const holder = opts.holder ?? `${process.pid}:${randomUUID()}`;
  const now = opts.now ?? Date.now;
  let heldUntil = 0;
  return {
    async tryAcquire() {
      const t = now();
      try {
        // Compare-and-set in one statement: take the row if it is ours or has expired.
        const ok =
          (await run(
            db,
            `INSERT INTO relayer_leases (name, holder, expires_at) VALUES (?, ?, ?)
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
             WHERE relayer_leases.holder = excluded.holder OR relayer_leases.expires_at <= ?`,
            [name, holder, t + ttl, t],
          )) > 0;
        // Keep a safety margin: stop acting as leader a little before the row expires.
        heldUntil = ok ? t + Math.floor(ttl * 0.8) : 0;
        return ok;
      } catch {
        heldUntil = 0;
        return false;
      }
    },
    isHeld: () => heldUntil > now(),
    async release() {
      heldUntil = 0;
      await run(db, "DELETE FROM relayer_leases WHERE name = ? AND holder = ?", [name, holder]);
    },
  };
}

/** The natural lease for a database: a session lock where the server has them, else a lease row. */
export function createLeaderLease(db: Database, opts: { name?: string; ttlMs?: number } = {}): LeaderLease {
  return dialectOf(db).sessionLocks ? createPgAdvisoryLease(db.url, opts) : createRowLease(db, opts);
}
