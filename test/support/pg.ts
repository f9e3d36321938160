import pg from "pg";

/**
 * PostgreSQL for tests: each call creates a fresh, uniquely named database on the server at
 * CUSTODY_TEST_PG_URL (default: the local server with trust auth) and drops it on cleanup.
 *
 * Outside CI an unreachable server skips the calling suite with a visible warning; under CI=true
 * it throws, so a PostgreSQL suite can never pass by not running.
 */
export const PG_ADMIN_URL = process.env.CUSTODY_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

export interface PgTestDatabase {
  readonly url: string;
  drop(): Promise<void>;
}

/**
 * `icuLocale`: the database's default collation is that ICU locale (e.g. "en-US", where "B" sorts
 * between "a" and "c" and punctuation is nearly ignored), not the server's default.
 */
export async function createPgTestDatabase(
  prefix = "custody_test",
  opts: { icuLocale?: string } = {},
): Promise<PgTestDatabase> {
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  const name = `${prefix}_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const locale = opts.icuLocale
    ? ` TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE ${pg.escapeLiteral(opts.icuLocale)} LOCALE 'C.UTF-8'`
    : "";
  try {
    await admin.query(`CREATE DATABASE ${name}${locale}`);
  } finally {
    await admin.end();
  }
  const u = new URL(PG_ADMIN_URL);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** True when the server answers. Under CI=true an unreachable server is an error, not a skip. */
export async function pgAvailable(): Promise<boolean> {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    await c.end();
    return true;
  } catch (e) {
    if (process.env.CI === "true") {
      throw new Error(
        `PostgreSQL is required under CI=true but ${PG_ADMIN_URL} is unreachable: ${String(e)}`,
      );
    }
    console.warn(
      `\n  !! PostgreSQL at ${PG_ADMIN_URL} unreachable: PostgreSQL suites are SKIPPED (set CI=true to fail instead)\n`,
    );
    return false;
  }
}

/**
 * Registers a mocha suite that runs only when PostgreSQL is reachable (always under CI=true, where
 * an unreachable server fails the `before` hook). Usage: `describeWithPg("ledger (postgres)", (ctx) => …)`,
 * reading `ctx.url` inside hooks/tests.
 */
export function describeWithPg(title: string, body: (ctx: { url: string }) => void): void {
  describe(title, function () {
    const ctx = { url: "" };
    let dbh: PgTestDatabase | undefined;
    before(async function () {
      if (!(await pgAvailable())) return this.skip();
      dbh = await createPgTestDatabase();
      ctx.url = dbh.url;
    });
    after(async () => {
      await dbh?.drop();
    });
    body(ctx);
  });
}

/**
 * For the suite it is called in: `record(body)` runs `body` and returns what it resolved to and the
 * text of every statement this process's pg clients sent meanwhile (a hook on
 * pg.Client.prototype.query, installed before the suite and removed after it).
 */
export function recordPgStatements(): <T>(body: () => Promise<T>) => Promise<{ value: T; sent: string[] }> {
  let recording: string[] | undefined;
  const query = pg.Client.prototype.query;
  before(() => {
    (pg.Client.prototype as { query: unknown }).query = function (this: pg.Client, ...args: unknown[]) {
      const q = args[0] as string | { text?: string };
      recording?.push(typeof q === "string" ? q : (q?.text ?? ""));
      return (query as (...a: unknown[]) => unknown).apply(this, args);
    };
  });
  after(() => {
    pg.Client.prototype.query = query;
  });
  return async (body) => {
    const sent: string[] = [];
    recording = sent;
    try {
      return { value: await body(), sent };
    } finally {
      recording = undefined;
    }
  };
}
