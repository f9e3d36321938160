import fs from "node:fs";
import path from "node:path";
import express, { type Router } from "express";
import { WEB_DIST_DIR } from "./build";
import { WebBuildError } from "./errors";

export interface WebRouterOptions {
  /** The built page; default web/dist (run `npm run build:web` first). */
  distDir?: string;
}

/**
 * Express router serving the built receipt checker (static files, index.html at `/`). The page
 * expects the API's `/v1` routes on the same origin (or a `?api=` parameter).
 *
 * @example
 * app.use(webRouter());
 */
export function webRouter(opts: WebRouterOptions = {}): Router {
  const dir = opts.distDir ?? WEB_DIST_DIR;
  if (!fs.existsSync(path.join(dir, "index.html")))
    throw new WebBuildError(`the receipt checker is not built in ${dir}`, {
      details: "run `npm run build:web`",
    });
  const router = express.Router();
  router.use(express.static(dir, { index: "index.html", fallthrough: true, maxAge: "5m" }));
  return router;
}
