import {
  JinjaTemplateChatWrapper,
  type ChatHistoryItem,
  type LlamaModel,
  type Token,
} from "node-llama-cpp";
import { errorMessage, KeelError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { ChatMessage } from "./schema.ts";

/**
 * Chat messages → prompt tokens, through the Jinja chat template stored in the GGUF
 * (`tokenizer.chat_template`), rendered by node-llama-cpp's Jinja engine. Message text is
 * tokenized as plain text, so a user who types "<|im_end|>" gets those characters, never the
 * control token.
 *
 * Fallback: a GGUF without a chat template (base models such as stories260K), or with one that
 * node-llama-cpp's Jinja engine cannot render, gets a plain-text transcript, tokenized as one
 * text after the BOS token:
 *
 *     {system prompt}
 *
 *     User: {message}
 *     Assistant: {reply}
 *     User: {message}
 *     Assistant:
 *
 * and generation also stops at "\nUser:".
 */
export const FALLBACK_STOP = ["\nUser:"];

export interface ChatTemplate {
  /** "gguf" when the file's own template is used, "fallback" otherwise. */
  readonly source: "gguf" | "fallback";
  /** Extra stop strings the template implies. */
  readonly stop: readonly string[];
  render(messages: readonly ChatMessage[]): Token[];
}

export function createChatTemplate(model: LlamaModel, logger: Logger): ChatTemplate {
  const stored = model.fileInfo.metadata.tokenizer?.chat_template;
  const bos = model.tokens.bos;
  const withBos = (tokens: Token[]) => {
    if (bos !== null && model.tokens.shouldPrependBosToken && tokens[0] !== bos) {
      tokens.unshift(bos);
    }
    return tokens;
  };
  const fallback: ChatTemplate = {
    source: "fallback",
    stop: FALLBACK_STOP,
    render: (messages) => withBos(model.tokenize(transcript(messages), false)),
  };
  if (typeof stored !== "string" || stored.trim() === "") return fallback;

  let wrapper: JinjaTemplateChatWrapper;
  try {
    // Adjacent messages of one role are joined and system messages folded into the first
    // user turn where a template has no system role (Mistral, Gemma), as node-llama-cpp does.
    wrapper = new JinjaTemplateChatWrapper({ template: stored, tokenizer: model.tokenizer });
  } catch (err) {
    logger.warn({ err }, "the model's chat template cannot be rendered: using the fallback");
    return fallback;
  }
  return {
    source: "gguf",
    stop: [],
    render(messages) {
      const history = toChatHistory(messages);
      try {
        const { contextText } = wrapper.generateContextState({ chatHistory: history });
        return withBos(contextText.tokenize(model.tokenizer));
      } catch (err) {
        const reason = errorMessage(err);
        throw new KeelError(
          "invalid_request",
          `the model's chat template rejected the messages: ${reason}`,
          { param: "messages" },
        );
      }
    },
  };
}

/** The fallback transcript; a trailing assistant message is left open to be continued. */
export function transcript(messages: readonly ChatMessage[]): string {
  toChatHistory(messages); // the same checks: roles, text-only content
  let text = "";
  messages.forEach((message, i) => {
    const content = messageText(message, i);
    if (message.role === "system" || message.role === "developer") text += `${content}\n\n`;
    else if (message.role === "user") text += `User: ${content}\n`;
    else text += `Assistant:${content === "" ? "" : ` ${content}`}\n`;
  });
  return messages.at(-1)?.role === "assistant" ? text.slice(0, -1) : `${text}Assistant:`;
}

/** OpenAI messages → node-llama-cpp chat history, ending with the reply to generate. */
export function toChatHistory(messages: readonly ChatMessage[]): ChatHistoryItem[] {
  if (messages.length === 0) {
    throw new KeelError("invalid_request", "messages must contain at least one message", {
      param: "messages",
    });
  }
  const history: ChatHistoryItem[] = messages.map((message, i) => {
    const text = messageText(message, i);
    switch (message.role) {
      case "system":
      case "developer":
        return { type: "system", text };
      case "user":
        return { type: "user", text };
      case "assistant":
        return { type: "model", response: [text] };
      default:
        throw new KeelError(
          "unsupported",
          `messages.${i}.role: "${message.role}" messages need tool support, which local models do not have`,
          { param: `messages.${i}.role` },
        );
    }
  });
  // A trailing assistant message is a prefix for the reply to continue; otherwise start one.
  if (history.at(-1)?.type !== "model") history.push({ type: "model", response: [] });
  return history;
}

function messageText(message: ChatMessage, index: number): string {
  const content = message.content;
  if (content === undefined || content === null) return "";
  if (typeof content === "string") return content;
  return content
    .map((part, j) => {
      const text = (part as { text?: unknown }).text;
      if (part.type !== "text" || typeof text !== "string") {
        throw new KeelError(
          "unsupported",
          `messages.${index}.content.${j}: local models take text only, got a "${part.type}" part`,
          { param: `messages.${index}.content.${j}.type` },
        );
      }
      return text;
    })
    .join("");
}
