import { expect } from "chai";
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { bytesToHex } from "viem";
import { writeDeployment } from "../../src/chain/deployment";
import { DEV_ROLES, startDevChain, type DevChain } from "../../src/chain/dev";
import { devAccount } from "../../src/chain/anvil";
import { custodyAnchorAbi } from "../../src/chain/generated/abi";
import { runCli } from "../../src/cli/main";
import { freePort } from "../support/net";
import { describeWithPg } from "../support/pg";

const STACK_MAIN = path.resolve(__dirname, "../../src/stack/main.ts");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits for `f` to return a truthy value; a liveness bound, not a performance assertion. */
async function within<T>(what: string, ms: number, f: () => Promise<T | undefined | false>): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await f();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await sleep(200);
  }
  throw new Error(`${what}: not within ${ms / 1000} s${last ? ` (last error: ${String(last)})` : ""}`);
}

interface StackProcess {
  name: string;
  child: ChildProcess;
  url: string;
  dataDir: string;
  output: () => string;
  exited: Promise<number | null>;
}

/** `npm start` as docs/operations.md runs it on each host: API + relayer on the shared PostgreSQL ledger. */
async function startStackProcess(
  name: string,
  dir: string,
  args: { db: string; rpc: string; deployment: string },
  env: Record<string, string>,
): Promise<StackProcess> {
  const port = await freePort();
  const dataDir = path.join(dir, name);
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      STACK_MAIN,
      ...["--data-dir", dataDir, "--db", args.db, "--rpc", args.rpc, "--deployment", args.deployment],
      ...["--port", String(port), "--anchor-interval-ms", "300"],
    ],
    { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  child.stdout!.on("data", (c) => (out += c));
  child.stderr!.on("data", (c) => (out += c));
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code, signal) => resolve(code ?? (signal ? -1 : null))),
  );
  const p = { name, child, url: `http://127.0.0.1:${port}`, dataDir, output: () => out, exited };
  let dead = false;
  void exited.then(() => (dead = true));
  await within(`${name} answers /v1/health`, 180_000, async () => {
    if (dead) throw new Error(`${name} exited during start:\n${out}`);
    return (await fetch(`${p.url}/v1/health`)).ok;
  }).catch((e: Error) => {
    throw new Error(`${e.message}\n${out}`);
  });
  return p;
}

async function relayerIsLeader(p: StackProcess): Promise<boolean> {
  const r = await fetch(`${p.url}/v1/ready`);
  const body = (await r.json()) as { checks?: { relayer?: { leader?: boolean } } };
  return body.checks?.relayer?.leader === true;
}

describeWithPg(
  "stack: standby takeover with real processes (2 × API + relayer, one PostgreSQL, one anvil)",
  (ctx) => {
    let chain: DevChain;
    let dir: string;
    const procs: StackProcess[] = [];
    before(async function () {
      this.timeout(180_000);
      chain = await startDevChain();
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "custody-takeover-"));
    });
    after(async function () {
      this.timeout(60_000);
      for (const p of procs) {
        if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGKILL");
        await p.exited;
      }
      await chain?.stop();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("kill -9 of the leader under load: the standby anchors, heads stay gap-free and consistent, every acknowledged transfer is there once", async function () {
      this.timeout(900_000);
      const deploymentFile = path.join(dir, "deployment.json");
      writeDeployment(deploymentFile, chain.deployment);
      const relayerKey = bytesToHex(devAccount(DEV_ROLES.relayer).getHdKey().privateKey!);
      const pseudonymKey = randomBytes(32).toString("hex");
      const env = {
        CUSTODY_RELAYER_KEY: relayerKey,
        CUSTODY_PSEUDONYM_KEY: pseudonymKey,
        CUSTODY_RATE_LIMIT: "0",
      };
      const args = { db: ctx.url, rpc: chain.node.rpcUrl, deployment: deploymentFile };
      // One after the other: the first applies the migrations.
      procs.push(await startStackProcess("a", dir, args, env));
      procs.push(await startStackProcess("b", dir, args, env));
      const platformKey = (p: StackProcess) =>
        (JSON.parse(fs.readFileSync(path.join(p.dataDir, "api-keys.json"), "utf8")) as { platform: string })
          .platform;
      const keyOf = new Map(procs.map((p) => [p, platformKey(p)]));

      const post = (p: StackProcess, route: string, body: unknown) =>
        fetch(`${p.url}${route}`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${keyOf.get(p)}` },
          body: JSON.stringify(body),
        });
      for (const [id, type] of [
        ["bank", "bank_mirror"],
        ["alice", "customer"],
        ["bob", "customer"],
      ]) {
        const r = await post(procs[0]!, "/v1/accounts", { id, type, asset: "EUR", scale: 2 });
        expect(r.status, `open ${id}: ${await r.text()}`).to.equal(201);
      }

      const pc = chain.clients.publicClient;
      const anchor = { address: chain.deployment.custodyAnchor, abi: custodyAnchorAbi } as const;
      const headCount = async () => Number(await pc.readContract({ ...anchor, functionName: "headCount" }));

      // Load: 8 clients, each sending transfers one at a time to the live processes in turn.
      const live = new Set(procs);
      const acknowledged: string[] = [];
      let stop = false;
      const clients = Array.from({ length: 8 }, async (_, c) => {
        for (let i = 0; !stop; i++) {
          const targets = [...live];
          const p = targets[i % targets.length]!;
          const id = `t-${c}-${i}`;
          const to = i % 2 === 0 ? "alice" : "bob";
          try {
            const r = await post(p, "/v1/transfers", {
              id,
              debitAccountId: "bank",
              creditAccountId: to,
              amount: "100",
              kind: "deposit",
            });
            if (r.status === 201) acknowledged.push(id);
            else if (live.has(p))
              throw new Error(`transfer ${id} on ${p.name}: ${r.status} ${await r.text()}`);
          } catch (e) {
            if (live.has(p)) throw e; // only requests to the killed process may fail
          }
        }
      });
      const load = Promise.all(clients);
      load.catch(() => (stop = true));

      let leader: StackProcess;
      let standby: StackProcess;
      let headsAtKill: number;
      try {
        const leaders = await within("a relayer becomes leader", 60_000, async () => {
          const found = [];
          for (const p of procs) if (await relayerIsLeader(p)) found.push(p);
          return found.length > 0 && found;
        });
        expect(leaders.map((p) => p.name)).to.have.length(1);
        leader = leaders[0]!;
        standby = procs.find((p) => p !== leader)!;
        await within(
          "the leader anchors under load",
          120_000,
          async () => (await headCount()) >= 2 && acknowledged.length >= 200,
        );
        expect(await relayerIsLeader(standby)).to.equal(false);

        live.delete(leader);
        leader.child.kill("SIGKILL");
        await leader.exited;
        headsAtKill = await headCount();
        const ackedAtKill = acknowledged.length;

        // Liveness: the advisory lock goes with the dead session, so the standby leads at its next
        // step; a lease period (10 s) plus a wide margin for a loaded machine.
        await within("the standby takes the lease and anchors", 60_000, async () => {
          return (await relayerIsLeader(standby)) && (await headCount()) > headsAtKill;
        });
        await within(
          "load continues on the survivor",
          60_000,
          async () => acknowledged.length > ackedAtKill + 100,
        );
      } finally {
        // A failed wait must not leave the clients running.
        stop = true;
      }
      await load;

      const db = new pg.Client({ connectionString: ctx.url });
      await db.connect();
      try {
        const events = await db.query<{ n: string; lo: string | null; hi: string | null }>(
          "SELECT count(*) AS n, min(sequence) AS lo, max(sequence) AS hi FROM ledger_events",
        );
        const eventCount = Number(events.rows[0]!.n);
        // Gap-free event sequence: leaf i = event i.
        expect(Number(events.rows[0]!.hi) - Number(events.rows[0]!.lo) + 1).to.equal(eventCount);
        expect(Number(events.rows[0]!.lo)).to.equal(0);

        // Every acknowledged transfer once, each with its own event.
        expect(new Set(acknowledged).size).to.equal(acknowledged.length);
        const found = await db.query<{ n: string; seqs: string }>(
          `SELECT count(*) AS n, count(DISTINCT e.sequence) AS seqs
           FROM ledger_transfers t JOIN ledger_events e ON e.sequence = t.sequence WHERE t.id = ANY($1)`,
          [acknowledged],
        );
        expect(Number(found.rows[0]!.n)).to.equal(acknowledged.length);
        expect(Number(found.rows[0]!.seqs)).to.equal(acknowledged.length);

        // The survivor anchors everything; the heads on chain grow strictly, none twice, none skipped.
        await within("the survivor anchors every event", 180_000, async () => {
          const n = await headCount();
          const last = await pc.readContract({ ...anchor, functionName: "getHead", args: [BigInt(n - 1)] });
          return Number(last.treeSize) === eventCount;
        });
        // One process evaluates the risk rules (whichever held the lock); the survivor evaluates or
        // follows every event, and its readiness says so from its own cursor.
        await within("the survivor's rules engine reaches the ledger's end", 60_000, async () => {
          const r = await fetch(`${standby.url}/v1/ready`);
          const body = (await r.json()) as { checks?: { risk?: { ok: boolean; lagEvents?: number } } };
          const stored = await db.query(
            "SELECT (SELECT next_sequence FROM risk_cursor) AS cursor, (SELECT count(*) FROM ledger_events) AS n",
          );
          const { cursor, n: events } = stored.rows[0] as { cursor: string; n: string };
          return (
            r.status === 200 &&
            body.checks?.risk?.ok === true &&
            body.checks.risk.lagEvents === 0 &&
            Number(cursor) === Number(events)
          );
        });
        const n = await headCount();
        expect(n).to.be.greaterThan(headsAtKill);
        const heads = [];
        for (let i = 0; i < n; i++)
          heads.push(await pc.readContract({ ...anchor, functionName: "getHead", args: [BigInt(i)] }));
        for (let i = 1; i < n; i++)
          expect(Number(heads[i]!.treeSize), `head ${i}`).to.be.greaterThan(Number(heads[i - 1]!.treeSize));
        await within("the survivor mirrors every head", 60_000, async () => {
          const r = await db.query("SELECT count(*) AS n FROM relayer_anchors");
          return Number(r.rows[0].n) === n;
        });
        const mirror = await db.query<{ head_index: string; tree_size: string; root_hash: string }>(
          "SELECT head_index, tree_size, root_hash FROM relayer_anchors ORDER BY head_index",
        );
        expect(
          mirror.rows.map((r) => [Number(r.head_index), Number(r.tree_size), r.root_hash.toLowerCase()]),
        ).to.deep.equal(heads.map((h, i) => [i, Number(h.treeSize), h.rootHash.toLowerCase()]));
      } finally {
        await db.end();
      }

      // The audit replays the ledger, rebuilds the tree and checks every head against it (and every pseudonym).
      process.env.TAKEOVER_PSEUDONYM_KEY = pseudonymKey;
      const out: string[] = [];
      const code = await runCli(
        [
          ...["audit", "--rpc", chain.node.rpcUrl, "--db", ctx.url, "--deployment", deploymentFile],
          ...[
            "--pseudonym-key-env",
            "TAKEOVER_PSEUDONYM_KEY",
            "--out",
            path.join(dir, "audit.json"),
            "--no-progress",
          ],
        ],
        { out: (s) => out.push(s), err: (s) => out.push(s) },
      );
      delete process.env.TAKEOVER_PSEUDONYM_KEY;
      expect(code, out.join("\n")).to.equal(0);

      standby.child.kill("SIGTERM");
      expect(await standby.exited, standby.output()).to.equal(0);
    });
  },
);
