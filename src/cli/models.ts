import { statSync } from "node:fs";
import { InvalidArgumentError, type Command } from "commander";
import {
  TINY_MODEL_DEFAULT_SEED,
  formatCount,
  makeTinyModel,
  readGguf,
  summarizeGguf,
  type GgufSummary,
} from "../optimize/index.ts";

/** `keel models …`: make Keel's generated test model and inspect GGUF files. */
export function registerModelCommands(program: Command): void {
  const models = program.command("models").description("make and inspect GGUF model files");

  models
    .command("make-tiny")
    .argument("<out>", "GGUF file to write (e.g. keel-tiny.gguf)")
    .option("--seed <n>", `weights seed (default ${TINY_MODEL_DEFAULT_SEED})`, parseSeed)
    .description(
      "write keel-tiny: a small llama-architecture GGUF with deterministic random weights " +
        "(gibberish, for tests and demos)",
    )
    .action(async (out: string, opts: { seed?: number }) => {
      const seed = opts.seed ?? TINY_MODEL_DEFAULT_SEED;
      await makeTinyModel(out, { seed });
      const summary = summarizeGguf(await readGguf(out));
      process.stdout.write(
        `${out}: keel-tiny (seed ${seed}), ${formatCount(summary.parameters)} parameters, ` +
          `${formatCount(statSync(out).size)}B\n`,
      );
    });

  models
    .command("inspect")
    .argument("<file>", "GGUF model file")
    .option("--json", "print the summary as JSON")
    .description(
      "show a GGUF file's architecture, parameters, quantization, context, tokenizer and " +
        "chat template (reads the header only)",
    )
    .action(async (file: string, opts: { json?: boolean }) => {
      const summary = summarizeGguf(await readGguf(file));
      process.stdout.write(
        opts.json === true ? `${JSON.stringify(summary, null, 2)}\n` : describe(file, summary),
      );
    });
}

function parseSeed(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new InvalidArgumentError("expected an integer between 0 and 4294967295");
  }
  return n;
}

function describe(file: string, s: GgufSummary): string {
  const show = (value: string | number | undefined) => (value === undefined ? "-" : String(value));
  const quantization = s.quantization
    .map(
      (q) =>
        `${q.type} ${((100 * q.parameters) / Math.max(1, s.parameters)).toFixed(1)}% (${q.tensors} tensors)`,
    )
    .join(", ");
  const template =
    s.chatTemplate === undefined
      ? "none (Keel uses its plain User:/Assistant: fallback)"
      : `\n${indent(s.chatTemplate)}`;
  const rows: [string, string][] = [
    ["file", `${file} (${formatCount(s.fileBytes)}B, GGUF v${s.version})`],
    ["name", show(s.name)],
    ["architecture", show(s.architecture)],
    ["parameters", `${formatCount(s.parameters)} (${s.parameters.toLocaleString("en-US")})`],
    ["quantization", quantization || "-"],
    ["context length", show(s.contextLength)],
    ["embedding length", show(s.embeddingLength)],
    ["layers", show(s.layers)],
    [
      "tokenizer",
      `${show(s.tokenizer.model)}, vocabulary ${show(s.tokenizer.vocabSize)}, ` +
        `bos ${show(s.tokenizer.bosTokenId)}, eos ${show(s.tokenizer.eosTokenId)}`,
    ],
    ["tensors / metadata", `${s.tensorCount} / ${s.metadataCount}`],
    ["chat template", template],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `${label.padEnd(width)}  ${value}\n`).join("");
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((line) => `    ${line}`)
    .join("\n");
}
