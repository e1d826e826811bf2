import type { Command } from "commander";
import { loadConfig } from "../core/config.ts";
import { parsePort } from "./options.ts";

export function registerServeCommand(program: Command): void {
  program
    .command("serve")
    .description("run the gateway, API and workers in one process")
    .option("--port <port>", "port to listen on (env KEEL_PORT, default 4141)", parsePort)
    .option("--host <host>", "address to bind (env KEEL_HOST, default 127.0.0.1)")
    .option("--data-dir <dir>", "where SQLite and models live (env KEEL_DATA_DIR, default ./.keel)")
    .option("--config <file>", "keel.config.yaml (env KEEL_CONFIG)")
    .action(async (opts: { port?: number; host?: string; dataDir?: string; config?: string }) => {
      const config = loadConfig({
        path: opts.config,
        overrides: {
          ...(opts.port === undefined ? {} : { port: opts.port }),
          ...(opts.host === undefined ? {} : { host: opts.host }),
          ...(opts.dataDir === undefined ? {} : { dataDir: opts.dataDir }),
        },
      });
      // Loaded here, not at the top: the other commands start without the server's modules.
      const { createKeel } = await import("../app.ts");
      const keel = await createKeel(config, {
        printAdminKey: (key) =>
          process.stderr.write(
            `keel: first start — the admin key, shown this once (store it now):\n\n  ${key}\n\n`,
          ),
      });
      const address = await keel.listen();
      const models = config.models.map((m) => m.name).join(", ");
      keel.logger.info({ address, models }, `keel listening on ${address}`);
      process.stderr.write(`keel: serving ${models} on ${address}/v1\n`);

      await new Promise<void>((resolve) => {
        const stop = (signal: NodeJS.Signals) => {
          keel.logger.info({ signal }, "shutting down");
          process.off("SIGTERM", stop);
          process.off("SIGINT", stop);
          keel.close().then(resolve, (err: unknown) => {
            keel.logger.error({ err }, "shutdown failed");
            process.exitCode = 1;
            resolve();
          });
        };
        process.on("SIGTERM", stop);
        process.on("SIGINT", stop);
      });
    });
}
