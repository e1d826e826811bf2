import { once } from "node:events";
import { InvalidArgumentError, type Command } from "commander";
import { connect } from "../client/index.ts";
import type { ChatMessage } from "../providers/index.ts";
import { parsePositiveInt, urlOption } from "./options.ts";

/** `keel chat MODEL "prompt"`: streams the answer from a running server to stdout. */
export function registerChatCommand(program: Command): void {
  program
    .command("chat")
    .description("send one prompt to a model through a running server and stream the answer")
    .argument("<model>", "public model name, as in the config (keel-local by default)")
    .argument("<prompt>", "the user message")
    .option("--system <text>", "a system message sent before the prompt")
    .option("--max-tokens <n>", "stop after this many tokens", parsePositiveInt)
    .option("--temperature <t>", "sampling temperature, 0 to 2", parseTemperature)
    .addOption(urlOption())
    .action(async (model: string, prompt: string, opts: ChatCommandOptions) => {
      const messages: ChatMessage[] = [];
      if (opts.system !== undefined) messages.push({ role: "system", content: opts.system });
      messages.push({ role: "user", content: prompt });

      const client = connect(opts.url);
      const controller = new AbortController();
      const interrupt = () => controller.abort();
      process.once("SIGINT", interrupt);
      try {
        const stream = client.chatStream(model, messages, controller.signal, {
          max_tokens: opts.maxTokens,
          temperature: opts.temperature,
        });
        for await (const delta of stream) {
          if (!process.stdout.write(delta)) await once(process.stdout, "drain");
        }
        process.stdout.write("\n");
      } catch (err) {
        if (!controller.signal.aborted) throw err;
        // Ctrl-C: end the line and exit as interrupted, without an error message.
        process.stdout.write("\n");
        process.exitCode = 130;
      } finally {
        process.off("SIGINT", interrupt);
      }
    });
}

interface ChatCommandOptions {
  system?: string;
  maxTokens?: number;
  temperature?: number;
  url?: string;
}

function parseTemperature(value: string): number {
  const t = Number(value);
  if (value.trim() === "" || !Number.isFinite(t) || t < 0 || t > 2) {
    throw new InvalidArgumentError("expected a number from 0 to 2");
  }
  return t;
}
