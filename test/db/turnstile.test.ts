import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Worker } from "node:worker_threads";
import { closeDatabase, openDatabase, type Database } from "../../src/db/database";
import { batch } from "../../src/db/sql";
import { WriteTurnstile } from "../../src/db/turnstile";
import { InvalidArgumentError } from "../../src/errors";
import { openLedger } from "../../src/ledger";
import { sqlRunner, run as runStatement } from "../../src/db/tx-runner";
import type { TurnstileWorkerData } from "./turnstile-worker";

const WORKER = path.join(__dirname, "turnstile-worker.ts");
const BOOTSTRAP = `
const { workerData } = require("node:worker_threads");
require("tsx/cjs/api").register();
require(workerData.module).runTurnstileWorker();
`;

/** Whether `p` settled by the time the event loop went round once more. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(() => (done = true));
  await new Promise((r) => setImmediate(r));
  return done;
}

function startWorker(data: TurnstileWorkerData) {
  const w = new Worker(BOOTSTRAP, { eval: true, workerData: { ...data, module: WORKER } });
  const messages: { type: string; between?: number[]; pending?: boolean }[] = [];
  const waiters: (() => void)[] = [];
  w.on("message", (m) => {
    messages.push(m);
    waiters.splice(0).forEach((f) => f());
  });
  const message = async (type: string) => {
    for (;;) {
      const m = messages.find((x) => x.type === type);
      if (m) return m;
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  const exited = new Promise<void>((r) => w.on("exit", () => r()));
  return { w, message, exited };
}

describe("write turnstile (src/db/turnstile.ts)", () => {
  it("hands the turn to the other waiting lane: after at most one turn of a back-to-back writer", async () => {
    const a = WriteTurnstile.create();
    const b = WriteTurnstile.attach(a.share());
    expect(a.enter(), "free: taken at once").to.equal(undefined);
    const bWaits = b.enter()!;
    expect(bWaits).to.be.instanceOf(Promise);
    a.leave();
    // A comes straight back: B's turn comes first.
    const aWaits = a.enter()!;
    expect(aWaits).to.be.instanceOf(Promise);
    await bWaits;
    expect([a.held, b.held]).to.deep.equal([false, true]);
    expect(await settled(aWaits)).to.equal(false);
    b.leave();
    await aWaits;
    expect([a.held, b.held]).to.deep.equal([true, false]);
    a.leave();
    expect(b.enter(), "free again").to.equal(undefined);
    b.leave();
  });

  it("queues the callers of one thread behind each other, and lets other lanes in between", async () => {
    const a = WriteTurnstile.create();
    const b = WriteTurnstile.attach(a.share());
    const order: string[] = [];
    expect(a.enter()).to.equal(undefined);
    const a2 = a.enter()!.then(() => order.push("a2"));
    const b1 = b.enter()!.then(() => order.push("b1"));
    a.leave();
    await b1;
    expect(await settled(a2)).to.equal(false);
    b.leave();
    await a2;
    a.leave();
    expect(order).to.deep.equal(["b1", "a2"]);
  });

  it("refuses a leave without an enter and a lane out of range, with named errors", () => {
    const a = WriteTurnstile.create();
    expect(() => a.leave()).to.throw(InvalidArgumentError);
    expect(() => WriteTurnstile.attach({ ...a.share(), lane: 99 })).to.throw(InvalidArgumentError);
    expect(() => WriteTurnstile.attach({ buffer: new SharedArrayBuffer(8), lane: 1 })).to.throw(
      InvalidArgumentError,
    );
  });

  it("an abandoned lane's turn goes on, and it is never handed the turn again", async () => {
    const a = WriteTurnstile.create();
    const shared = a.share();
    const dead = WriteTurnstile.attach(shared);
    expect(dead.enter()).to.equal(undefined);
    const aWaits = a.enter()!;
    a.abandon(shared.lane);
    await aWaits;
    expect(a.held).to.equal(true);
    // A lane that died waiting is passed over.
    const dead2 = WriteTurnstile.attach(a.share());
    void dead2.enter();
    a.abandon(dead2.lane);
    a.leave();
    expect(a.enter(), "free: nobody alive waits").to.equal(undefined);
    a.leave();
  });

  describe("on a SQLite file", () => {
    let dir: string;
    let db: Database & { kind: "sqlite" };
    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "custody-turnstile-"));
      db = openDatabase(path.join(dir, "t.db")) as Database & { kind: "sqlite" };
      db.sqlite.exec("CREATE TABLE writes (id INTEGER PRIMARY KEY, who TEXT NOT NULL)");
    });
    afterEach(async () => {
      await closeDatabase(db);
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it("a worker thread's commits wait at most one of the main thread's back-to-back commits", async () => {
      const counter = new SharedArrayBuffer(4);
      const commits = new Int32Array(counter);
      const worker = startWorker({
        file: db.url,
        turnstile: db.turnstile.share(),
        counter,
        mode: "commits",
        count: 50,
      });
      const insert = db.sqlite.prepare("INSERT INTO writes (who) VALUES ('main')");
      let finished = false;
      const result = worker.message("done").then((m) => ((finished = true), m));
      // Back to back: the next transaction asks for the turn as soon as the last one committed.
      while (!finished) {
        await db.turnstile.run(() => {
          db.sqlite
            .transaction(() => {
              for (let i = 0; i < 500; i++) insert.run();
            })
            .immediate();
          Atomics.add(commits, 0, 1);
        });
        if (Atomics.load(commits, 0) % 20 === 0) await new Promise((r) => setImmediate(r));
      }
      const { between } = await result;
      await worker.exited;
      expect(between).to.have.length(50);
      expect(Math.max(...between!), `main commits while the worker waited: ${between}`).to.be.at.most(1);
      const [{ n }] = db.sqlite.prepare("SELECT COUNT(*) AS n FROM writes WHERE who = 'worker'").all() as {
        n: number;
      }[];
      expect(n).to.equal(50);
    });

    /** A worker on its own lane of `db`'s turnstile, abandoned by this thread when it exits (as the engine's thread is). */
    const laneWorker = (mode: "hold" | "wait") => {
      const shared = db.turnstile.share();
      const worker = startWorker({
        file: db.url,
        turnstile: shared,
        counter: new SharedArrayBuffer(4),
        mode,
      });
      worker.w.on("exit", () => db.turnstile.abandon(shared.lane));
      return worker;
    };

    it("a thread that dies holding the turn does not keep it: its parent abandons its lane", async () => {
      const worker = laneWorker("hold");
      await worker.message("held");
      const waits = db.turnstile.enter()!;
      expect(waits, "held by the thread").to.be.instanceOf(Promise);
      await worker.w.terminate();
      await worker.exited;
      await waits;
      expect(db.turnstile.held).to.equal(true);
      db.turnstile.leave();
    });

    it("a thread that dies waiting for the turn is passed over", async () => {
      expect(db.turnstile.enter()).to.equal(undefined);
      const worker = laneWorker("wait");
      expect((await worker.message("waiting")).pending).to.equal(true);
      await worker.w.terminate();
      await worker.exited;
      db.turnstile.leave();
      expect(db.turnstile.enter(), "free: the dead thread was not handed the turn").to.equal(undefined);
      db.turnstile.leave();
    });

    it("gives the turn back when a write fails and rolls back (plain batch, risk runner, ledger)", async () => {
      const other = WriteTurnstile.attach(db.turnstile.share());
      const free = () => {
        expect(db.turnstile.held).to.equal(false);
        expect(other.enter(), "another lane takes it at once").to.equal(undefined);
        other.leave();
      };
      let failed: unknown;
      await batch(db, [
        { sql: "INSERT INTO writes (who) VALUES ('x')", params: [] },
        { sql: "INSERT INTO nowhere VALUES (1)", params: [] },
      ]).catch((e) => (failed = e));
      expect(failed).to.be.instanceOf(Error);
      free();
      failed = undefined;
      await sqlRunner(db)
        .tx(function* () {
          yield* runStatement("INSERT INTO writes (who) VALUES ('y')");
          throw new InvalidArgumentError("refused in the body");
        })
        .catch((e) => (failed = e));
      expect(failed).to.be.instanceOf(InvalidArgumentError);
      free();
      const [{ n }] = db.sqlite.prepare("SELECT COUNT(*) AS n FROM writes").all() as { n: number }[];
      expect(n, "both rolled back").to.equal(0);
      // The ledger's unit of work: a refused transfer (unknown accounts) and a committed one.
      const ledger = await openLedger(db, { pseudonymKey: new Uint8Array(32).fill(1) });
      await ledger
        .transfer({ id: "t1", debitAccountId: "nope", creditAccountId: "nada", amount: 1n, kind: "transfer" })
        .catch((e) => (failed = e));
      free();
      await ledger.openAccount({ id: "a", type: "customer", asset: "CNY", scale: 2 });
      free();
      expect(db.turnstile.stats.turns).to.be.greaterThan(0);
      await ledger.close();
    });

    it("the ledger's commits wait while another lane holds the turn, without blocking the event loop", async () => {
      const ledger = await openLedger(db, { pseudonymKey: new Uint8Array(32).fill(1) });
      const other = WriteTurnstile.attach(db.turnstile.share());
      expect(other.enter()).to.equal(undefined);
      const opened = ledger.openAccount({ id: "b", type: "customer", asset: "CNY", scale: 2 });
      let ticks = 0;
      for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r)).then(() => ticks++);
      expect(await settled(opened), "waits for its turn").to.equal(false);
      expect(ticks).to.equal(5);
      other.leave();
      await opened;
      expect((await ledger.getAccount("b")).id).to.equal("b");
      await ledger.close();
    });
  });
});
