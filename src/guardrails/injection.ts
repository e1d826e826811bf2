import { anyWordPattern } from "./any-word.ts";
import { hasRun } from "./char-runs.ts";
import { charSet } from "./detector.ts";
import type { InjectionConfig, InjectionDecision } from "./schema.ts";

/**
 * Prompt-injection heuristics. Each signal is a pattern with a weight (how strongly it alone
 * suggests an attack); the score combines the signals that fire as independent evidence,
 * `1 - Π(1 - weight)`, so one strong signal crosses the default threshold of 0.5 and weak ones
 * need company. Patterns name what an attack does (override instructions, assume an
 * unrestricted persona, extract the system prompt, forge chat markup, smuggle an encoded
 * payload) rather than single words, so that "please ignore the previous paragraph's typo"
 * or "act as a translator" score 0. Text is normalised first (NFKC, zero-width characters
 * removed, whitespace collapsed, spaced-out letters joined) and base64 blobs are decoded and scanned too.
 *
 * Most text carries no sign at all and is settled in one pass: each signal lists cues, words
 * one of which every match of its pattern holds, and text with no cue skips the patterns.
 */

export interface InjectionSignal {
  weight: number;
  pattern: RegExp;
  /** Words, one of which every match of `pattern` in normalised text holds (case aside). */
  cues: readonly string[];
}

const INSTRUCTION_NOUN =
  "(?:instructions?|prompts?|rules|directions|directives|guidelines|guardrails|constraints|restrictions|programming|system messages?)";
const EARLIER =
  "(?:previous|prior|above|earlier|preceding|initial|original|system|developer|all|any|your|the|these|those|my)";

export const injectionSignals = {
  ignore_instructions: {
    weight: 0.75,
    pattern: new RegExp(
      `\\b(?:ignore|disregard|forget|override|bypass|skip|drop|abandon)\\b(?: (?:all|any|of|everything|about|${EARLIER})){0,4} ${INSTRUCTION_NOUN}\\b`,
      "i",
    ),
    cues: ["ignore", "disregard", "forget", "override", "bypass", "skip", "drop", "abandon"],
  },
  ignore_above: {
    weight: 0.6,
    pattern:
      /\b(?:ignore|disregard|forget) (?:(?:all|everything|anything) )?(?:(?:of )?the )?(?:above|before|said before|everything (?:above|before))\b(?! (?:typo|mistake|error|paragraph|line|sentence|section|example|question|message|part)s?\b)/i,
    cues: ["ignore", "disregard", "forget"],
  },
  new_instructions: {
    weight: 0.35,
    pattern:
      /\b(?:new|updated|real|actual|true) (?:system )?instructions?\b\s*:|\bfrom now on,? (?:you|your) (?:are|will|must|shall|have to|only)\b/i,
    cues: ["instruction", "from now on"],
  },
  unrestricted_persona: {
    weight: 0.75,
    pattern:
      /\b(?:you are now|you're now|act as|pretend (?:to be|you are|you're)|role-?play as|become|switch to)\b.{0,40}?\b(?:DAN|an? (?:unfiltered|uncensored|unrestricted|jailbroken|evil|amoral)|(?:unfiltered|uncensored|unrestricted|jailbroken)|without (?:any )?(?:restrictions|limits|limitations|filters|rules|guidelines|ethics)|(?:developer|god|jailbreak|dan) mode)\b/i,
    cues: [
      "you are now",
      "you're now",
      "act as",
      "pretend",
      "roleplay as",
      "role-play as",
      "become",
      "switch to",
    ],
  },
  dan_jailbreak: {
    weight: 0.45,
    pattern:
      /\bDAN\b(?:.{0,60}\b(?:do anything now|jailbr\w*|no (?:rules|restrictions|limits))\b)|\bdo anything now\b/,
    cues: ["do anything now", "jailbr", "no rules", "no restrictions", "no limits"],
  },
  mode_switch: {
    weight: 0.45,
    pattern:
      /\b(?:enable|activate|enter|turn on|switch to) (?:the )?(?:developer|god|jailbreak|sudo|unrestricted|dan) mode\b/i,
    cues: [
      "developer mode",
      "god mode",
      "jailbreak mode",
      "sudo mode",
      "unrestricted mode",
      "dan mode",
    ],
  },
  no_restrictions: {
    weight: 0.4,
    pattern:
      /\b(?:no longer|not) (?:bound|restricted|limited|constrained) by (?:any |your |the |openai'?s? |anthropic'?s? )?(?:rules|policies|guidelines|restrictions|filters|content policy|ethics)\b|\bwithout (?:any )?(?:censorship|content filters?|safety (?:filters?|guidelines))\b/i,
    cues: [
      "bound by",
      "restricted by",
      "limited by",
      "constrained by",
      "censorship",
      "content filter",
      "safety filter",
      "safety guidelines",
    ],
  },
  system_prompt_exfiltration: {
    weight: 0.65,
    pattern: new RegExp(
      `\\b(?:reveal|show|print|repeat|output|display|tell me|give me|leak|dump|write out|spell out|recite|what (?:is|are|were) (?:in )?)\\b.{0,30}?\\b(?:your|the) (?:(?:full|entire|exact|original|hidden|secret|initial|complete) )*(?:system prompt|system message|(?:hidden|secret|initial|original|developer) (?:prompt|${INSTRUCTION_NOUN})|instructions (?:above|you were given)|prompt above)\\b`,
      "i",
    ),
    cues: [
      "system prompt",
      "system message",
      "prompt above",
      "instruction",
      "hidden",
      "secret",
      "initial",
      "original",
      "developer",
    ],
  },
  repeat_from_start: {
    weight: 0.55,
    pattern:
      /\b(?:repeat|print|output|copy) (?:the |all )?(?:words|text|everything) (?:above|before this)|\bstarting with ["'“]?you are\b/i,
    cues: [
      "words above",
      "text above",
      "everything above",
      "words before this",
      "text before this",
      "everything before this",
      "starting with",
    ],
  },
  chat_markup: {
    weight: 0.6,
    pattern:
      /<\|(?:im_start|im_end|system|endoftext|start_header_id|end_header_id|eot_id)\|>|\[\/?INST\]|<<\/?SYS>>|<\/?(?:system|system_prompt|instructions)>/i,
    cues: ["<|", "inst]", "sys>>", "<system", "</system", "<instructions", "</instructions"],
  },
  role_label: {
    weight: 0.3,
    pattern:
      /(?:^|\n)[ \t]*(?:#{2,}[ \t]*(?:system|new instructions?)\b|(?:system|assistant)[ \t]*:[ \t])/i,
    // Normalised text has no tab and no run of spaces: `[ \t]*` is nothing or one space.
    cues: ["##", "system:", "system :", "assistant:", "assistant :"],
  },
  end_of_input: {
    weight: 0.35,
    pattern:
      /\b(?:end of (?:user )?(?:input|prompt|conversation|document)|begin(?:ning)? of (?:new )?(?:system )?instructions)\b/i,
    cues: [
      "end of input",
      "end of user",
      "end of prompt",
      "end of conversation",
      "end of document",
      "instruction",
    ],
  },
  encoded_payload: {
    weight: 0.45,
    pattern:
      /\b(?:decode|decipher|deobfuscate|translate)\b.{0,40}?\b(?:base64|rot13|hex|binary|morse)\b.{0,60}?\b(?:follow|execute|obey|run|do (?:what|as) it says|carry out)\b|\b(?:base64|rot13)\b.{0,20}?\b(?:instructions?|commands?)\b/i,
    cues: ["base64", "rot13", "hex", "binary", "morse"],
  },
} satisfies Record<string, InjectionSignal>;

export type InjectionSignalName = keyof typeof injectionSignals | "encoded_instructions";

export interface InjectionResult {
  /** 0 (no sign) to 1 (certain). */
  score: number;
  /** Names of the signals that fired, in table order. */
  signals: InjectionSignalName[];
}

const ENCODED_INSTRUCTIONS_WEIGHT = 0.8;
const BASE64_BLOB = /[A-Za-z0-9+/]{24,}={0,2}/g;
const base64Chars = charSet("A-Za-z0-9+/");
const MAX_BLOBS = 8;
const MAX_BLOB_CHARS = 8_192;

type SignalName = keyof typeof injectionSignals;
const signalTable = Object.entries(injectionSignals) as [SignalName, InjectionSignal][];
/** Text that this does not match holds no signal's cue, so no signal's pattern matches it. */
const ANY_CUE = anyWordPattern(signalTable.flatMap(([, signal]) => signal.cues));

/**
 * Text with none of these and no two spaces in a row is printable ASCII and line breaks: NFKC
 * leaves it as it is, and there is nothing invisible to drop and no space to collapse.
 */
const NOT_PLAIN_ASCII = /[^\n\r\x20-\x7E]/;

const SPACED_LETTERS = /\b(?:[A-Za-z] ){3,}[A-Za-z]\b/g;
/** The same, to test: `test` on a global regex would start where the last match ended. */
const HAS_SPACED_LETTERS = new RegExp(SPACED_LETTERS.source);

/** NFKC, invisible characters dropped, spaces collapsed, `i g n o r e` joined into a word. */
function normalise(text: string): string {
  const folded =
    NOT_PLAIN_ASCII.test(text) || text.includes("  ")
      ? text
          .normalize("NFKC")
          .replace(/[\u200B-\u200D\u2060\uFEFF\u00AD]/g, "")
          .replace(/[ \t\f\v\u00A0]+/g, " ")
      : text;
  if (!HAS_SPACED_LETTERS.test(folded)) return folded;
  return folded.replace(SPACED_LETTERS, (letters) => letters.replaceAll(" ", ""));
}

/** The signals whose patterns match a normalised text, in table order. */
function firedSignals(text: string): SignalName[] {
  const names: SignalName[] = [];
  if (!ANY_CUE.test(text)) return names;
  for (const [name, signal] of signalTable) {
    if (signal.pattern.test(text)) names.push(name);
  }
  return names;
}

/** Whether some base64 blob in the text decodes to readable text that carries a signal. */
function hasEncodedInstructions(text: string): boolean {
  if (!hasRun(text, 24, base64Chars)) return false;
  BASE64_BLOB.lastIndex = 0;
  let match: RegExpExecArray | null;
  for (let seen = 1; seen <= MAX_BLOBS && (match = BASE64_BLOB.exec(text)) !== null; seen++) {
    const decoded = Buffer.from(match[0].slice(0, MAX_BLOB_CHARS), "base64").toString("latin1");
    if (!/^[\x20-\x7E\s]*$/.test(decoded)) continue;
    if (firedSignals(normalise(decoded)).length > 0) return true;
  }
  return false;
}

export function detectInjection(text: string): InjectionResult {
  const normalised = normalise(text);
  const signals: InjectionSignalName[] = firedSignals(normalised);
  if (hasEncodedInstructions(normalised)) signals.push("encoded_instructions");
  let clean = 1;
  for (const name of signals) {
    clean *=
      1 -
      (name === "encoded_instructions"
        ? ENCODED_INSTRUCTIONS_WEIGHT
        : injectionSignals[name].weight);
  }
  return { score: Math.round((1 - clean) * 1000) / 1000, signals };
}

/** The decision for a trace: `allow` under the threshold, else the configured action. */
export function evaluateInjection(text: string, config: InjectionConfig): InjectionDecision {
  const { score, signals } = detectInjection(text);
  return {
    guardrail: "injection",
    action: score >= config.threshold && signals.length > 0 ? config.action : "allow",
    score,
    threshold: config.threshold,
    signals,
  };
}
