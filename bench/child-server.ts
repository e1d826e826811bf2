import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/**
 * Starts one role of bench/gateway-servers.ts (the fake upstream, the minimal proxy, Keel) as
 * a child process, so the load generator, the upstream and the server under test each have an
 * event loop of their own. The same protocol as bench/gateway.ts: the child prints `{"url": …}`
 * when listening and exits when its stdin closes.
 */
export interface ChildServer {
  url: string;
  child: ChildProcess;
}

export interface ChildServerOptions {
  upstream?: string;
  /** Node flags for the child only (profiling, a preloaded probe). */
  nodeOptions?: string[];
  env?: Record<string, string>;
  /** Gives up on a child that has not printed its URL by then. */
  startTimeoutMs?: number;
}

export function startChildServer(
  role: string,
  options: ChildServerOptions = {},
): Promise<ChildServer> {
  const entry = fileURLToPath(new URL("./gateway-servers.ts", import.meta.url));
  const args = [...(options.nodeOptions ?? []), entry, role];
  if (options.upstream !== undefined) args.push(options.upstream);
  const child = spawn(process.execPath, args, {
    stdio: ["pipe", "pipe", "inherit"],
    env: { ...process.env, ...options.env },
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`${role} did not start within ${options.startTimeoutMs ?? 30_000} ms`));
    }, options.startTimeoutMs ?? 30_000);
    const lines = createInterface({ input: child.stdout });
    lines.once("line", (line) => {
      clearTimeout(timer);
      resolve({ url: (JSON.parse(line) as { url: string }).url, child });
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${role} exited with ${String(code)}`));
    });
  });
}

/** Closes the child's stdin (its signal to stop) and waits until it has exited. */
export function stopChildServer(server: ChildServer): Promise<void> {
  const { child } = server;
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.stdin?.end();
  return exited;
}
