import express, { type NextFunction, type Request, type Response } from "express";
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
import { NotFoundError } from "./errors";
import { admit, type PipelineOptions } from "./http/pipeline";
import type { RouteDef } from "./http/route";
import type { LedgerPort, LogReader } from "./ports";
import type { CheckpointService } from "./services/checkpoints";

/** Node-hash reads on top of the API's LogReader (src/log LogStore satisfies it). */
export interface TileReader extends LogReader {
  nodeHashes(level: number, start: number, count: number): Promise<Uint8Array>;
}

const IMMUTABLE = "public, max-age=31536000, immutable";

// Stands for the entry-bundle endpoint in the shared authentication step (auditors only).
const ENTRIES_ACCESS = {
  method: "get",
  path: "/tlog/tile/entries/{N}",
  access: ["auditor"],
} as unknown as RouteDef;

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
  r.get("/checkpoint", async (_req: Request, res: Response) => {
    const { note } = await opts.checkpoints.cosignedCheckpoint(await opts.checkpoints.latestHead());
    res.set("Content-Type", "text/plain; charset=utf-8").set("Cache-Control", "public, max-age=2").send(note);
  });
  r.get(/^\/tile\/(.+)$/, async (req: Request, res: Response) => {
    const path = req.path.slice(1);
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
      await admit(ENTRIES_ACCESS, req.headers.authorization, req.ip, opts.pipeline);
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
        .set("Cache-Control", "private, max-age=31536000, immutable")
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
