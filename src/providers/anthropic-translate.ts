import { KeelError } from "../core/errors.ts";
import type { ChatMessage, ChatRequest } from "./schema.ts";

/**
 * OpenAI chat requests → Anthropic Messages requests, as pure functions (answers come back
 * through `anthropic-response.ts` and `anthropic-stream.ts`). Fields a translation needs are
 * translated; Anthropic-specific ones (`cache_control`, `top_k`, `thinking`, …) pass through
 * untouched; OpenAI-only ones Anthropic would reject are dropped, or refused when dropping
 * them would change the answer (`n > 1`, `logprobs`, JSON response formats).
 */

export const DEFAULT_MAX_TOKENS = 4096;

type Json = Record<string, unknown>;

/** Handled below (translated, dropped or refused); every other top-level field passes through. */
const translatedFields = new Set([
  "model",
  "messages",
  "max_tokens",
  "max_completion_tokens",
  "stop",
  "stream",
  "stream_options",
  "tools",
  "tool_choice",
  "parallel_tool_calls",
  "user",
  "n",
  "logprobs",
  "top_logprobs",
  "response_format",
  "functions",
  "function_call",
  "temperature",
  "top_p",
]);

/** OpenAI-only parameters with no Anthropic counterpart and no effect on the answer's shape. */
const droppedFields = new Set([
  "presence_penalty",
  "frequency_penalty",
  "seed",
  "logit_bias",
  "store",
  "modalities",
  "prediction",
  "reasoning_effort",
  "web_search_options",
  "service_tier",
]);

/** Message fields that are OpenAI's own and mean nothing to Anthropic. */
const openAIMessageFields = new Set([
  "role",
  "content",
  "name",
  "tool_calls",
  "tool_call_id",
  "refusal",
  "audio",
  "annotations",
  "function_call",
  "cache_control",
]);

export function toAnthropicRequest(req: ChatRequest, stream: boolean): Json {
  refuseUnsupported(req);
  const { system, messages } = toAnthropicMessages(req.messages);
  const out: Json = {
    model: req.model,
    messages,
    max_tokens: req.max_completion_tokens ?? req.max_tokens ?? DEFAULT_MAX_TOKENS,
  };
  if (system !== undefined) out.system = system;
  if (req.temperature != null) out.temperature = req.temperature;
  if (req.top_p != null) out.top_p = req.top_p;
  if (req.stop != null) out.stop_sequences = typeof req.stop === "string" ? [req.stop] : req.stop;
  if (stream) out.stream = true;
  if (req.tools !== undefined && req.tools.length > 0) out.tools = req.tools.map(toAnthropicTool);
  const toolChoice = toAnthropicToolChoice(req.tool_choice, req.parallel_tool_calls);
  if (toolChoice !== undefined) out.tool_choice = toolChoice;
  if (typeof req.user === "string") {
    out.metadata = { ...(req.metadata as Json | undefined), user_id: req.user };
  }
  for (const [key, value] of Object.entries(req)) {
    if (translatedFields.has(key) || droppedFields.has(key) || key in out) continue;
    out[key] = value;
  }
  return out;
}

function refuseUnsupported(req: ChatRequest): void {
  if (req.n != null && req.n > 1) {
    throw new KeelError("unsupported", "Anthropic models return one choice: n must be 1", {
      param: "n",
    });
  }
  if (req.logprobs === true) {
    throw new KeelError("unsupported", "Anthropic models do not return token logprobs", {
      param: "logprobs",
    });
  }
  if (req.response_format != null && req.response_format.type !== "text") {
    throw new KeelError(
      "unsupported",
      `response_format "${req.response_format.type}" is not available on Anthropic models: ` +
        "describe the JSON in the prompt or ask for it through a tool",
      { param: "response_format" },
    );
  }
  if (req.functions !== undefined || req.function_call !== undefined) {
    throw new KeelError("unsupported", "legacy `functions` are not supported: use `tools`", {
      param: "functions",
    });
  }
}

/** OpenAI messages → Anthropic `system` and `messages`. */
export function toAnthropicMessages(messages: ChatMessage[]): {
  system: unknown;
  messages: Json[];
} {
  const system: Json[] = [];
  const out: Json[] = [];
  messages.forEach((message, i) => {
    const at = `messages.${i}`;
    switch (message.role) {
      case "system":
      case "developer":
        system.push(...withMessageCacheControl(message, textBlocks(message.content)));
        return;
      case "user":
        out.push(withExtraFields(message, { role: "user", content: userContent(message, at) }));
        return;
      case "assistant":
        out.push(
          withExtraFields(message, { role: "assistant", content: assistantContent(message, at) }),
        );
        return;
      case "tool": {
        const block = toolResult(message, at);
        const last = out.at(-1);
        if (last !== undefined && last.role === "user" && isToolResults(last.content)) {
          last.content.push(block);
        } else {
          out.push({ role: "user", content: [block] });
        }
        return;
      }
      case "function":
        throw new KeelError("unsupported", `${at}: legacy "function" messages: use "tool"`, {
          param: `${at}.role`,
        });
    }
  });
  const plain = system.every((b) => Object.keys(b).length === 2 && typeof b.text === "string");
  return {
    system:
      system.length === 0
        ? undefined
        : plain
          ? system.map((b) => b.text as string).join("\n\n")
          : system,
    messages: out,
  };
}

function userContent(message: ChatMessage, at: string): unknown {
  const content = message.content;
  if (typeof content === "string" && message.cache_control === undefined) return content;
  if (typeof content === "string" || content == null) {
    return withMessageCacheControl(message, textBlocks(content));
  }
  return withMessageCacheControl(
    message,
    content.map((part, j) => toAnthropicPart(part, `${at}.content.${j}`)),
  );
}

function assistantContent(message: ChatMessage, at: string): unknown {
  const calls = message.tool_calls ?? [];
  if (
    typeof message.content === "string" &&
    calls.length === 0 &&
    message.cache_control === undefined
  ) {
    return message.content;
  }
  const blocks: Json[] =
    typeof message.content === "string" || message.content == null
      ? textBlocks(message.content).filter((b) => b.text !== "")
      : message.content.filter((p) => p.type !== "refusal").map((p) => ({ ...p }));
  calls.forEach((call, j) => blocks.push(toToolUse(call, `${at}.tool_calls.${j}`)));
  return withMessageCacheControl(message, blocks);
}

function toolResult(message: ChatMessage, at: string): Json {
  if (message.tool_call_id === undefined) {
    throw new KeelError("invalid_request", `${at}.tool_call_id: required on tool messages`, {
      param: `${at}.tool_call_id`,
    });
  }
  const content = message.content;
  const block: Json = {
    type: "tool_result",
    tool_use_id: message.tool_call_id,
    content: typeof content === "string" || content == null ? (content ?? "") : content,
  };
  // Message-level extras (cache_control, is_error) belong on the result block.
  for (const [key, value] of Object.entries(message)) {
    if (!openAIMessageFields.has(key) || key === "cache_control") block[key] = value;
  }
  return block;
}

function toAnthropicPart(part: Json & { type: string }, at: string): Json {
  const { type, ...rest } = part;
  if (type === "image_url") {
    const { image_url: image, ...extra } = rest;
    const url = typeof image === "string" ? image : (image as { url?: unknown } | undefined)?.url;
    if (typeof url !== "string") {
      throw new KeelError("invalid_request", `${at}.image_url.url: expected a URL string`, {
        param: `${at}.image_url.url`,
      });
    }
    return { type: "image", source: mediaSource(url), ...extra };
  }
  if (type === "file") {
    const { file, ...extra } = rest;
    const data = (file as { file_data?: unknown } | undefined)?.file_data;
    if (typeof data !== "string" || !data.startsWith("data:")) {
      throw new KeelError(
        "unsupported",
        `${at}.file: only inline file_data (a data: URL) can be sent to Anthropic models`,
        { param: `${at}.file` },
      );
    }
    return { type: "document", source: mediaSource(data), ...extra };
  }
  if (type === "input_audio") {
    throw new KeelError("unsupported", `${at}: Anthropic models do not take audio input`, {
      param: at,
    });
  }
  return part; // text parts and Anthropic-native blocks go as they are
}

function mediaSource(url: string): Json {
  const match = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  if (match) return { type: "base64", media_type: match[1], data: match[2] };
  return { type: "url", url };
}

function toToolUse(call: Json, at: string): Json {
  const fn = (call.function ?? {}) as { name?: unknown; arguments?: unknown };
  const args = typeof fn.arguments === "string" ? fn.arguments : "";
  let input: unknown = {};
  if (args.trim() !== "") {
    try {
      input = JSON.parse(args);
    } catch {
      throw new KeelError("invalid_request", `${at}.function.arguments: not valid JSON`, {
        param: `${at}.function.arguments`,
      });
    }
  }
  return { type: "tool_use", id: call.id, name: fn.name, input };
}

function toAnthropicTool(tool: Json & { type: string }): Json {
  if (tool.type !== "function") return tool; // an Anthropic server tool, as the client wrote it
  const { type: _type, function: fn, ...extra } = tool;
  const f = (fn ?? {}) as { name?: unknown; description?: unknown; parameters?: unknown };
  return {
    name: f.name,
    ...(f.description === undefined ? {} : { description: f.description }),
    input_schema: f.parameters ?? { type: "object", properties: {} },
    ...extra,
  };
}

function toAnthropicToolChoice(choice: unknown, parallel: unknown): Json | undefined {
  let out: Json | undefined;
  if (choice === "auto") out = { type: "auto" };
  else if (choice === "required") out = { type: "any" };
  else if (choice === "none") out = { type: "none" };
  else if (choice !== null && typeof choice === "object") {
    const c = choice as { type?: unknown; function?: { name?: unknown } };
    out = c.type === "function" ? { type: "tool", name: c.function?.name } : (choice as Json);
  }
  if (parallel === false) out = { ...(out ?? { type: "auto" }), disable_parallel_tool_use: true };
  return out;
}

function textBlocks(content: ChatMessage["content"]): Json[] {
  if (content == null) return [];
  if (typeof content === "string") return [{ type: "text", text: content }];
  return content.map((part) => ({ ...part }));
}

/** A message-level `cache_control` marks the message's last block, where Anthropic takes it. */
function withMessageCacheControl(message: ChatMessage, blocks: Json[]): Json[] {
  const last = blocks.at(-1);
  if (message.cache_control !== undefined && last !== undefined) {
    last.cache_control = message.cache_control;
  }
  return blocks;
}

function withExtraFields(message: ChatMessage, out: Json): Json {
  for (const [key, value] of Object.entries(message)) {
    if (!openAIMessageFields.has(key)) out[key] = value;
  }
  return out;
}

function isToolResults(content: unknown): content is Json[] {
  return (
    Array.isArray(content) &&
    content.every((b) => (b as { type?: unknown } | null)?.type === "tool_result")
  );
}
