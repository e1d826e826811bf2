/**
 * Child-process entry for the gateway benchmark, so that the load generator, the upstream and
 * the server under test do not share one event loop:
 *   node bench/gateway-servers.ts upstream
 *   node bench/gateway-servers.ts proxy URL     (a minimal reverse proxy: the floor for Node)
 *   node bench/gateway-servers.ts keel URL      (Keel with tracing on, SQLite in a temp dir)
 * Each prints one JSON line `{"url": …}` when listening and exits when stdin closes.
 */
import { createServer } from "node:http";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { Pool } from "undici";
import { createKeel } from "../src/app.ts";
import { parseConfig } from "../src/core/config.ts";
import { createLogger } from "../src/core/logger.ts";
import { startFakeOpenAI } from "../test/fixtures/fake-openai.ts";

const [role, upstream] = process.argv.slice(2);

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

async function startKeelServer(target: string): Promise<string> {
  const config = parseConfig(
    {
      server: {
        port: 0,
        data_dir: mkdtempSync(join(tmpdir(), "keel-bench-")),
        log_level: "silent",
      },
      providers: { upstream: { type: "openai-compatible", base_url: `${target}/v1` } },
      models: [{ name: "bench", deployments: [{ provider: "upstream", model: "bench" }] }],
      traces: { bodies: "full" },
    },
    { env: {}, source: undefined, overrides: {} },
  );
  const keel = await createKeel(config, { logger: createLogger("silent") });
  return keel.listen();
}

async function start(): Promise<string> {
  switch (role) {
    case "upstream": {
      const fake = await startFakeOpenAI({ name: "bench" });
      return new URL(fake.url).origin;
    }
    case "proxy":
      return startProxy(upstream!);
    case "keel":
      return startKeelServer(upstream!);
    default:
      throw new Error(`unknown role ${String(role)}`);
  }
}

const url = await start();
process.stdout.write(`${JSON.stringify({ url })}\n`);
process.stdin.resume();
process.stdin.on("end", () => process.exit(0));
