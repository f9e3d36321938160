import { expect } from "chai";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { Registry } from "prom-client";
import { startDevChain, type DevChain } from "../../src/chain/dev";
import { closeDatabase, openDatabase, type Database } from "../../src/db/database";
import { migrate } from "../../src/db/migrate";
import { openLedger, type Ledger } from "../../src/ledger";
import { openLogStore } from "../../src/log/store";
import { custodyAnchorAbi as anchorAbi } from "../../src/chain/generated/abi";
import { describeWithPg } from "../support/pg";
import { silentLogger } from "../../src/logging";
import { relayerMigrations } from "../../src/relayer/migrations";
import { createRelayer, type Relayer } from "../../src/relayer/relayer";
import { logAnchorSource } from "../../src/relayer/source";
import { createLogIntegrator } from "../../src/log/integrator";

const WRITER = path.join(__dirname, "fixtures", "write-ledger.ts");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// PostgreSQL, where the stall was seen: several writers, and no file lock between them and the relayer.
describeWithPg("relayer: anchoring under steady load", (ctx) => {
  let chain: DevChain;
  let db: Database;
  let ledger: Ledger;
  let dbPath: string;
  let relayer: Relayer | undefined;
  before(async () => {
    chain = await startDevChain();
    dbPath = ctx.url;
    db = openDatabase(dbPath);
    await migrate(db, relayerMigrations);
  });
  // Closed inside the test: the suite's own after hook drops the database first.
  const close = async () => {
    await relayer?.stop();
    await ledger?.close();
    if (db) await closeDatabase(db);
    await chain?.node.stop();
  };

  it("anchors heads of at most batch-size entries while another process keeps adding events", async function () {
    this.timeout(300_000);
    const BATCH = 50;
    const key = randomBytes(32);
    ledger = await openLedger(db, { pseudonymKey: key });
    relayer = createRelayer({
      db,
      source: logAnchorSource({
        ledger,
        integrator: createLogIntegrator({ source: ledger, store: await openLogStore(db) }),
      }),
      publicClient: chain.clients.publicClient,
      account: chain.accounts.relayer,
      deployment: chain.deployment,
      policy: { batchSize: BATCH, maxBatch: BATCH, maxDelayMs: 100 },
      registry: new Registry(),
      log: silentLogger,
      pollIntervalMs: 50,
    });
    // The writer commits small batches back to back: every read of the ledger finds new entries.
    const writer = spawn(process.execPath, ["-r", "tsx/cjs", WRITER], {
      env: { ...process.env, WRITER_DB: dbPath, WRITER_KEY: key.toString("hex"), WRITER_BATCH: "5" },
      stdio: ["ignore", "pipe", "inherit"],
    });
    const exited = new Promise((resolve) => writer.once("exit", resolve));
    try {
      await new Promise<void>((resolve, reject) => {
        writer.stdout!.on("data", (c: Buffer) => c.toString().includes("ready") && resolve());
        writer.once("exit", (code) => reject(new Error(`writer exited with ${code}`)));
      });
      relayer.start();
      const pc = chain.clients.publicClient;
      const headCount = async () =>
        Number(
          await pc.readContract({
            address: chain.deployment.custodyAnchor,
            abi: anchorAbi,
            functionName: "headCount",
          }),
        );
      // Up to 60 s for three heads while the writer is still writing (a bound on waiting, not a
      // time assertion: before the fix no head came at all while the load lasted).
      for (let i = 0; i < 600 && (await headCount()) < 3; i++) await sleep(100);
      const seenWhileWriting = await headCount();
      expect(writer.exitCode, "the writer was still running").to.equal(null);
      const eventsThen = await ledger.eventCount();
      await sleep(300);
      expect(await ledger.eventCount(), "the writer was still adding events").to.be.greaterThan(eventsThen);
      expect(seenWhileWriting, "heads anchored while the writer kept writing").to.be.at.least(3);

      let prev = 0;
      for (let i = 0; i < seenWhileWriting; i++) {
        const h = await pc.readContract({
          address: chain.deployment.custodyAnchor,
          abi: anchorAbi,
          functionName: "getHead",
          args: [BigInt(i)],
        });
        const size = Number(h.treeSize);
        expect(size - prev, `head ${i} adds at most ${BATCH} entries`).to.be.within(1, BATCH);
        prev = size;
      }
    } finally {
      writer.kill("SIGKILL");
      await exited;
      await close();
    }
  });
});
