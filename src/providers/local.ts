import type { LocalProviderConfig } from "../core/config-schema.ts";
import { KeelError } from "../core/errors.ts";
import { embed } from "./local-embed.ts";
import type { GenerationParams } from "./local-generate.ts";
import { LocalModelHost } from "./local-host.ts";
import type { TokenLogprob } from "./local-logprobs.ts";
import {
  chatSettings,
  checkPromptFits,
  completionSettings,
  generationParams,
} from "./local-request.ts";
import * as shape from "./local-responses.ts";
import { collect, completionPrompt, guard, streamPieces } from "./local-runs.ts";
import { scoreContinuation, splitContinuation } from "./local-score.ts";
import type {
  CallOptions,
  HealthResult,
  Provider,
  ProviderCapabilities,
  ProviderContext,
} from "./provider.ts";
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatRequest,
  Completion,
  CompletionChunk,
  CompletionRequest,
  EmbeddingRequest,
  EmbeddingResponse,
  ScoreRequest,
  ScoreResponse,
} from "./schema.ts";

/**
 * The `local` provider: a GGUF model run in-process by llama.cpp (node-llama-cpp, prebuilt CPU
 * binary). Without `model_path` it serves keel-tiny, generated under `<data dir>/models` on
 * first use. The model loads once, in `warmup()` or on the first call; requests share it
 * through `parallel` context sequences and a queue of `queue_limit` waiters (then 429
 * `queue_full`). Chat uses the GGUF's chat template (local-chat-template.ts has the fallback);
 * max_tokens that do not fit the context are rejected, not clamped (local-request.ts).
 * Aborting a call's signal stops generation at the next token and frees the sequence.
 *
 * Not supported (a 400 `unsupported` that says so): tools, response_format other than text,
 * n > 1, and on completions echo and suffix.
 */
export function createLocalProvider(
  name: string,
  config: LocalProviderConfig,
  ctx: ProviderContext,
): Provider {
  return new LocalProvider(name, config, ctx);
}

class LocalProvider implements Provider {
  readonly name: string;
  readonly type = "local" as const;
  readonly capabilities: ProviderCapabilities;
  readonly #host: LocalModelHost;
  readonly #embeddings: boolean;

  constructor(name: string, config: LocalProviderConfig, ctx: ProviderContext) {
    this.name = name;
    this.#host = new LocalModelHost(name, config, ctx);
    this.#embeddings = config.embeddings;
    this.capabilities = {
      chat: true,
      completions: true,
      embeddings: config.embeddings,
      logprobs: true,
      tools: false,
      score: true,
    };
  }

  async chat(req: ChatRequest, { signal }: CallOptions): Promise<ChatCompletion> {
    const { loaded, pool, params, who } = await this.#chatRun(req, signal);
    const out = await pool.use(signal, (sequence) => collect(loaded.model, sequence, params));
    const logprobs =
      params.logprobs === undefined
        ? undefined
        : { entries: out.logprobs, texts: loaded.tokenTexts };
    const usage = shape.usageOf(out.result.promptTokens, out.result.completionTokens);
    return shape.chatCompletion(who, out.text, out.result.finishReason, usage, logprobs);
  }

  async *stream(req: ChatRequest, { signal }: CallOptions): AsyncIterable<ChatCompletionChunk> {
    const { loaded, pool, params, who } = await this.#chatRun(req, signal);
    const lp = (entries: TokenLogprob[]) =>
      params.logprobs === undefined ? undefined : { entries, texts: loaded.tokenTexts };
    // The role rides on the first text chunk, so the first chunk marks the first token.
    let role: { role?: "assistant" } = { role: "assistant" };
    const delta = (content?: string) => {
      const d = { ...role, ...(content === undefined ? {} : { content }) };
      role = {};
      return d;
    };
    const sequence = await pool.acquire(signal);
    try {
      const result = yield* streamPieces(loaded.model, sequence, params, (chunk) =>
        shape.chatChunk(who, delta(chunk.text), null, lp(chunk.logprobs)),
      );
      yield shape.chatChunk(who, delta(), result.finishReason, undefined);
      yield shape.chatUsageChunk(who, shape.usageOf(result.promptTokens, result.completionTokens));
    } finally {
      pool.release(sequence);
    }
  }

  async completion(req: CompletionRequest, { signal }: CallOptions): Promise<Completion> {
    const { loaded, pool, runs, who } = await this.#completionRuns(req, signal);
    const outs = await pool.use(signal, async (sequence) => {
      const results = [];
      for (const params of runs) results.push(await collect(loaded.model, sequence, params));
      return results;
    });
    const choices = outs.map((out, index) => ({
      index,
      text: out.text,
      finishReason: out.result.finishReason,
      entries: runs[index]!.logprobs === undefined ? undefined : out.logprobs,
      offset: 0,
    }));
    const promptTokens = outs.reduce((n, o) => n + o.result.promptTokens, 0);
    const completionTokens = outs.reduce((n, o) => n + o.result.completionTokens, 0);
    const usage = shape.usageOf(promptTokens, completionTokens);
    return shape.completion(who, choices, usage, loaded.tokenTexts);
  }

  async *streamCompletion(
    req: CompletionRequest,
    { signal }: CallOptions,
  ): AsyncIterable<CompletionChunk> {
    const { loaded, pool, runs, who } = await this.#completionRuns(req, signal);
    const texts = loaded.tokenTexts;
    let promptTokens = 0;
    let completionTokens = 0;
    const sequence = await pool.acquire(signal);
    try {
      for (const [index, params] of runs.entries()) {
        const withLogprobs = params.logprobs !== undefined;
        let offset = 0;
        const result = yield* streamPieces(loaded.model, sequence, params, (chunk) => {
          const entries = withLogprobs ? chunk.logprobs : undefined;
          const choice = { index, text: chunk.text, finishReason: null, entries, offset };
          offset += chunk.text.length;
          return shape.completion(who, [choice], undefined, texts);
        });
        const entries = withLogprobs ? [] : undefined;
        const last = { index, text: "", finishReason: result.finishReason, entries, offset };
        yield shape.completion(who, [last], undefined, texts);
        promptTokens += result.promptTokens;
        completionTokens += result.completionTokens;
      }
      yield shape.completion(who, [], shape.usageOf(promptTokens, completionTokens), texts);
    } finally {
      pool.release(sequence);
    }
  }

  async embed(req: EmbeddingRequest, { signal }: CallOptions): Promise<EmbeddingResponse> {
    if (!this.#embeddings) {
      throw new KeelError(
        "unsupported",
        `provider "${this.name}" does not serve embeddings (embeddings: false in its config)`,
      );
    }
    const pool = await this.#host.embedding();
    return pool.use(signal, (target) => embed(target, req, signal));
  }

  async score(req: ScoreRequest, { signal }: CallOptions): Promise<ScoreResponse> {
    const { loaded, pool } = await this.#host.generation();
    const split = splitContinuation(loaded.model, req.prompt, req.continuation);
    checkPromptFits(
      split.context.length + split.continuation.length - 1,
      loaded.contextSize,
      "continuation",
    );
    const tokens = await pool.use(signal, (sequence) =>
      guard(sequence, () => scoreContinuation(sequence, split.context, split.continuation)),
    );
    return {
      model: req.model,
      tokens: tokens.map((t) => ({ token: loaded.tokenTexts(t.token).text, logprob: t.logprob })),
      total_logprob: tokens.reduce((sum, t) => sum + t.logprob, 0),
    };
  }

  health(): Promise<HealthResult> {
    return Promise.resolve(this.#host.health());
  }

  /** Loads the model and its contexts; fails only if nothing this provider serves is usable. */
  async warmup(): Promise<void> {
    const [generation, embedding] = await Promise.allSettled([
      this.#host.generation(),
      this.#embeddings ? this.#host.embedding() : Promise.reject(new Error("embeddings off")),
    ]);
    if (generation.status === "rejected" && embedding.status === "rejected") {
      throw generation.reason;
    }
  }

  close(): Promise<void> {
    return this.#host.close();
  }

  async #chatRun(req: ChatRequest, signal: AbortSignal) {
    const settings = chatSettings(req);
    const generation = await this.#host.generation();
    const { contextSize, template } = generation.loaded;
    const prompt = template.render(req.messages);
    const params = generationParams(
      settings,
      prompt,
      contextSize,
      template.stop,
      signal,
      "messages",
    );
    return { ...generation, params, who: shape.responseIdentity("chatcmpl", req.model) };
  }

  async #completionRuns(req: CompletionRequest, signal: AbortSignal) {
    const settings = completionSettings(req);
    const generation = await this.#host.generation();
    const { model, contextSize } = generation.loaded;
    const prompts = typeof req.prompt === "string" ? [req.prompt] : req.prompt;
    const runs: GenerationParams[] = prompts.map((prompt) =>
      generationParams(
        settings,
        completionPrompt(model, prompt),
        contextSize,
        [],
        signal,
        "prompt",
      ),
    );
    return { ...generation, runs, who: shape.responseIdentity("cmpl", req.model) };
  }
}
