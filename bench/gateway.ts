import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { runLoad, type LoadResult } from "./load.ts";
import { printTable } from "./table.ts";

/**
 * `npm run bench -- gateway [--seconds S] [--concurrency 1,16,64]`
 *
 * Throughput and p50/p99 latency at several concurrencies, streaming and not, for (a) the fake
 * upstream called directly, (b) a minimal Node reverse proxy in front of it, (c) Keel in front
 * of it with tracing on. Targets: Keel adds ≤ 1 ms p50 over direct, and reaches ≥ 70% of the
 * minimal proxy's throughput at concurrency 64.
 */
interface Server {
  url: string;
  child: ChildProcess;
}

function startServer(role: string, upstream?: string): Promise<Server> {
  const entry = fileURLToPath(new URL("./gateway-servers.ts", import.meta.url));
  const child = spawn(process.execPath, [entry, role, ...(upstream ? [upstream] : [])], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.once("line", (line) =>
      resolve({ url: (JSON.parse(line) as { url: string }).url, child }),
    );
    child.once("exit", (code) => reject(new Error(`${role} exited with ${String(code)}`)));
  });
}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

export async function run(args: string[]): Promise<void> {
  const seconds = Number(flag(args, "--seconds") ?? "3");
  const levels = (flag(args, "--concurrency") ?? "1,16,64").split(",").map(Number);

  const upstream = await startServer("upstream");
  const proxy = await startServer("proxy", upstream.url);
  const keel = await startServer("keel", upstream.url);
  const targets = [
    { name: "direct", url: upstream.url },
    { name: "node-proxy", url: proxy.url },
    { name: "keel", url: keel.url },
  ];

  const rows: (string | number)[][] = [
    ["mode", "conc", "target", "req/s", "p50 ms", "p99 ms", "errors", "vs proxy", "+p50 ms"],
  ];
  try {
    for (const stream of [false, true]) {
      const body = JSON.stringify({
        model: "bench",
        messages: [{ role: "user", content: "Say hello in five words." }],
        max_tokens: 16,
        ...(stream ? { stream: true } : {}),
      });
      for (const concurrency of levels) {
        const results: Record<string, LoadResult> = {};
        for (const target of targets) {
          const common = { url: target.url, path: "/v1/chat/completions", body, concurrency };
          await runLoad({ ...common, durationMs: 300, maxRequests: 200 }); // warm-up
          results[target.name] = await runLoad({
            ...common,
            durationMs: seconds * 1000,
            maxRequests: 200_000,
          });
        }
        for (const target of targets) {
          const r = results[target.name]!;
          const proxyRps = results["node-proxy"]!.rps;
          const directP50 = results.direct!.p50;
          rows.push([
            stream ? "stream" : "json",
            concurrency,
            target.name,
            r.rps.toFixed(0),
            r.p50.toFixed(2),
            r.p99.toFixed(2),
            r.errors,
            target.name === "direct" ? "" : `${((r.rps / proxyRps) * 100).toFixed(0)}%`,
            target.name === "direct" ? "" : (r.p50 - directP50).toFixed(2),
          ]);
        }
      }
    }
  } finally {
    for (const server of [keel, proxy, upstream]) server.child.stdin?.end();
  }
  printTable(rows);
}
