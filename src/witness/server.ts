import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { sha256 } from "@noble/hashes/sha2";
import { toHex } from "../log/hex";
import { WitnessRefusalError } from "./errors";
import type { Witness } from "./witness";

const MAX_BODY = 64 * 1024;

export interface WitnessServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/**
 * HTTP face of a witness (C2SP tlog-witness): `POST /add-checkpoint`, and
 * `GET /<hex SHA-256 of origin>/checkpoint` for monitors. With an anchor key, also
 * `POST /anchor-cosignature` (JSON in and out, docs/witness.md).
 */
export async function startWitnessServer(
  witness: Witness,
  opts: { host?: string; port?: number; origins: readonly string[] },
): Promise<WitnessServer> {
  const byHash = new Map(opts.origins.map((o) => [toHex(sha256(new TextEncoder().encode(o))).slice(2), o]));
  const server = createServer((req, res) => {
    const text = (status: number, body: string, type = "text/plain; charset=utf-8") => {
      res.writeHead(status, { "Content-Type": type, "Cache-Control": "no-store" });
      res.end(body);
    };
    const refuse = (e: unknown) => {
      if (e instanceof WitnessRefusalError) {
        if (e.status === 409) text(409, `${e.knownSize ?? 0}\n`, "text/x.tlog.size");
        else text(e.status, `${e.shortMessage}${e.details ? `: ${e.details}` : ""}\n`);
      } else text(500, "internal error\n");
    };
    const readBody = (then: (body: string) => void) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on("data", (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY) {
          text(413, "request body too large\n");
          req.destroy();
        } else chunks.push(c);
      });
      req.on("end", () => {
        if (size > MAX_BODY) return;
        then(Buffer.concat(chunks).toString("utf8"));
      });
    };
    if (req.method === "POST" && req.url === "/add-checkpoint") {
      readBody((body) => witness.addCheckpoint(body).then((line) => text(200, line), refuse));
      return;
    }
    if (req.method === "POST" && req.url === "/anchor-cosignature") {
      readBody((body) =>
        witness
          .anchorCosignature(body)
          .then((r) => text(200, JSON.stringify(r) + "\n", "application/json"), refuse),
      );
      return;
    }
    const m = req.method === "GET" ? /^\/([0-9a-f]{64})\/checkpoint$/.exec(req.url ?? "") : null;
    if (m) {
      const origin = byHash.get(m[1]);
      const note = origin === undefined ? undefined : witness.latest(origin);
      if (note === undefined) text(404, "no checkpoint cosigned for this log\n");
      else text(200, note);
      return;
    }
    text(404, "not found\n");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${opts.host ?? "127.0.0.1"}:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
