import type { Hex } from "viem";
import type { Database } from "../db/database";
import { all, allArrays, first, tableExists } from "../db/sql";
import { leafEntryFromJson, leafEntryToJson, type LeafEntryJson } from "../protocol/leaf-v1";
import { logMigrations, openLogReader } from "../log/reader";
import type { Row } from "../ledger/rows";
import type { AuditEventRow, AuditEventSource } from "./audit";
import type { DerivedTable } from "./derived";
import { AuditSourceError } from "./errors";
import type { LeafHashReference } from "./heads";

const PAGE = 20_000;

/** Keyset pages of the derived tables in primary-key order; a transfer comes with the event at its sequence. */
const DERIVED_PAGES: Record<DerivedTable, string> = {
  ledger_accounts:
    "SELECT id, pseudonym, type, asset, scale, status, limits, metadata, debits_posted, credits_posted, debits_pending, credits_pending, created_at, sequence FROM ledger_accounts WHERE id > ? ORDER BY id LIMIT ?",
  ledger_transfers:
    "SELECT t.*, e.leaf AS event_leaf, e.subject_kind AS event_subject_kind, e.subject_id AS event_subject_id FROM ledger_transfers t LEFT JOIN ledger_events e ON e.sequence = t.sequence WHERE t.id > ? ORDER BY t.id LIMIT ?",
  ledger_holds: "SELECT * FROM ledger_holds WHERE id > ? ORDER BY id LIMIT ?",
  ledger_hold_decisions:
    "SELECT chain_event_id, hold_id, action FROM ledger_hold_decisions WHERE chain_event_id > ? ORDER BY chain_event_id LIMIT ?",
  ledger_facts: "SELECT * FROM ledger_facts WHERE id > ? ORDER BY id LIMIT ?",
};

/** A database URL fit for a report: the password of a PostgreSQL URL is removed. */
export function redactDatabaseUrl(url: string): string {
  try {
    if (!/^postgres(ql)?:\/\//.test(url)) return url;
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, ":***@");
  }
}

type RawRow = [number | string, Buffer, Buffer, number | string];

function page(db: Database, after: number, limit: number): Promise<RawRow[]> {
  return allArrays<RawRow>(
    db,
    "SELECT sequence, leaf, leaf_hash, created_at FROM ledger_events WHERE sequence > ? ORDER BY sequence LIMIT ?",
    [after, limit],
  );
}

async function wrap<T>(what: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (cause) {
    if (cause instanceof AuditSourceError) throw cause;
    throw new AuditSourceError(`cannot read ${what}`, { details: (cause as Error).message, cause });
  }
}

/**
 * The ledger's raw events straight from its database (`ledger_events`), in sequence order, by
 * keyset pages (a deleted row shows as a gap, never as a shifted page). Also offers the stored
 * balances and the log store's tree, both only compared with what the events prove.
 */
export function databaseEventSource(db: Database): AuditEventSource {
  return {
    kind: db.kind,
    location: redactDatabaseUrl(db.url),
    count: () =>
      wrap("the events table", async () =>
        Number((await first<{ n: number | string }>(db, "SELECT COUNT(*) AS n FROM ledger_events"))!.n),
      ),
    async *batches() {
      let after = -1;
      for (;;) {
        const raw = await wrap("the events table", () => page(db, after, PAGE));
        if (raw.length === 0) return;
        const rows: AuditEventRow[] = new Array(raw.length);
        for (let i = 0; i < raw.length; i++) {
          const r = raw[i]!;
          rows[i] = { sequence: Number(r[0]), leaf: r[1], leafHash: r[2], createdAt: Number(r[3]) };
        }
        after = rows[rows.length - 1]!.sequence;
        yield rows;
        if (raw.length < PAGE) return;
      }
    },
    derivedRows: (table, after, limit) =>
      wrap(`the ${table} table`, () => all<Row>(db, DERIVED_PAGES[table], [after, limit])),
    reference: logStoreReference(db),
  };
}

/** The log store in the same database, if there is one (read lazily; never created by the audit). */
function logStoreReference(db: Database): LeafHashReference {
  let store: ReturnType<typeof openLogReader> | undefined;
  const open = async () => {
    if (!(await tableExists(db, "log_tiles"))) throw new AuditSourceError("no log store in the database");
    // openLogStore migrates: use it only when that writes nothing (the auditor may hold a copy).
    const applied = new Set(
      (await all<{ id: string }>(db, "SELECT id FROM schema_migrations")).map((r) => r.id),
    );
    if (!logMigrations.every((m) => applied.has(m.id)))
      throw new AuditSourceError("the log store's schema is not current");
    return (store ??= openLogReader(db));
  };
  return {
    size: async () => (await open()).size(),
    root: async (size) => (await open()).root(size),
    leafHash: async (i) => (await open()).leafHash(i),
  };
}

interface ApiEventsPage {
  total: number;
  events: { sequence: number; leaf: Hex; leafHash: Hex; createdAt: number; entry: LeafEntryJson }[];
}

export interface ApiEventSourceParameters {
  /** Base URL of the API (without /v1). */
  url: string;
  /** An API key with the auditor role. */
  key: string;
  pageSize?: number;
  fetch?: typeof fetch;
}

/** The events through the auditor-only route `GET /v1/audit/events?from=&limit=`. */
export function apiEventSource(p: ApiEventSourceParameters): AuditEventSource {
  const base = p.url.replace(/\/+$/, "");
  const limit = p.pageSize ?? 5000;
  const doFetch = p.fetch ?? fetch;
  const get = async (from: number, n: number): Promise<ApiEventsPage> => {
    const url = `${base}/v1/audit/events?from=${from}&limit=${n}`;
    let res: Response;
    try {
      res = await doFetch(url, { headers: { authorization: `Bearer ${p.key}` } });
    } catch (cause) {
      throw new AuditSourceError(`cannot reach the API at ${base}`, {
        details: (cause as Error).message,
        cause,
      });
    }
    const text = await res.text();
    if (!res.ok)
      throw new AuditSourceError(`the API answered ${res.status} to ${url}`, { details: text.slice(0, 300) });
    try {
      return JSON.parse(text) as ApiEventsPage;
    } catch (cause) {
      throw new AuditSourceError(`the API's answer to ${url} is not JSON`, { cause });
    }
  };
  return {
    kind: "api",
    location: base,
    count: async () => (await get(0, 1)).total,
    async *batches() {
      let from = 0;
      for (;;) {
        const pg = await get(from, limit);
        if (pg.events.length === 0) return;
        yield pg.events.map((e) => {
          const entry = e.entry && leafEntryToJson(leafEntryFromJson(e.entry));
          return {
            sequence: e.sequence,
            leaf: Buffer.from(e.leaf.slice(2), "hex"),
            leafHash: Buffer.from(e.leafHash.slice(2), "hex"),
            createdAt: e.createdAt,
            entry,
          };
        });
        from = pg.events[pg.events.length - 1]!.sequence + 1;
        if (pg.events.length < limit) return;
      }
    },
  };
}
