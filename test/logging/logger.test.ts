import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { TurnBufferedDestination, createLogger, redact } from "../../src/logging";

function capture(level = "debug") {
  const lines: Record<string, any>[] = [];
  const raw: string[] = [];
  const logger = createLogger({
    component: "test",
    level,
    destination: {
      write: (line: string) => {
        raw.push(line);
        lines.push(JSON.parse(line));
      },
    },
  });
  return { logger, lines, raw };
}

describe("logging: the one pino logger", () => {
  it("writes JSON lines with a named level, ISO time, component and message", () => {
    const { logger, lines } = capture();
    logger.warn({ treeSize: 42, amount: 10n ** 30n }, "head anchored");
    expect(lines).to.have.length(1);
    expect(lines[0]).to.include({ level: "warn", component: "test", msg: "head anchored", treeSize: 42 });
    expect(Date.parse(lines[0].time)).to.be.a("number").and.not.NaN;
    expect(lines[0]).to.not.have.any.keys("pid", "hostname");
  });

  it("honours the minimum level", () => {
    const { logger, lines } = capture("warn");
    logger.info("dropped");
    logger.error("kept");
    expect(lines.map((l) => l.msg)).to.deep.equal(["kept"]);
  });

  it("redacts keys, salts, pseudonym keys, Authorization headers and bodies, top-level and nested", () => {
    const { logger, raw } = capture();
    const secrets = ["k-secret-1", "salt-secret-2", "pk-secret-3", "Bearer auth-secret-4", "body-secret-5"];
    logger.info({
      key: secrets[0],
      salt: secrets[1],
      pseudonymKey: secrets[2],
      headers: { authorization: secrets[3] },
      req: { headers: { authorization: secrets[3] }, body: { note: secrets[4] } },
      body: secrets[4],
      signer: { privateKey: secrets[0], seed: secrets[1] },
      kept: "visible",
    });
    const text = raw.join("");
    for (const s of secrets) expect(text).to.not.contain(s);
    expect(text).to.contain("visible").and.contain("[redacted]");
  });

  it("loses no line when the process exits right after logging (synchronous destination)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "custody-log-"));
    try {
      const script = path.join(dir, "crash.ts");
      const logging = path.resolve(__dirname, "../../src/logging");
      fs.writeFileSync(
        script,
        `import { createLogger } from ${JSON.stringify(logging)};\n` +
          `const log = createLogger({ component: "crash" });\n` +
          `for (let i = 0; i < 2000; i++) log.error({ i }, "about to die");\n` +
          `process.kill(process.pid, "SIGKILL");\n`,
      );
      const r = spawnSync(process.execPath, ["--import", "tsx", script], { encoding: "utf8" });
      expect(r.signal).to.equal("SIGKILL");
      const lines = r.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      expect(lines).to.have.length(2000);
      expect(lines.at(-1)).to.include({ level: "error", i: 1999, msg: "about to die" });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("censors without changing the caller's object, and leaves a line without secrets as it is", () => {
    const fields = { method: "GET", status: 200, req: { headers: { cookie: "c-secret", accept: "*/*" } } };
    const out = redact(fields);
    expect(out.req).to.deep.equal({ headers: { cookie: "[redacted]", accept: "*/*" } });
    expect(fields.req.headers.cookie).to.equal("c-secret");
    const plain = { method: "GET", route: "/v1/x", status: 200 };
    expect(redact(plain)).to.equal(plain);
  });

  it("writes lines below warn once per turn, together; a warn line at once, after the lines before it", async () => {
    const writes: string[] = [];
    const logger = createLogger({
      component: "t",
      destination: new TurnBufferedDestination({ write: (s: string) => writes.push(s) }) as never,
    });
    logger.info("a");
    logger.info("b");
    expect(writes).to.have.length(0);
    logger.warn("c");
    expect(writes).to.have.length(1);
    expect(
      writes[0]
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l).msg),
    ).to.deep.equal(["a", "b", "c"]);
    logger.info("d");
    await new Promise((r) => setImmediate(r));
    expect(writes).to.have.length(2);
    expect(JSON.parse(writes[1]).msg).to.equal("d");
  });

  it("writes buffered info lines when the process exits normally", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "custody-log-"));
    try {
      const script = path.join(dir, "exit.ts");
      const logging = path.resolve(__dirname, "../../src/logging");
      fs.writeFileSync(
        script,
        `import { createLogger } from ${JSON.stringify(logging)};\n` +
          `const log = createLogger({ component: "exit" });\n` +
          `for (let i = 0; i < 500; i++) log.info({ i }, "request");\n` +
          `process.exit(0);\n`,
      );
      const r = spawnSync(process.execPath, ["--import", "tsx", script], { encoding: "utf8" });
      expect(r.status).to.equal(0);
      expect(r.stdout.trim().split("\n")).to.have.length(500);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
