import type { Command } from "commander";
import { loadConfig } from "../core/config.ts";

export function registerConfigCommands(program: Command): void {
  const config = program.command("config").description("inspect and validate configuration");
  config
    .command("check")
    .argument("<file>", "keel.config.yaml to validate")
    .option("--json", "print the resolved configuration as JSON")
    .description("validate a config file; exits 1 and names the bad field when it is invalid")
    .action((file: string, opts: { json?: boolean }) => {
      const resolved = loadConfig({ path: file });
      if (opts.json) {
        // Secrets render as "[redacted]".
        process.stdout.write(`${JSON.stringify(resolved, null, 2)}\n`);
        return;
      }
      const models = resolved.models.map((m) => `${m.name} (${m.deployments.length})`).join(", ");
      process.stdout.write(
        `${file}: ok — ${Object.keys(resolved.providers).length} providers, models: ${models}\n`,
      );
    });
}
