import { parseArgs } from "node:util";
import { createStreamRedactor, detectPii, piiPolicySchema } from "../src/guardrails/index.ts";
import { generatePiiCorpus, scoreDetections } from "../test/fixtures/pii-corpus.ts";
import { printTable } from "./table.ts";

/**
 * `npm run bench -- pii [--seed N] [--per-type N] [--show-misses]`: precision, recall and F1
 * of the PII detectors per entity type on the generated labelled corpus (span-level: the type
 * and the exact offsets must match), then throughput in MB/s on three workloads, next to a
 * baseline measured in the same run on the same text: one linear regex pass that tokenises it.
 */

const TARGET = 0.95;

const PROSE = [
  "Thanks for the quick reply. I went through the report you sent last week and most of it",
  "looks right to me, but the second section mixes up the quarterly and the yearly figures.",
  "Could you check the numbers again before Friday and send the corrected version to",
  "maria.lopez@example.com? After that we can schedule the review with the whole team and",
  "decide which of the three options we take to the board in the next planning round.",
].join(" ");

/** MB/s of `scan` over `texts`, repeated for at least a second (and at least 3 rounds). */
function throughput(texts: readonly string[], scan: (text: string) => unknown): number {
  const bytes = texts.reduce((n, t) => n + Buffer.byteLength(t), 0);
  let rounds = 0;
  const started = performance.now();
  while (rounds < 3 || (performance.now() - started < 1_000 && rounds < 1_000)) {
    for (const text of texts) scan(text);
    rounds++;
  }
  return (bytes * rounds) / ((performance.now() - started) / 1000) / 1e6;
}

const redactAll = piiPolicySchema.parse({ default_action: "redact" });

/** Streams `text` through a redactor in 4-character deltas (about one token each). */
function streamInDeltas(text: string): string {
  const redactor = createStreamRedactor(redactAll);
  let out = "";
  for (let i = 0; i < text.length; i += 4) out += redactor.push(text.slice(i, i + 4));
  return out + redactor.flush();
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      seed: { type: "string", default: "1" },
      "per-type": { type: "string", default: "300" },
      "show-misses": { type: "boolean", default: false },
    },
  });
  const seed = Number(values.seed);
  const docs = generatePiiCorpus({ seed, perType: Number(values["per-type"]) });
  const { perType, overall, misses } = scoreDetections(docs, (text) => detectPii(text));

  console.log(`PII detectors on ${docs.length} generated documents (seed ${seed}), span-level\n`);
  const fmt = (x: number) => x.toFixed(3);
  const rows: (string | number)[][] = [
    ["type", "tp", "fp", "fn", "precision", "recall", "f1", "target 0.95"],
  ];
  for (const s of [...perType, { ...overall, type: "overall" }]) {
    const ok = s.precision >= TARGET && s.recall >= TARGET;
    rows.push([
      s.type,
      s.truePositives,
      s.falsePositives,
      s.falseNegatives,
      fmt(s.precision),
      fmt(s.recall),
      fmt(s.f1),
      ok ? "met" : "MISSED",
    ]);
  }
  printTable(rows);

  const texts = docs.map((d) => d.text);
  const workloads: [string, string[], (text: string) => unknown][] = [
    ["corpus, one call per document", texts, (t) => detectPii(t)],
    ["corpus joined, one call", [texts.join("\n")], (t) => detectPii(t)],
    ["chat prose, 16 KB per call", [PROSE.repeat(40)], (t) => detectPii(t)],
    ["chat prose, stream redactor, 4-char deltas", [PROSE.repeat(10)], streamInDeltas],
  ];
  const baseline = (text: string) => text.match(/[\w@.+-]+/g);
  const speed: (string | number)[][] = [["workload", "baseline MB/s", "keel MB/s"]];
  for (const [name, input, scan] of workloads) {
    speed.push([name, throughput(input, baseline).toFixed(1), throughput(input, scan).toFixed(2)]);
  }
  console.log("");
  printTable(speed);

  if (values["show-misses"]) {
    console.log("");
    for (const m of misses.slice(0, 50)) {
      console.log(`${m.kind} ${m.type} ${JSON.stringify(m.value)} in ${JSON.stringify(m.text)}`);
    }
  }
  await Promise.resolve();
}
