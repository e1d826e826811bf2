import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { KeelError } from "../core/errors.ts";
import { guardrailsSchema, type GuardrailDecision } from "../guardrails/index.ts";
import type { ChatCompletionChunk, CompletionChunk } from "../providers/schema.ts";
import { RouteGuardrails } from "./route-guardrails.ts";
import { chatStreamGuard, completionStreamGuard, type StreamGuard } from "./stream-guardrails.ts";

/**
 * The output PII policy on streamed chunks: content and each tool call's arguments are
 * separate slots, each redacted as it arrives (values split across fragments included),
 * blocked values end the stream, and a policy that only records scans every slot at the end.
 */

const EMAIL = "alice.smith@example.com";

function guardsFor(output: object): RouteGuardrails {
  return new RouteGuardrails("m", guardrailsSchema.parse({ pii: { output } }), undefined);
}

const redacting = () => guardsFor({ entities: { email: "redact" } });
const blocking = () => guardsFor({ entities: { email: "block" } });

type Delta = ChatCompletionChunk["choices"][number]["delta"];

function chunk(delta: Delta, finish: string | null = null, index = 0): ChatCompletionChunk {
  return {
    id: "chatcmpl-1",
    object: "chat.completion.chunk",
    created: 1,
    model: "m",
    choices: [{ index, delta, finish_reason: finish }],
  };
}

/** The first fragment of a tool call, as OpenAI streams it. */
function opening(index: number, name: string, args = ""): ChatCompletionChunk {
  return chunk({
    tool_calls: [
      { index, id: `call_${index}`, type: "function", function: { name, arguments: args } },
    ],
  });
}

function fragment(index: number, args: string): ChatCompletionChunk {
  return chunk({ tool_calls: [{ index, function: { arguments: args } }] });
}

/** Runs chunks through the guard as the stream session does, then the end of the stream. */
function run<C>(guard: StreamGuard<C>, chunks: C[]): C[] {
  for (const c of chunks) guard.apply(c);
  return [...chunks, ...guard.rest()];
}

/** What a client reassembles from the chunks it got: content and arguments per tool call. */
function reassemble(chunks: readonly ChatCompletionChunk[]): { content: string; args: string[] } {
  let content = "";
  const args: string[] = [];
  for (const c of chunks) {
    for (const choice of c.choices) {
      content += choice.delta.content ?? "";
      for (const call of choice.delta.tool_calls ?? []) {
        const i = call.index as number;
        const fn = call.function as { arguments?: string } | undefined;
        args[i] = (args[i] ?? "") + (fn?.arguments ?? "");
      }
    }
  }
  return { content, args };
}

function decisions(guard: StreamGuard<unknown>): GuardrailDecision[] {
  const call = { guardrails: [] as GuardrailDecision[] };
  guard.record(call);
  return call.guardrails;
}

describe("stream guardrails on tool-call arguments", () => {
  test("an email split across three argument fragments is redacted and the JSON stays valid", () => {
    const guard = chatStreamGuard(redacting());
    const out = run(guard, [
      opening(0, "send_mail"),
      fragment(0, '{"to":"alice.sm'),
      fragment(0, "ith@exam"),
      fragment(0, 'ple.com","subject":"hi"}'),
      chunk({}, "tool_calls"),
    ]);
    const { args } = reassemble(out);
    assert.equal(args[0], '{"to":"[EMAIL]","subject":"hi"}');
    assert.deepEqual(JSON.parse(args[0]), { to: "[EMAIL]", subject: "hi" });
    assert.ok(!JSON.stringify(out).includes("alice"));
    assert.deepEqual(decisions(guard), [
      {
        guardrail: "pii",
        stage: "output",
        action: "redact",
        findings: [{ type: "email", count: 1, action: "redact" }],
      },
    ]);
  });

  test("a blocked email in the arguments throws guardrail_blocked", () => {
    const guard = chatStreamGuard(blocking());
    guard.apply(opening(0, "send_mail"));
    guard.apply(fragment(0, '{"to":"alice.smith@'));
    assert.throws(
      () => guard.apply(fragment(0, 'example.com"}')),
      (err: unknown) => {
        assert.ok(err instanceof KeelError);
        assert.equal(err.code, "guardrail_blocked");
        assert.match(err.message, /email/);
        assert.ok(!err.message.includes("alice"));
        return true;
      },
    );
  });

  test("two tool calls in one choice are redacted independently", () => {
    const guard = chatStreamGuard(redacting());
    // Interleaved: a half email in call 0 must not join the text of call 1.
    const out = run(guard, [
      opening(0, "a", '{"to":"alice.smith@'),
      opening(1, "b", '{"note":"'),
      fragment(1, 'example.com"}'),
      fragment(0, 'example.com"}'),
      chunk({}, "tool_calls"),
    ]);
    const { args } = reassemble(out);
    assert.deepEqual(args, ['{"to":"[EMAIL]"}', '{"note":"example.com"}']);
  });

  test("the held tail is sent by rest() when the stream ends without a finish_reason", () => {
    const guard = chatStreamGuard(redacting());
    const chunks = [opening(0, "send_mail"), fragment(0, '{"to":"alice.smith@example.com')];
    for (const c of chunks) guard.apply(c);
    assert.ok(!reassemble(chunks).args[0]!.includes("example"), "the tail is held back");
    const rest = guard.rest();
    assert.deepEqual(
      rest.map((c) => c.choices),
      [
        [
          {
            index: 0,
            delta: { tool_calls: [{ index: 0, function: { arguments: "[EMAIL]" } }] },
            finish_reason: null,
            logprobs: null,
          },
        ],
      ],
    );
    assert.equal(reassemble([...chunks, ...rest]).args[0], '{"to":"[EMAIL]');
  });

  test("a policy that only records finds an email in the arguments and changes nothing", () => {
    const guard = chatStreamGuard(guardsFor({}));
    const out = run(guard, [
      opening(0, "send_mail", '{"to":"alice.sm'),
      fragment(0, 'ith@example.com"}'),
      chunk({}, "tool_calls"),
    ]);
    assert.equal(reassemble(out).args[0], `{"to":"${EMAIL}"}`);
    assert.deepEqual(decisions(guard), [
      {
        guardrail: "pii",
        stage: "output",
        action: "allow",
        findings: [{ type: "email", count: 1, action: "allow" }],
      },
    ]);
  });
});

describe("stream guardrails on content", () => {
  test("an email split across content pieces is redacted, its tail flushed at the finish", () => {
    const guard = chatStreamGuard(redacting());
    const out = run(guard, [
      chunk({ role: "assistant", content: "" }),
      chunk({ content: "Write to ali" }),
      chunk({ content: "ce.smith@exam" }),
      chunk({ content: "ple.com" }),
      chunk({}, "stop"),
    ]);
    assert.equal(out.length, 5, "nothing is left for rest()");
    assert.equal(reassemble(out).content, "Write to [EMAIL]");
    assert.equal(out[4]!.choices[0]!.delta.content, "[EMAIL]");
  });

  test("content and tool-call arguments of one choice are separate slots", () => {
    const guard = chatStreamGuard(redacting());
    const out = run(guard, [
      chunk({ content: "Mailing alice.smith@" }),
      opening(0, "send_mail", '{"cc":"'),
      fragment(0, 'bob@example.com"}'),
      chunk({ content: "example.com now" }),
      chunk({}, "stop"),
    ]);
    const { content, args } = reassemble(out);
    assert.equal(content, "Mailing [EMAIL] now");
    assert.deepEqual(args, ['{"cc":"[EMAIL]"}']);
  });

  test("a blocked email in the content still throws guardrail_blocked", () => {
    const guard = chatStreamGuard(blocking());
    guard.apply(chunk({ content: "Write to alice.smith@" }));
    assert.throws(
      () => guard.apply(chunk({ content: "example.com today" })),
      (err: unknown) => err instanceof KeelError && err.code === "guardrail_blocked",
    );
  });

  test("completion streams redact their text as before", () => {
    const piece = (text: string, finish: string | null = null): CompletionChunk => ({
      id: "cmpl-1",
      object: "text_completion",
      created: 1,
      model: "m",
      choices: [{ index: 0, text, finish_reason: finish, logprobs: null }],
    });
    const guard = completionStreamGuard(redacting());
    const out = run(guard, [piece("To ali"), piece("ce.smith@example"), piece(".com", "stop")]);
    assert.equal(out.map((c) => c.choices[0]!.text).join(""), "To [EMAIL]");
  });
});
