import { stat } from "node:fs/promises";
import { basename } from "node:path";
import {
  getLlama,
  LlamaLogLevel,
  type Llama,
  type LlamaContextSequence,
  type LlamaModel,
  type Token,
} from "node-llama-cpp";
import { errorMessage, KeelError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import { readGguf } from "../optimize/index.ts";
import { createChatTemplate, type ChatTemplate } from "./local-chat-template.ts";
import type { EmbedTarget } from "./local-embed.ts";
import { createTokenTexts, type TokenText } from "./local-logprobs.ts";

/**
 * Loading GGUF models into llama.cpp through node-llama-cpp: its prebuilt CPU binary, never a
 * build, a download or a GPU probe. One `Llama` per process; per model one generation context
 * with `parallel` sequences and, on demand, one embedding context.
 *
 * Defaults, from `npm run bench -- local` on a 2-core machine: 1 thread for models under
 * 64 MiB (llama.cpp's thread hand-offs cost more than such a model's arithmetic: 1 thread was
 * ~17× faster than 2 on stories260K), all math cores for bigger ones; a context of the model's
 * training length capped at 4096 tokens per sequence.
 */
export interface RuntimeSettings {
  modelPath: string;
  threads: number | undefined;
  batchSize: number | undefined;
  contextSize: number | undefined;
  parallel: number;
}

export interface LoadedModel {
  model: LlamaModel;
  /** File name, for messages. */
  label: string;
  threads: number;
  /** Tokens per sequence. */
  contextSize: number;
  template: ChatTemplate;
  tokenTexts: (token: Token) => TokenText;
  /** The generation context's sequences (created on first use). */
  sequences(): Promise<LlamaContextSequence[]>;
  /** The embedding context (created on first use). */
  embedding(): Promise<EmbedTarget>;
  close(): Promise<void>;
}

const SMALL_MODEL_BYTES = 64 * 1024 * 1024;
const MAX_DEFAULT_CONTEXT = 4096;
/** llama.cpp's pooling type ids. */
const MEAN_POOLING = 1;

let sharedLlama: Promise<Llama> | undefined;

/**
 * The process-wide llama.cpp runtime; its log lines go to the first caller's logger.
 * node-llama-cpp disposes it on the process's `beforeExit` (the event loop ran empty, as it
 * can between two Keel instances in one process): a disposed runtime is replaced.
 */
export async function loadLlama(logger: Logger): Promise<Llama> {
  const held = sharedLlama;
  if (held !== undefined && (await held.catch(() => undefined))?.disposed === true) {
    if (sharedLlama === held) sharedLlama = undefined;
  }
  sharedLlama ??= getLlama({
    build: "never",
    gpu: false,
    skipDownload: true,
    progressLogs: false,
    logLevel: LlamaLogLevel.warn,
    logger: (level, message) => {
      const text = message.trim();
      if (level === LlamaLogLevel.error || level === LlamaLogLevel.fatal) logger.error(text);
      else if (level === LlamaLogLevel.warn) logger.warn(text);
      else logger.debug(text);
    },
  }).catch((err: unknown) => {
    sharedLlama = undefined;
    throw new KeelError(
      "provider_error",
      `cannot start llama.cpp's prebuilt CPU runtime: ${errorMessage(err)}`,
      {
        cause: err,
      },
    );
  });
  return sharedLlama;
}

export async function loadModel(settings: RuntimeSettings, logger: Logger): Promise<LoadedModel> {
  const label = basename(settings.modelPath);
  const size = await fileSize(settings.modelPath);
  const file = await readGguf(settings.modelPath).catch((err: unknown) => {
    throw new KeelError("provider_error", `cannot load local model: ${errorMessage(err)}`, {
      cause: err,
    });
  });
  const architecture = file.metadata.get("general.architecture")?.value;
  const declaresPooling =
    typeof architecture === "string" && file.metadata.has(`${architecture}.pooling_type`);
  const llama = await loadLlama(logger);
  let model: LlamaModel;
  try {
    model = await llama.loadModel({
      modelPath: settings.modelPath,
      gpuLayers: 0,
      // Mean pooling for embeddings unless the file says otherwise; generation ignores it.
      ...(declaresPooling || typeof architecture !== "string"
        ? {}
        : { metadataOverrides: { [architecture]: { pooling_type: MEAN_POOLING } } }),
    });
  } catch (err) {
    throw new KeelError(
      "provider_error",
      `llama.cpp could not load ${label}: ${errorMessage(err)}`,
      {
        cause: err,
      },
    );
  }
  const threads =
    settings.threads ?? (size < SMALL_MODEL_BYTES ? 1 : Math.max(1, llama.cpuMathCores));
  const contextSize =
    settings.contextSize ??
    Math.min(model.trainContextSize || MAX_DEFAULT_CONTEXT, MAX_DEFAULT_CONTEXT);

  let sequences: Promise<LlamaContextSequence[]> | undefined;
  let embedding: Promise<EmbedTarget> | undefined;
  const disposers: (() => Promise<void>)[] = [];
  const wrap = (what: string) => (err: unknown) => {
    throw new KeelError(
      "provider_error",
      `cannot create the ${what} context for ${label}: ${errorMessage(err)}`,
      {
        cause: err,
      },
    );
  };

  return {
    model,
    label,
    threads,
    contextSize,
    template: createChatTemplate(model, logger),
    tokenTexts: createTokenTexts(model),
    sequences: () =>
      (sequences ??= model
        .createContext({
          contextSize,
          sequences: settings.parallel,
          threads,
          ...(settings.batchSize === undefined ? {} : { batchSize: settings.batchSize }),
        })
        .then((context) => {
          disposers.push(() => context.dispose());
          return Array.from({ length: settings.parallel }, () => context.getSequence());
        }, wrap("generation"))),
    embedding: () =>
      (embedding ??= model
        .createEmbeddingContext({ contextSize, batchSize: contextSize, threads })
        .then((context) => {
          disposers.push(() => context.dispose());
          return {
            context,
            contextSize,
            dimensions: model.embeddingVectorSize,
            vocabSize: vocabSize(model),
          };
        }, wrap("embedding"))),
    close: async () => {
      for (const dispose of disposers.splice(0)) await dispose();
      await model.dispose();
    },
  };
}

function vocabSize(model: LlamaModel): number {
  const tokens = model.fileInfo.metadata.tokenizer?.ggml?.tokens;
  return Array.isArray(tokens) ? tokens.length : [...model.iterateAllTokens()].length;
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (err) {
    throw new KeelError(
      "provider_error",
      `local model file ${path} cannot be read (${errorMessage(err)}): check model_path or KEEL_LOCAL_MODEL`,
      { cause: err },
    );
  }
}
