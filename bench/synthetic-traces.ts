import type { TracesTable } from "../src/core/db/tables.ts";
import { newId } from "../src/core/ids.ts";
import { seededRandom } from "../src/core/random.ts";

/**
 * Synthetic trace rows for the traces benchmark, shaped like what the gateway stores: several
 * models, projects and endpoints with skewed shares, a few percent errors, streaming and not,
 * one or two attempts, and request and response bodies of about 1 KB together. Rows come in
 * time order (as the trace writer inserts them), evenly over `spanMs` ending now, so a full
 * table covers the whole span and a partial one its oldest part. Deterministic for a seed.
 */

/** Share of rows per value, in percent; the benchmark's filters pick values from these. */
export const modelShares = {
  "gpt-4o-mini": 40,
  "llama-3.1-8b": 25,
  "gpt-4o": 15,
  "mistral-small": 11,
  "qwen2.5-7b": 6,
  "claude-haiku": 3,
} as const;

/** Project ids with their shares of project traces; 10% of traces have no project (null). */
export const projectShares: Record<string, number> = Object.fromEntries(
  [20, 12, 9, 7, 6, 5, 5, 4, 4, 4, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2].map((share, i) => [
    `prj_bench${String(i).padStart(2, "0")}`,
    share,
  ]),
);

export const errorPercent = 4;

const words = (
  "the a model answer question user system please explain summarize translate list " +
  "customer order invoice refund shipping account password reset error latency token " +
  "context window prompt completion stream retry timeout budget project deployment cache " +
  "report weekly sales region growth forecast data table chart review contract clause " +
  "email draft polite short formal bullet points json schema field value example"
).split(" ");

function pick<T extends string>(shares: Readonly<Record<T, number>>, r: number): T {
  let rest = r * 100;
  const entries = Object.entries(shares) as [T, number][];
  for (const [value, share] of entries) {
    rest -= share;
    if (rest < 0) return value;
  }
  return entries.at(-1)![0];
}

export interface TraceRowSource {
  /** The next `count` rows, continuing where the last call stopped. */
  next(count: number): TracesTable[];
}

export function syntheticTraces(options: { total: number; spanMs: number; seed?: number }) {
  const random = seededRandom(options.seed ?? 1);
  // Pre-made texts, combined per row: varied bodies without paying for text per row.
  const text = (n: number) =>
    Array.from({ length: n }, () => words[Math.floor(random() * words.length)]!).join(" ");
  const systems = Array.from({ length: 64 }, () => text(20));
  const prompts = Array.from({ length: 256 }, () => text(50));
  const replies = Array.from({ length: 256 }, () => text(35));
  const start = Date.now() - options.spanMs;
  const step = options.spanMs / options.total;
  let index = 0;

  const one = (): TracesTable => {
    const startedAt = Math.floor(start + index * step);
    index++;
    const model = pick(modelShares, random());
    const projectDraw = random();
    const project = projectDraw < 0.1 ? null : pick(projectShares, (projectDraw - 0.1) / 0.9);
    const failed = random() * 100 < errorPercent;
    const stream = random() < 0.4;
    const latency = Math.floor(150 + random() * random() * 4000);
    const promptTokens = 80 + Math.floor(random() * 400);
    const completionTokens = failed ? 0 : 20 + Math.floor(random() * 300);
    const httpStatus = failed ? [429, 500, 502, 503, 504][Math.floor(random() * 5)]! : 200;
    const attempts = [
      {
        deployment: `upstream/${model}`,
        provider: "upstream",
        upstream_model: model,
        started_at: startedAt + 2,
        latency_ms: latency - 3,
        outcome: failed ? "error" : "ok",
        http_status: httpStatus,
      },
    ];
    const requestBody = {
      model,
      messages: [
        { role: "system", content: systems[Math.floor(random() * systems.length)] },
        { role: "user", content: prompts[Math.floor(random() * prompts.length)] },
      ],
      max_tokens: 512,
      temperature: 0.7,
      ...(stream ? { stream: true } : {}),
    };
    const responseBody = failed
      ? { error: { message: `upstream answered ${httpStatus}`, type: "provider_error" } }
      : {
          id: `chatcmpl-${index}`,
          object: "chat.completion",
          model,
          choices: [
            {
              index: 0,
              message: {
                role: "assistant",
                content: replies[Math.floor(random() * replies.length)],
              },
              finish_reason: "stop",
            },
          ],
          usage: {
            prompt_tokens: promptTokens,
            completion_tokens: completionTokens,
            total_tokens: promptTokens + completionTokens,
          },
        };
    return {
      id: newId("trace", startedAt),
      project_id: project,
      request_id: newId("request", startedAt),
      endpoint: "chat.completions",
      model,
      status: failed ? "error" : "ok",
      http_status: httpStatus,
      stream: stream ? 1 : 0,
      started_at: startedAt,
      ended_at: startedAt + latency,
      latency_ms: latency,
      ttft_ms: stream ? Math.floor(latency / 5) : latency,
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      tokens_estimated: 0,
      cost_micros: promptTokens * 3 + completionTokens * 12,
      finish_reason: failed ? null : "stop",
      error_code: failed ? "provider_error" : null,
      error_message: failed ? `upstream answered ${httpStatus}` : null,
      attempts: JSON.stringify(attempts),
      request_body: JSON.stringify(requestBody),
      response_body: JSON.stringify(responseBody),
      metadata: JSON.stringify({ user_agent: "openai-python/1.54.0", cache: "miss" }),
    };
  };

  return {
    next: (count: number): TracesTable[] => Array.from({ length: count }, one),
  } satisfies TraceRowSource;
}
