import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Database } from "../../db/database";
import type { Migration } from "../../db/migrate";
import { all, dialectOf, first, run, storedBool } from "../../db/sql";
import { InvalidArgumentError } from "../../errors";

/**
 * API keys. A key is shown once, at creation; only its SHA-256 is stored, so a copy of the
 * database does not yield usable keys. Keys are long random strings, so a plain (unsalted,
 * fast) hash is enough: there is nothing to brute-force.
 *
 * Roles:
 * - `platform`: the platform's back office; writes (accounts, transfers, escrows) and reads all.
 * - `auditor`: reads everything (balances, entries with their salts, receipts); writes nothing.
 * - `holder`: an account holder; reads only what involves its own accounts (`accounts`).
 * - `operator`: the maker of dual control; reviews alerts and proposes dangerous operations.
 * - `checker`: approves or rejects proposals, never its own (a key has exactly one role, so no
 *   key is both maker and checker).
 * - `custodian`: the custodian bank; posts statements and reads reconciliations and breaks.
 */
export const API_ROLES = ["platform", "auditor", "holder", "operator", "checker", "custodian"] as const;
export type ApiRole = (typeof API_ROLES)[number];

/** Who is calling, once the key checked out. */
export interface ApiPrincipal {
  /** Public id of the key (safe to log); never the key itself. */
  readonly keyId: string;
  readonly role: ApiRole;
  /** External account ids a `holder` may read; empty for other roles. */
  readonly accounts: readonly string[];
}

export const apiMigrations: Migration[] = [
  {
    id: "api/001_keys",
    sqlite: `CREATE TABLE api_keys (
      key_id TEXT PRIMARY KEY,
      key_hash TEXT NOT NULL UNIQUE,
      role TEXT NOT NULL,
      accounts TEXT NOT NULL,
      created_at TEXT NOT NULL,
      revoked INTEGER NOT NULL DEFAULT 0
    )`,
    postgres: `CREATE TABLE api_keys (
      key_id TEXT PRIMARY KEY,
      key_hash TEXT NOT NULL UNIQUE,
      role TEXT NOT NULL,
      accounts TEXT NOT NULL,
      created_at TEXT NOT NULL,
      revoked BOOLEAN NOT NULL DEFAULT FALSE
    )`,
  },
];

const KEY_PREFIX = "cal_";

export function hashApiKey(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex");
}

export interface CreateApiKeyParameters {
  role: ApiRole;
  /** Required (non-empty) for `holder`, forbidden for other roles. */
  accounts?: readonly string[];
}

export interface CreateApiKeyReturnType {
  /** The plaintext key; it is not stored and cannot be shown again. */
  key: string;
  keyId: string;
}

/**
 * Creates a key and returns its plaintext once. Requires `apiMigrations` applied.
 *
 * @example
 * const { key } = await createApiKey(db, { role: "holder", accounts: ["alice"] });
 * // curl -H "Authorization: Bearer $key" …/v1/accounts/alice/balance
 */
export async function createApiKey(
  db: Database,
  params: CreateApiKeyParameters,
): Promise<CreateApiKeyReturnType> {
  if (!API_ROLES.includes(params.role))
    throw new InvalidArgumentError(`unknown API role ${String(params.role)}`, {
      details: `expected one of ${API_ROLES.join(", ")}`,
    });
  const accounts = [...(params.accounts ?? [])];
  if (params.role === "holder" && accounts.length === 0)
    throw new InvalidArgumentError("a holder key needs at least one account id");
  if (params.role !== "holder" && accounts.length > 0)
    throw new InvalidArgumentError(`a ${params.role} key is not scoped to accounts`);
  for (const a of accounts)
    if (typeof a !== "string" || a.length === 0 || a.length > 128)
      throw new InvalidArgumentError("account ids must be 1..128 characters", {
        details: `got ${String(a)}`,
      });
  const keyId = randomBytes(8).toString("hex");
  const key = `${KEY_PREFIX}${keyId}_${randomBytes(32).toString("base64url")}`;
  const row = [keyId, hashApiKey(key), params.role, JSON.stringify(accounts), new Date().toISOString()];
  await run(
    db,
    "INSERT INTO api_keys (key_id, key_hash, role, accounts, created_at) VALUES (?, ?, ?, ?, ?)",
    row,
  );
  return { key, keyId };
}

/** Revokes a key by its public id. Returns false when no such key exists. */
export async function revokeApiKey(db: Database, keyId: string): Promise<boolean> {
  return (
    (await run(db, "UPDATE api_keys SET revoked = ? WHERE key_id = ?", [dialectOf(db).bool(true), keyId])) > 0
  );
}

/** Resolves a presented key to its principal; the API's only view of the key table. */
export interface ApiKeyStore {
  /** The principal of a live key, or undefined for an unknown or revoked key. */
  authenticate(key: string): Promise<ApiPrincipal | undefined>;
}

export interface OpenApiKeyStoreOptions {
  /**
   * How long a lookup (hit or miss) is reused before the table is asked again; bounds how long a
   * revocation made by another instance takes to apply. Default 5000 ms; 0 disables caching.
   */
  cacheTtlMs?: number;
  /** Bound on cached lookups (default 10 000); the oldest go first. */
  cacheSize?: number;
  now?: () => number;
}

interface KeyRow {
  key_id: string;
  key_hash: string;
  role: string;
  accounts: string;
  revoked: number | boolean;
}

/** An `ApiKeyStore` over the `api_keys` table, with a short cache to keep lookups off the hot path. */
export function openApiKeyStore(db: Database, opts: OpenApiKeyStoreOptions = {}): ApiKeyStore {
  const ttl = opts.cacheTtlMs ?? 5000;
  const maxSize = opts.cacheSize ?? 10_000;
  const now = opts.now ?? Date.now;
  const cache = new Map<string, { at: number; principal: ApiPrincipal | undefined }>();

  async function lookup(hash: string): Promise<ApiPrincipal | undefined> {
    const row = await first<KeyRow>(
      db,
      "SELECT key_id, key_hash, role, accounts, revoked FROM api_keys WHERE key_hash = ?",
      [hash],
    );
    if (!row || storedBool(row.revoked)) return undefined;
    // Compare again in constant time, so the index lookup is not the only check.
    if (!timingSafeEqual(Buffer.from(row.key_hash, "hex"), Buffer.from(hash, "hex"))) return undefined;
    if (!API_ROLES.includes(row.role as ApiRole)) return undefined;
    return { keyId: row.key_id, role: row.role as ApiRole, accounts: JSON.parse(row.accounts) as string[] };
  }

  return {
    async authenticate(key) {
      if (typeof key !== "string" || key.length < 8 || key.length > 256) return undefined;
      const hash = hashApiKey(key);
      const hit = cache.get(hash);
      if (hit && now() - hit.at < ttl) return hit.principal;
      const principal = await lookup(hash);
      if (ttl > 0) {
        cache.delete(hash);
        if (cache.size >= maxSize) cache.delete(cache.keys().next().value as string);
        cache.set(hash, { at: now(), principal });
      }
      return principal;
    },
  };
}

/** A key as listed for operators: never the key or its hash. */
export interface ApiKeyInfo {
  keyId: string;
  role: string;
  accounts: string[];
  createdAt: string;
  revoked: boolean;
}

/** Every key, oldest first (public ids, roles, scopes, revocation; no secrets). */
export async function listApiKeys(db: Database): Promise<ApiKeyInfo[]> {
  const sql = "SELECT key_id, role, accounts, created_at, revoked FROM api_keys ORDER BY created_at, key_id";
  type Row = {
    key_id: string;
    role: string;
    accounts: string;
    created_at: string;
    revoked: number | boolean;
  };
  const rows = await all<Row>(db, sql);
  return rows.map((r) => ({
    keyId: r.key_id,
    role: r.role,
    accounts: JSON.parse(r.accounts) as string[],
    createdAt: r.created_at,
    revoked: storedBool(r.revoked),
  }));
}
