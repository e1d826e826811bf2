/**
 * Child-process entry for the gateway benchmark, so that the load generator, the upstream and
 * the server under test do not share one event loop:
 *   node bench/gateway-servers.ts upstream
 *   node bench/gateway-servers.ts proxy URL     (a minimal reverse proxy: the floor for Node)
 *   node bench/gateway-servers.ts relay URL     (Fastify + undici, JSON parsed both ways and
 *                                                nothing else: what a gateway on Keel's stack
 *                                                pays before any of its own work)
 *   node bench/gateway-servers.ts keel URL      (Keel with tracing on, SQLite in a temp dir)
 * Each prints one JSON line `{"url": …}` when listening and exits when stdin closes (or on
 * SIGINT/SIGTERM). Keel authenticates with the owner key in KEEL_ADMIN_KEY, logs one line per
 * request at info into its temp dir (as `keel serve` logs to stdout), and deletes the temp dir
 * when it exits. KEEL_BENCH_CONFIG may hold a JSON object of config sections merged over the
 * bench's own (`{"auth": {"key_cache_ms": 10000}}`), to measure what a setting costs.
 * KEEL_BENCH_ANSWER_WORDS makes the upstream answer with that many words (one stream chunk
 * each) instead of its three.
 */
import { createServer } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import Fastify from "fastify";
import { Pool } from "undici";
import { createKeel } from "../src/app.ts";
import { parseConfig } from "../src/core/config.ts";
import { createLogger, logDestination } from "../src/core/logger.ts";
import { startFakeOpenAI } from "../test/fixtures/fake-openai.ts";

const [role, upstream] = process.argv.slice(2);

/** Run when the parent closes stdin or the process is interrupted. */
let stop: () => Promise<void> = () => Promise.resolve();

async function startProxy(target: string): Promise<string> {
  const pool = new Pool(new URL(target).origin, { connections: 256 });
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      pool
        .request({
          path: req.url ?? "/",
          method: "POST",
          headers: { "content-type": "application/json" },
          body: Buffer.concat(chunks),
        })
        .then(async (up) => {
          res.writeHead(up.statusCode, { "content-type": String(up.headers["content-type"]) });
          await pipeline(up.body, res);
        })
        .catch(() => {
          res.statusCode = 502;
          res.end();
        });
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no address");
  return `http://127.0.0.1:${address.port}`;
}

async function startRelay(target: string): Promise<string> {
  const pool = new Pool(new URL(target).origin, { connections: 256 });
  const app = Fastify();
  app.post("/v1/chat/completions", async (request, reply) => {
    const up = await pool.request({
      path: "/v1/chat/completions",
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(request.body),
    });
    reply.code(up.statusCode).type(String(up.headers["content-type"]));
    // A stream is piped as it comes; an answer is parsed and serialized again, as a gateway
    // that reads it would.
    return String(up.headers["content-type"]).startsWith("text/event-stream")
      ? up.body
      : up.body.json();
  });
  return app.listen({ port: 0, host: "127.0.0.1" });
}

async function startKeelServer(target: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "keel-bench-"));
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  // Even when Keel fails to start, or the process is ended some other way.
  process.once("exit", removeDir);
  const doc: Record<string, unknown> = {
    providers: { upstream: { type: "openai-compatible", base_url: `${target}/v1` } },
    models: [{ name: "bench", deployments: [{ provider: "upstream", model: "bench" }] }],
    traces: { bodies: "full" },
    ...(JSON.parse(process.env.KEEL_BENCH_CONFIG ?? "{}") as Record<string, unknown>),
  };
  const server = {
    ...(doc.server as object | undefined),
    port: 0,
    data_dir: dir,
    log_level: "info",
  };
  const config = parseConfig(
    { ...doc, server },
    { env: { KEEL_ADMIN_KEY: process.env.KEEL_ADMIN_KEY }, source: undefined, overrides: {} },
  );
  // Written as `keel serve` writes its log to stdout.
  const logFile = logDestination(join(dir, "keel.log"));
  const keel = await createKeel(config, { logger: createLogger("info", logFile) });
  stop = async () => {
    await keel.close();
    removeDir();
  };
  return keel.listen();
}

/** An answer of `words` words: a stream of that many content chunks. */
function answerOf(words: number): string {
  const vocabulary = ["the", "model", "answers", "in", "plain", "words,", "one", "by", "one."];
  return Array.from({ length: words }, (_, i) => vocabulary[i % vocabulary.length]).join(" ");
}

async function start(): Promise<string> {
  switch (role) {
    case "upstream": {
      // The fake keeps every request for tests to inspect; under a long load that list would
      // become its biggest allocation, and nothing here reads it, so it is emptied each second.
      const fake = await startFakeOpenAI({ name: "bench" });
      const words = Number(process.env.KEEL_BENCH_ANSWER_WORDS ?? "0");
      if (words > 0) fake.configure({ reply: answerOf(words) });
      setInterval(() => {
        fake.requests.length = 0;
      }, 1_000).unref();
      return new URL(fake.url).origin;
    }
    case "proxy":
      return startProxy(upstream!);
    case "relay":
      return startRelay(upstream!);
    case "keel":
      return startKeelServer(upstream!);
    default:
      throw new Error(`unknown role ${String(role)}`);
  }
}

let stopping = false;
function shutdown(): void {
  if (stopping) return;
  stopping = true;
  stop().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`${role} did not stop cleanly: ${String(err)}\n`);
      process.exit(1);
    },
  );
}

const url = await start();
process.stdout.write(`${JSON.stringify({ url })}\n`);
process.stdin.resume();
process.stdin.on("end", shutdown);
process.once("SIGINT", shutdown);
process.once("SIGTERM", shutdown);
