import { NoteFormatError } from "./errors";

/**
 * C2SP tlog-tiles paths and geometry (c2sp.org/tlog-tiles): tiles of height 8 (256 hashes).
 * Tile (L, N) holds the perfect nodes of tree level 8·L with indices [256·N, 256·N + W).
 * Entry bundles use L = "entries" and the level-0 geometry. Browser-safe.
 */
export const TLOG_TILE_HEIGHT = 8;
export const TLOG_TILE_WIDTH = 256;

export interface TlogTile {
  /** Tile level 0…63, or "entries" for an entry bundle. */
  readonly level: number | "entries";
  readonly index: number;
  /** 1…256 (256 = full tile, served without `.p/`). */
  readonly width: number;
}

/** "x001/x234/067" for 1234067 (zero-padded 3-digit elements, all but the last prefixed with x). */
export function formatTileIndex(n: number): string {
  let s = String(n % 1000).padStart(3, "0");
  for (n = Math.floor(n / 1000); n > 0; n = Math.floor(n / 1000))
    s = `x${String(n % 1000).padStart(3, "0")}/${s}`;
  return s;
}

export function tilePath(t: TlogTile): string {
  return `tile/${t.level}/${formatTileIndex(t.index)}${t.width < TLOG_TILE_WIDTH ? `.p/${t.width}` : ""}`;
}

/** Parses "tile/<L>/<N>[.p/<W>]" or "tile/entries/<N>[.p/<W>]" (no leading slash); only the canonical spelling is accepted. */
export function parseTilePath(path: string): TlogTile {
  const bad = () =>
    new NoteFormatError("not a tlog-tiles path", { details: `got ${JSON.stringify(path.slice(0, 120))}` });
  const m = /^tile\/(entries|0|[1-9][0-9]?)\/((?:x[0-9]{3}\/)*[0-9]{3})(?:\.p\/([1-9][0-9]{0,2}))?$/.exec(
    path,
  );
  if (!m) throw bad();
  const level = m[1] === "entries" ? ("entries" as const) : Number(m[1]);
  if (level !== "entries" && level > 63) throw bad();
  const parts = m[2].split("/").map((p) => Number(p.replace(/^x/, "")));
  let index = 0;
  for (const p of parts) index = index * 1000 + p;
  if (!Number.isSafeInteger(index)) throw bad();
  const width = m[3] === undefined ? TLOG_TILE_WIDTH : Number(m[3]);
  if (width < 1 || width >= TLOG_TILE_WIDTH + (m[3] === undefined ? 1 : 0)) throw bad();
  const t = { level, index, width };
  if (tilePath(t) !== path) throw bad();
  return t;
}

/** Leaves a tile (or bundle) spans up to its last hash: a tree of this size or more holds it. */
export function tileNeedsTreeSize(t: TlogTile): number {
  const span = t.level === "entries" ? 1 : TLOG_TILE_WIDTH ** t.level;
  return (t.index * TLOG_TILE_WIDTH + t.width) * span;
}

/** The tiles (full or partial) a tree of `size` leaves is made of, at every level (what the spec says a log serves). */
export function tilesForSize(size: number): TlogTile[] {
  const out: TlogTile[] = [];
  for (let level = 0, count = size; count > 0; level++, count = Math.floor(count / TLOG_TILE_WIDTH)) {
    const full = Math.floor(count / TLOG_TILE_WIDTH);
    for (let n = 0; n < full; n++) out.push({ level, index: n, width: TLOG_TILE_WIDTH });
    if (count % TLOG_TILE_WIDTH) out.push({ level, index: full, width: count % TLOG_TILE_WIDTH });
  }
  return out;
}

/** Entry bundle: big-endian uint16 length-prefixed entries. */
export function encodeEntryBundle(entries: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const e of entries) {
    if (e.length > 0xffff) throw new NoteFormatError("an entry bundle entry is at most 65535 bytes");
    total += 2 + e.length;
  }
  const out = new Uint8Array(total);
  let o = 0;
  for (const e of entries) {
    out[o] = e.length >> 8;
    out[o + 1] = e.length & 255;
    out.set(e, o + 2);
    o += 2 + e.length;
  }
  return out;
}

export function decodeEntryBundle(bundle: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let o = 0; o < bundle.length;) {
    if (o + 2 > bundle.length) throw new NoteFormatError("entry bundle ends inside a length prefix");
    const n = (bundle[o] << 8) | bundle[o + 1];
    if (o + 2 + n > bundle.length) throw new NoteFormatError("entry bundle ends inside an entry");
    out.push(bundle.slice(o + 2, o + 2 + n));
    o += 2 + n;
  }
  return out;
}
