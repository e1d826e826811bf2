import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import type { WorkerJob, WorkerResult } from "./fixtures/quota-worker.ts";

/**
 * Limits that hold across replicas: two OS processes, each its own Redis connection and its
 * own event loop, fire concurrent admits for the same key or project at the same moment, on
 * the real clock. Together they must stay within 5% of the limit (the only slack is a rate
 * window boundary passing mid-test), and a budget is never overshot at all.
 */

const redisUrl = process.env.KEEL_TEST_REDIS_URL;
const WORKER = fileURLToPath(new URL("./fixtures/quota-worker.ts", import.meta.url));
const WORKER_TIMEOUT_MS = 30_000;

interface Worker {
  /** The worker's next stdout line; rejects once it has exited. */
  next(): Promise<string>;
  send(line: string): void;
  /** Resolves when the worker exits with 0. */
  exited: Promise<void>;
}

function startWorker(job: WorkerJob): Worker {
  const child = spawn(process.execPath, [WORKER, JSON.stringify(job)], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), WORKER_TIMEOUT_MS);
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const lines: string[] = [];
  const waiting: ((line: string | undefined) => void)[] = [];
  let closed = false;
  let exitError: Error | undefined;
  createInterface({ input: child.stdout }).on("line", (line) => {
    const waiter = waiting.shift();
    if (waiter === undefined) lines.push(line);
    else waiter(line);
  });
  const exited = new Promise<void>((resolve, reject) => {
    child.on("close", (code) => {
      clearTimeout(timer);
      closed = true;
      if (code !== 0) exitError = new Error(`quota worker exited with ${String(code)}: ${stderr}`);
      for (const waiter of waiting.splice(0)) waiter(undefined);
      if (exitError === undefined) resolve();
      else reject(exitError);
    });
  });
  exited.catch(() => undefined); // reported through next() or by the test awaiting it
  return {
    next: async () => {
      const queued = lines.shift();
      if (queued !== undefined) return queued;
      const line = closed
        ? undefined
        : await new Promise<string | undefined>((resolve) => waiting.push(resolve));
      if (line === undefined) throw exitError ?? new Error(`quota worker ended early: ${stderr}`);
      return line;
    },
    send: (line) => void child.stdin.write(`${line}\n`),
    exited,
  };
}

/** Starts the workers, waits until all are connected, then sets them off at once. */
async function runTogether(jobs: WorkerJob[]): Promise<{ workers: Worker[]; total: WorkerResult }> {
  const workers = jobs.map(startWorker);
  for (const line of await Promise.all(workers.map((w) => w.next()))) assert.equal(line, "ready");
  for (const w of workers) w.send("go");
  const results = await Promise.all(
    workers.map(async (w) => JSON.parse(await w.next()) as WorkerResult),
  );
  const total = results.reduce((a, b) => ({
    allowed: a.allowed + b.allowed,
    refused: a.refused + b.refused,
    failed: a.failed + b.failed,
  }));
  return { workers, total };
}

describe(
  "quotas across two Keel processes sharing Redis",
  { skip: redisUrl === undefined && "set KEEL_TEST_REDIS_URL" },
  () => {
    const url = redisUrl ?? "";
    const redis = new Redis(url, { lazyConnect: true });
    const prefixes: string[] = [];
    const newPrefix = () => {
      const prefix = `keel:quota:test-${randomBytes(6).toString("hex")}:`;
      prefixes.push(prefix);
      return prefix;
    };
    const sumUnder = async (pattern: string): Promise<number> => {
      const keys = await redis.keys(pattern);
      const values = keys.length === 0 ? [] : await redis.mget(...keys);
      return values.reduce((total, v) => total + Number(v), 0);
    };
    after(async () => {
      for (const prefix of prefixes) {
        const keys = await redis.keys(`${prefix}*`);
        if (keys.length > 0) await redis.del(...keys);
      }
      await redis.quit();
    });

    test("requests per minute hold within 5% when two processes hammer one project", async () => {
      const job: WorkerJob = {
        redisUrl: url,
        keyPrefix: newPrefix(),
        request: {
          keyId: "key_1",
          projectId: "prj_1",
          projectLimits: { requests_per_minute: 200 },
          estimate: { tokens: 10, costMicros: 0 },
        },
        admits: 300,
      };
      const { workers, total } = await runTogether([job, job]);
      await Promise.all(workers.map((w) => w.exited));
      assert.equal(total.failed, 0);
      assert.equal(total.allowed + total.refused, 600);
      assert.ok(total.allowed >= 190 && total.allowed <= 210, `allowed ${total.allowed} of 200`);
    });

    test("a daily budget shared by two processes is never overshot, and settlements add up", async () => {
      const keyPrefix = newPrefix();
      const job: WorkerJob = {
        redisUrl: url,
        keyPrefix,
        request: {
          keyId: "key_1",
          keyLimits: { daily_budget_usd: 2, tokens_per_minute: 1_000_000 },
          projectId: "prj_1",
          estimate: { tokens: 500, costMicros: 10_000 },
        },
        admits: 250,
        settle: { tokens: 200, costMicros: 4_000 },
      };
      const { workers, total } = await runTogether([job, job]);
      assert.equal(total.failed, 0);
      assert.ok(total.allowed >= 190 && total.allowed <= 200, `allowed ${total.allowed} of 200`);
      assert.ok((await sumUnder(`${keyPrefix}key:key_1:day:*`)) <= 2_000_000);
      // Both settle at once; afterwards the counters hold exactly the admitted calls' usage.
      for (const w of workers) w.send("settle");
      for (const line of await Promise.all(workers.map((w) => w.next()))) {
        assert.equal(line, "settled");
      }
      await Promise.all(workers.map((w) => w.exited));
      assert.equal(await sumUnder(`${keyPrefix}key:key_1:day:*`), total.allowed * 4_000);
      assert.equal(await sumUnder(`${keyPrefix}key:key_1:tpm:*`), total.allowed * 200);
    });
  },
);
