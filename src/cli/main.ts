import { Command, CommanderError } from "commander";
import { normalizeError } from "../core/error-render.ts";
import { KeelError } from "../core/errors.ts";
import { registerAuditCommands } from "./audit.ts";
import { registerChatCommand } from "./chat.ts";
import { registerConfigCommands } from "./config.ts";
import { registerKeyCommands } from "./keys.ts";
import { registerModelCommands } from "./models.ts";
import { registerProjectCommands } from "./projects.ts";
import { registerSecretCommands } from "./secrets.ts";
import { registerServeCommand } from "./serve.ts";
import { registerTraceCommands } from "./traces.ts";

/**
 * The `keel` command. Each command group lives in its own file and registers itself here.
 * Returns the process exit code: 0 success, 1 failure, 2 usage error.
 */
export async function main(argv: readonly string[]): Promise<number> {
  const program = new Command("keel")
    .description("Keel: self-hosted LLMOps — gateway, registry, traces, evals, governance")
    .version("0.1.0")
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(text) })
    .showHelpAfterError("(run with --help for usage)");

  registerServeCommand(program);
  registerConfigCommands(program);
  registerChatCommand(program);
  registerTraceCommands(program);
  registerModelCommands(program);
  registerProjectCommands(program);
  registerKeyCommands(program);
  registerAuditCommands(program);
  registerSecretCommands(program);

  try {
    await program.parseAsync(argv, { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit through here with code 0.
      return err.exitCode === 0 ? 0 : 2;
    }
    const keelError = err instanceof KeelError ? err : normalizeError(err);
    const message =
      keelError.code === "internal" && err instanceof Error ? err.message : keelError.message;
    process.stderr.write(`keel: ${message}\n`);
    return 1;
  }
}
