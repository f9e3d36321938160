import { Command, Option } from "commander";
import {
  API_ROLES,
  apiMigrations,
  createApiKey,
  listApiKeys,
  revokeApiKey,
  type ApiRole,
} from "../api/auth/keys";
import { closeDatabase, openDatabase, type Database } from "../db/database";
import { migrate } from "../db/migrate";
import { CliUsageError, EXIT_INVALID, type CliContext } from "./context";
import { guard } from "./guard";

async function withDb<T>(url: string | undefined, f: (db: Database) => Promise<T>): Promise<T> {
  if (!url) throw new CliUsageError("give --db (a SQLite file or a postgres:// URL), or set CUSTODY_DB_URL");
  const db = openDatabase(url);
  try {
    await migrate(db, apiMigrations);
    return await f(db);
  } finally {
    await closeDatabase(db);
  }
}

const dbOption = () =>
  new Option("--db <path|url>", "the ledger database (SQLite file or postgres:// URL)").env("CUSTODY_DB_URL");

/**
 * `custody keys create|list|revoke`: API keys in the ledger database. The roles come from the key
 * model (API_ROLES), so a role added there is accepted here without change. A created key is
 * printed once, on stdout; only its hash is stored.
 */
export function keysCommand(ctx: CliContext): Command {
  const keys = new Command("keys").description("create, list and revoke API keys in the ledger database");
  keys
    .command("create")
    .description("create a key and print it once (only its hash is stored)")
    .addOption(new Option("--role <role>", "the key's role").choices([...API_ROLES]).makeOptionMandatory())
    .option("--account <id...>", "holder keys: the account ids the key may read")
    .addOption(dbOption())
    .option("--json", "print {keyId, key, role} as JSON")
    .action((opts: { role: ApiRole; account?: string[]; db?: string; json?: boolean }) =>
      guard(ctx, () =>
        withDb(opts.db, async (db) => {
          const { key, keyId } = await createApiKey(db, { role: opts.role, accounts: opts.account });
          if (opts.json)
            ctx.out(JSON.stringify({ keyId, key, role: opts.role, accounts: opts.account ?? [] }));
          else {
            ctx.out(key);
            ctx.err(`created ${opts.role} key ${keyId}; it is shown only now`);
          }
        }),
      ),
    );
  keys
    .command("list")
    .description("list keys: id, role, accounts, creation time, revoked (never the keys)")
    .addOption(dbOption())
    .option("--json", "print the list as JSON")
    .action((opts: { db?: string; json?: boolean }) =>
      guard(ctx, () =>
        withDb(opts.db, async (db) => {
          const list = await listApiKeys(db);
          if (opts.json) return ctx.out(JSON.stringify(list));
          for (const k of list)
            ctx.out(
              [k.keyId, k.role.padEnd(9), k.createdAt, k.revoked ? "revoked" : "active", k.accounts.join(",")]
                .join("  ")
                .trimEnd(),
            );
        }),
      ),
    );
  keys
    .command("revoke")
    .description("revoke a key by its id (all API processes refuse it within their cache time, 5 s)")
    .argument("<keyId>", "the key's public id (from `keys list`)")
    .addOption(dbOption())
    .action((keyId: string, opts: { db?: string }) =>
      guard(ctx, () =>
        withDb(opts.db, async (db) => {
          if (!/^[0-9a-f]{16}$/.test(keyId))
            throw new CliUsageError(`${keyId} is not a key id (16 hex digits)`);
          if (await revokeApiKey(db, keyId)) ctx.out(`revoked ${keyId}`);
          else {
            ctx.err(`no key ${keyId}`);
            ctx.exitCode = EXIT_INVALID;
          }
        }),
      ),
    );
  for (const c of keys.commands)
    c.configureOutput({
      writeOut: (s) => ctx.out(s.replace(/\n$/, "")),
      writeErr: (s) => ctx.err(s.replace(/\n$/, "")),
    });
  return keys;
}
