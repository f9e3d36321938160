import type { RouteConfig } from "@asteasolutions/zod-to-openapi";
import express, { type NextFunction, type Request, type Response } from "express";
import { z } from "zod";
import { IndexOutOfRangeError } from "../log/errors";
import { hashLeaf } from "../log/hash";
import { equalBytes } from "../log/hex";
import { NoteFormatError } from "../protocol/errors";
import {
  TLOG_TILE_HEIGHT,
  TLOG_TILE_WIDTH,
  encodeEntryBundle,
  parseTilePath,
  tileNeedsTreeSize,
} from "../protocol/tlog-tiles";
import { InvariantError } from "../errors";
import { NotFoundError, RequestValidationError } from "./errors";
import { ErrorSchema } from "./schemas/common";
import { admit, sendsBody, type PipelineOptions } from "./http/pipeline";
import type { RouteDef } from "./http/route";
import type { LedgerPort, LogReader } from "./ports";
import type { CheckpointService } from "./services/checkpoints";

/** Node-hash reads on top of the API's LogReader (src/log LogStore satisfies it). */
export interface TileReader extends LogReader {
  nodeHashes(level: number, start: number, count: number): Promise<Uint8Array>;
}

const IMMUTABLE = "public, max-age=31536000, immutable";
const CHECKPOINT_CACHE = "public, max-age=2";
const ENTRIES_CACHE = "private, max-age=31536000, immutable";

// Stand for the tlog endpoints in the shared rate-limit and authentication step.
const ENTRIES_ACCESS = {
  method: "get",
  path: "/tlog/tile/entries/{N}",
  access: ["auditor"],
} as unknown as RouteDef;
const PUBLIC_ACCESS = { method: "get", path: "/tlog", access: "public" } as unknown as RouteDef;

/**
 * The C2SP tlog-tiles read API (docs/checkpoints.md), mounted at `<api>/tlog`:
 *   GET /checkpoint                 the newest anchored head, log-signed and witness-cosigned
 *   GET /tile/<L>/<N>[.p/<W>]       hash tiles (height 8), public and immutable
 *   GET /tile/entries/<N>[.p/<W>]   entry bundles of leaf bytes (salts, pseudonyms): auditors only
 * Only tiles within the latest checkpoint are served, so every tile a client may fetch is one a
 * signed checkpoint commits to.
 */
export function tlogRouter(opts: {
  checkpoints: CheckpointService;
  log: TileReader;
  ledger: Pick<LedgerPort, "getEvents">;
  pipeline: PipelineOptions;
}): express.Router {
  const r = express.Router();
  r.use((req: Request, _res: Response, next: NextFunction) => {
    if (sendsBody(req))
      throw new RequestValidationError("body", [{ path: [], message: "a GET request takes no body" }]);
    next();
  });
  r.get("/checkpoint", async (req: Request, res: Response) => {
    await admit(PUBLIC_ACCESS, req.headers.authorization, req.ip, opts.pipeline);
    const { note } = await opts.checkpoints.cosignedCheckpoint(await opts.checkpoints.latestHead());
    res.set("Content-Type", "text/plain; charset=utf-8").set("Cache-Control", CHECKPOINT_CACHE).send(note);
  });
  r.get(/^\/tile\/(.+)$/, async (req: Request, res: Response) => {
    const path = req.path.slice(1);
    const access = path.startsWith("tile/entries/") ? ENTRIES_ACCESS : PUBLIC_ACCESS;
    await admit(access, req.headers.authorization, req.ip, opts.pipeline);
    let tile;
    try {
      tile = parseTilePath(path);
    } catch (e) {
      if (e instanceof NoteFormatError)
        throw new NotFoundError(`no tile at /tlog/${path}`, { details: e.details });
      throw e;
    }
    const head = await opts.checkpoints.latestHead();
    const size = head?.treeSize ?? 0;
    const needs = tileNeedsTreeSize(tile);
    if (needs > size)
      throw new NotFoundError(`tile ${path} is beyond the latest checkpoint`, {
        details: `needs a tree of ${needs} leaves, the checkpoint has ${size}`,
      });
    await opts.checkpoints.signedCheckpoint(head); // checks the local tree against the anchored root
    if (tile.level === "entries") {
      const from = tile.index * TLOG_TILE_WIDTH;
      const events = await opts.ledger.getEvents(from, tile.width);
      const leafHashes = await opts.log.nodeHashes(0, from, tile.width);
      if (events.length !== tile.width || events.some((e, i) => e.sequence !== from + i))
        throw new InvariantError(`ledger events ${from}..${from + tile.width - 1} are not all present`);
      events.forEach((e, i) => {
        if (!equalBytes(hashLeaf(e.leafBytes), leafHashes.subarray(32 * i, 32 * i + 32)))
          throw new InvariantError(`leaf ${from + i} does not hash to the logged leaf hash`);
      });
      res
        .set("Content-Type", "application/octet-stream")
        .set("Cache-Control", ENTRIES_CACHE)
        .send(Buffer.from(encodeEntryBundle(events.map((e) => e.leafBytes))));
      return;
    }
    let body: Uint8Array;
    try {
      body = await opts.log.nodeHashes(
        TLOG_TILE_HEIGHT * tile.level,
        tile.index * TLOG_TILE_WIDTH,
        tile.width,
      );
    } catch (e) {
      if (e instanceof IndexOutOfRangeError)
        throw new InvariantError(`tile ${path} is missing from the log store`);
      throw e;
    }
    res
      .set("Content-Type", "application/octet-stream")
      .set("Cache-Control", IMMUTABLE)
      .send(Buffer.from(body));
  });
  r.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    // Tile errors are plain text for tile clients; the API's JSON error handler takes the rest.
    if (err instanceof NotFoundError) {
      res
        .status(404)
        .set("Cache-Control", "no-store")
        .type("text/plain")
        .send(err.message + "\n");
      return;
    }
    next(err);
  });
  return r;
}

const cacheHeader = (value: string) => ({
  "Cache-Control": { description: "caching policy", schema: { type: "string" as const, example: value } },
});
const binary = (description: string, cache: string) => ({
  description,
  headers: cacheHeader(cache),
  content: { "application/octet-stream": { schema: z.string().meta({ format: "binary" }) } },
});
const notFound = {
  description: "no such tile, or beyond the latest checkpoint (plain text, not cached)",
  headers: cacheHeader("no-store"),
  content: { "text/plain": { schema: z.string() } },
};
const jsonError = (description: string) => ({
  description,
  content: { "application/json": { schema: ErrorSchema } },
});
const TILE_LEVEL = z
  .string()
  .regex(/^[0-9]+$/)
  .meta({ description: `tile level; a level-L tile holds hashes at tree height ${TLOG_TILE_HEIGHT}·L` });
const TILE_INDEX = z.string().meta({
  description:
    "tile index as C2SP path elements: three-digit groups, all but the last prefixed with x (e.g. x001/234); " +
    "the index may span several path segments",
  example: "x001/234",
});
const TILE_WIDTH = z
  .string()
  .regex(/^[1-9][0-9]*$/)
  .meta({ description: `width of a partial tile, 1..${TLOG_TILE_WIDTH - 1}` });
const tileHashes = (partial: boolean): RouteConfig => ({
  method: "get",
  path: partial ? "/tlog/tile/{L}/{N}.p/{W}" : "/tlog/tile/{L}/{N}",
  operationId: partial ? "getPartialHashTile" : "getHashTile",
  summary: partial ? "A partial hash tile (C2SP tlog-tiles)" : "A full hash tile (C2SP tlog-tiles)",
  tags: ["tlog"],
  description: `Public. ${partial ? "W" : String(TLOG_TILE_WIDTH)} concatenated 32-byte SHA-256 node hashes; only tiles within the latest checkpoint are served.`,
  security: [],
  request: { params: z.object({ L: TILE_LEVEL, N: TILE_INDEX, ...(partial ? { W: TILE_WIDTH } : {}) }) },
  responses: { 200: binary("hash tile", IMMUTABLE), 404: notFound, 429: jsonError("rate limit exceeded") },
});
const entryBundle = (partial: boolean): RouteConfig => ({
  method: "get",
  path: partial ? "/tlog/tile/entries/{N}.p/{W}" : "/tlog/tile/entries/{N}",
  operationId: partial ? "getPartialEntryBundle" : "getEntryBundle",
  summary: partial ? "A partial entry bundle (C2SP tlog-tiles)" : "An entry bundle (C2SP tlog-tiles)",
  tags: ["tlog"],
  description:
    "Roles: auditor. The leaves' bytes, each prefixed with its 2-byte big-endian length; they carry salts and " +
    "pseudonyms, hence the auditor role and a private cache policy.",
  security: [{ apiKey: [] }],
  request: { params: z.object({ N: TILE_INDEX, ...(partial ? { W: TILE_WIDTH } : {}) }) },
  responses: {
    200: binary("entry bundle", ENTRIES_CACHE),
    401: jsonError("missing or unknown API key (UNAUTHENTICATED)"),
    403: jsonError("the key's role may not read entries (FORBIDDEN)"),
    404: notFound,
    429: jsonError("rate limit exceeded (RATE_LIMITED)"),
  },
});

/** The tlog-tiles read API in OpenAPI form, for the API's document (served outside `/v1`). */
export function tlogOpenApiPaths(): RouteConfig[] {
  return [
    {
      method: "get",
      path: "/tlog/checkpoint",
      operationId: "getCheckpoint",
      summary: "The latest signed checkpoint (C2SP tlog-checkpoint in a signed note)",
      tags: ["tlog"],
      description:
        "Public. The newest anchored head as a C2SP checkpoint, signed with the log key and carrying the " +
        "witnesses' cosignatures. Short-lived cache: it changes with every anchor.",
      security: [],
      responses: {
        200: {
          description: "signed note",
          headers: cacheHeader(CHECKPOINT_CACHE),
          content: { "text/plain; charset=utf-8": { schema: z.string() } },
        },
        429: jsonError("rate limit exceeded (RATE_LIMITED)"),
      },
    },
    tileHashes(false),
    tileHashes(true),
    entryBundle(false),
    entryBundle(true),
  ];
}
