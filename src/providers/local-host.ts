import { join } from "node:path";
import type { LlamaContextSequence } from "node-llama-cpp";
import type { LocalProviderConfig } from "../core/config-schema.ts";
import { errorMessage, KeelError } from "../core/errors.ts";
import { ensureTinyModel } from "../optimize/index.ts";
import type { EmbedTarget } from "./local-embed.ts";
import { SlotPool } from "./local-pool.ts";
import { loadModel, type LoadedModel } from "./local-runtime.ts";
import type { HealthResult, ProviderContext } from "./provider.ts";

/**
 * The life of one local model: loaded once (on warm-up or first use; a failed load is retried
 * by the next call), its sequences and embedding context behind slot pools, its health, and
 * its disposal. Without `model_path` the model is keel-tiny, generated under
 * `<data dir>/models`.
 */
export interface Generation {
  loaded: LoadedModel;
  pool: SlotPool<LlamaContextSequence>;
}

type Phase = "idle" | "loading" | "ready" | "failed" | "closed";

const QUEUE_RETRY_AFTER_MS = 1_000;
const CLOSE_WAIT_MS = 5_000;

export class LocalModelHost {
  readonly #name: string;
  readonly #config: LocalProviderConfig;
  readonly #ctx: ProviderContext;
  #loaded: Promise<LoadedModel> | undefined;
  #generation: Promise<Generation> | undefined;
  #embedding: Promise<SlotPool<EmbedTarget>> | undefined;
  #phase: Phase = "idle";
  #detail = "not loaded yet";

  constructor(name: string, config: LocalProviderConfig, ctx: ProviderContext) {
    this.#name = name;
    this.#config = config;
    this.#ctx = ctx;
  }

  /** Never throws; an idle host starts loading so that readiness turns green by itself. */
  health(): HealthResult {
    if (this.#phase === "idle") void this.#load().catch(() => undefined);
    return { ok: this.#phase === "ready", detail: this.#detail };
  }

  generation(): Promise<Generation> {
    this.#generation ??= this.#load().then(async (loaded) => ({
      loaded,
      pool: new SlotPool(await loaded.sequences(), this.#poolOptions(loaded)),
    }));
    return this.#generation.catch((err: unknown) => {
      this.#generation = undefined;
      throw err;
    });
  }

  embedding(): Promise<SlotPool<EmbedTarget>> {
    this.#embedding ??= this.#load().then(
      async (loaded) => new SlotPool([await loaded.embedding()], this.#poolOptions(loaded)),
    );
    return this.#embedding.catch((err: unknown) => {
      this.#embedding = undefined;
      throw err;
    });
  }

  async close(): Promise<void> {
    this.#phase = "closed";
    this.#detail = "closed";
    const loaded = this.#loaded;
    this.#loaded = undefined;
    const pools = [
      (await this.#generation?.catch(() => undefined))?.pool,
      await this.#embedding?.catch(() => undefined),
    ];
    // Work still running (the gateway aborts it at shutdown) must end before the model goes.
    for (const pool of pools) pool?.close();
    await Promise.all(pools.map((pool) => pool?.idle(CLOSE_WAIT_MS) ?? Promise.resolve()));
    await (await loaded?.catch(() => undefined))?.close();
  }

  #load(): Promise<LoadedModel> {
    if (this.#phase === "closed") {
      return Promise.reject(new KeelError("shutting_down", `provider "${this.#name}" is closed`));
    }
    this.#loaded ??= this.#loadOnce().catch((err: unknown) => {
      this.#loaded = undefined;
      if (this.#phase !== "closed") {
        this.#phase = "failed";
        this.#detail = errorMessage(err);
      }
      throw err;
    });
    return this.#loaded;
  }

  async #loadOnce(): Promise<LoadedModel> {
    this.#phase = "loading";
    this.#detail = "loading";
    const started = performance.now();
    const modelPath =
      this.#config.model_path ?? (await ensureTinyModel(join(this.#ctx.dataDir, "models")));
    const loaded = await loadModel(
      {
        modelPath,
        threads: this.#config.threads,
        batchSize: this.#config.batch_size,
        contextSize: this.#config.context_size,
        parallel: this.#config.parallel,
      },
      this.#ctx.logger,
    );
    if (this.#closed()) {
      await loaded.close();
      throw new KeelError("shutting_down", `provider "${this.#name}" closed while loading`);
    }
    this.#phase = "ready";
    this.#detail =
      `${loaded.label} loaded (threads ${loaded.threads}, context ${loaded.contextSize}, ` +
      `parallel ${this.#config.parallel}, chat template: ${loaded.template.source})`;
    this.#ctx.logger.info({ ms: Math.round(performance.now() - started) }, this.#detail);
    return loaded;
  }

  /** A method, not a field read, so TypeScript does not narrow it across awaits. */
  #closed(): boolean {
    return this.#phase === "closed";
  }

  #poolOptions(loaded: LoadedModel) {
    return {
      queueLimit: this.#config.queue_limit,
      retryAfterMs: QUEUE_RETRY_AFTER_MS,
      label: `local model ${loaded.label}`,
    };
  }
}
