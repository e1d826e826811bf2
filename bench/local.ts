import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { basename, join } from "node:path";
import { getLlama, LlamaLogLevel, type LlamaContextSequence, type Token } from "node-llama-cpp";
import { localProviderSchema } from "../src/core/config-schema.ts";
import { createLogger } from "../src/core/logger.ts";
import { ensureTinyModel } from "../src/optimize/index.ts";
import { createLocalProvider } from "../src/providers/local.ts";
import { median, printTable } from "./table.ts";
import { flag, flags } from "./args.ts";

/**
 * `npm run bench -- local [--model FILE.gguf]… [--threads 1,2] [--prompt 128] [--tokens 512]
 *  [--reps 5] [--budget-ms 2000]`
 *
 * Prompt processing and generation speed (tokens/s) of Keel's local provider next to
 * node-llama-cpp called directly on the same model, context size and thread count, measured
 * in the same run, alternating, median of the repetitions. Models: keel-tiny (generated) and
 * each --model. A run stops early at its time budget (slow thread counts). Keel's target: at
 * most 5% slower than the bare runtime at generation. Overhead is shown by wall time and by
 * process CPU time per token; on a machine busy with other work the CPU figure is steadier.
 */
interface Speed {
  prompt: number;
  generation: number;
  /** Process CPU time per generated token (µs): steadier than wall time on a busy machine. */
  cpuPerToken: number;
}

interface Case {
  modelPath: string;
  threads: number;
  promptText: (rep: number) => string;
  tokens: number;
  budgetMs: number;
}

export async function run(args: string[]): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "keel-bench-local-"));
  const models = [await ensureTinyModel(dir), ...flags(args, "--model")];
  const defaultThreads = [...new Set([1, 2, availableParallelism()])].join(",");
  const threads = (flag(args, "--threads") ?? defaultThreads).split(",").map(Number);
  const promptWords = Number(flag(args, "--prompt") ?? "128");
  const tokens = Number(flag(args, "--tokens") ?? "512");
  const reps = Number(flag(args, "--reps") ?? "5");
  const budgetMs = Number(flag(args, "--budget-ms") ?? "2000");
  // A different first word per repetition, so no run reuses another's cached prompt.
  const words = "the story of a little model that wanted to run fast on one small laptop".split(
    " ",
  );
  const promptText = (rep: number) =>
    [
      `run${rep}`,
      ...Array.from({ length: promptWords - 1 }, (_, i) => words[i % words.length]!),
    ].join(" ");

  const llama = await getLlama({ build: "never", gpu: false, logLevel: LlamaLogLevel.error });
  const rows: (string | number)[][] = [
    [
      "model",
      "threads",
      "runtime",
      "prompt tok/s",
      "gen tok/s",
      "gen CPU µs/tok",
      "overhead wall",
      "overhead CPU",
    ],
  ];
  try {
    for (const modelPath of models) {
      const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
      for (const t of threads) {
        const c: Case = { modelPath, threads: t, promptText, tokens, budgetMs };
        // Both keep one context per case, as a server would.
        const context = await model.createContext({ contextSize: 4096, threads: t });
        const sequence = context.getSequence();
        const bare: Speed[] = [];
        const keel: Speed[] = [];
        await measureBare(sequence, c, -1); // warm-up
        await measureKeel(c, -1, dir);
        for (let rep = 0; rep < reps; rep++) {
          if (rep % 2 === 0) {
            bare.push(await measureBare(sequence, c, rep));
            keel.push(await measureKeel(c, rep, dir));
          } else {
            keel.push(await measureKeel(c, rep, dir));
            bare.push(await measureBare(sequence, c, rep));
          }
        }
        await context.dispose();
        const b = medianSpeed(bare);
        const k = medianSpeed(keel);
        const name = basename(modelPath);
        const cells = (x: Speed) =>
          [x.prompt, x.generation, x.cpuPerToken].map((v) => v.toFixed(0));
        const percent = (ratio: number) => `${((ratio - 1) * 100).toFixed(1)}%`;
        rows.push([name, t, "node-llama-cpp", ...cells(b), "", ""]);
        const wall = percent(b.generation / k.generation);
        rows.push([name, t, "keel", ...cells(k), wall, percent(k.cpuPerToken / b.cpuPerToken)]);
      }
      await model.dispose();
    }
  } finally {
    await closeKeel();
    rmSync(dir, { recursive: true, force: true });
  }
  printTable(rows);
}

async function measureBare(sequence: LlamaContextSequence, c: Case, rep: number): Promise<Speed> {
  const model = sequence.model;
  await sequence.clearHistory();
  const prompt: Token[] = model.tokenize(c.promptText(rep), false);
  if (model.tokens.bos !== null) prompt.unshift(model.tokens.bos);
  const started = performance.now();
  let first = 0;
  let cpu = process.cpuUsage();
  let produced = 0;
  for await (const _ of sequence.evaluate(prompt, { temperature: 0 })) {
    if (produced === 0) [first, cpu] = [performance.now(), process.cpuUsage()];
    produced += 1;
    if (produced >= c.tokens || performance.now() - started > c.budgetMs) break;
  }
  return speed(prompt.length, started, first, produced, performance.now(), process.cpuUsage(cpu));
}

let keelProvider: ReturnType<typeof createLocalProvider> | undefined;
let keelKey = "";

async function measureKeel(c: Case, rep: number, dir: string): Promise<Speed> {
  const key = `${c.modelPath}:${c.threads}`;
  if (keelKey !== key) {
    await closeKeel();
    const config = localProviderSchema.parse({
      type: "local",
      model_path: c.modelPath,
      threads: c.threads,
      context_size: 4096,
      parallel: 1,
      embeddings: false,
    });
    keelProvider = createLocalProvider("bench", config, {
      dataDir: dir,
      logger: createLogger("silent"),
      apiKey: undefined,
    });
    keelKey = key;
    await keelProvider.warmup!();
  }
  const provider = keelProvider!;
  const started = performance.now();
  let first = 0;
  let cpu = process.cpuUsage();
  let produced = 0;
  let promptTokens = 0;
  let completionTokens = 0;
  const stream = provider.streamCompletion!(
    { model: "bench", prompt: c.promptText(rep), max_tokens: c.tokens, temperature: 0 },
    { signal: new AbortController().signal },
  );
  for await (const chunk of stream) {
    if (chunk.usage) {
      promptTokens = chunk.usage.prompt_tokens;
      completionTokens = chunk.usage.completion_tokens;
    }
    if (chunk.choices[0]?.text) {
      if (produced === 0) [first, cpu] = [performance.now(), process.cpuUsage()];
      produced += 1;
      if (performance.now() - started > c.budgetMs) break;
    }
  }
  const end = performance.now();
  const cpuUsed = process.cpuUsage(cpu);
  // Cut short by the budget: no usage chunk, so count pieces (one per token on plain text).
  if (promptTokens === 0) promptTokens = c.promptText(rep).split(" ").length + 1;
  return speed(promptTokens, started, first, completionTokens || produced, end, cpuUsed);
}

async function closeKeel(): Promise<void> {
  await keelProvider?.close();
  keelProvider = undefined;
  keelKey = "";
}

/** Prompt speed from the time to the first token; generation speed after it. */
function speed(
  promptTokens: number,
  started: number,
  first: number,
  produced: number,
  end: number,
  cpu: NodeJS.CpuUsage,
): Speed {
  const generated = Math.max(1, produced - 1);
  return {
    prompt: promptTokens / ((first - started) / 1000),
    generation: produced > 1 ? generated / ((end - first) / 1000) : 0,
    cpuPerToken: (cpu.user + cpu.system) / generated,
  };
}

function medianSpeed(samples: Speed[]): Speed {
  return {
    prompt: median(samples.map((s) => s.prompt)),
    generation: median(samples.map((s) => s.generation)),
    cpuPerToken: median(samples.map((s) => s.cpuPerToken)),
  };
}
