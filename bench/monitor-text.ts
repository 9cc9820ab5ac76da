// `npx tsx bench/monitor-text.ts [--mirror DIR] [--no-peer]`
//
// Text drift (src/monitoring/text.ts) on the real complaint narratives, beside Evidently 0.7.23's text drift on the
// same pairs (bench/peers/monitor_text_fixtures.py --evaluate, in the bench venv .venv-bench/monitor). The mirror's
// complaints file has no date column (Product and the narrative only), so "older vs newer" is approximated by the
// years the narratives mention:
//   random-halves   every narrative, shuffled (seed 7) and cut in two: no drift expected
//   product-shift   reference "Credit reporting, repair, or other", current "Debt collection" + "Mortgage": drift
//   years-mentioned narratives that mention a year up to 2016 vs those that mention 2018 or later (none mentions
//                   both): a period proxy. Our classifier sees numbers as one __num__ token (normalize.ts), so it
//                   cannot read the years themselves; Evidently's vectorizer sees "2015" and "2019" as words.
// stdout: one JSON line per case and side (ours, evidently), then one agreement line per case.
import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { loadDataset } from "../src/data/load.js";
import { profileText, TextAccumulator, textDrift } from "../src/monitoring/text.js";
import { createRng, shuffled } from "../src/shared/random.js";

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const mirror = flag("--mirror") ?? process.env.WORKBENCH_DATA_MIRROR;
const peer = !args.includes("--no-peer");
const root = path.resolve(import.meta.dirname, "..");

const { table, manifest } = await loadDataset("complaints", {
  download: false,
  // The mirror's file repeats 86 narratives (4 %): they are dropped as duplicates, as training drops them.
  maxBadFraction: 0.05,
  ...(mirror === undefined ? {} : { mirror }),
});
const textColumn = Object.entries(manifest.columns).find(([, c]) => c.type === "text")?.[0];
if (textColumn === undefined) throw new Error("the complaints manifest declares no text column");
const texts = table.text[textColumn]!;
const rows = texts
  .map((text, i) => ({ text, product: table.target[i]! }))
  .filter((r) => r.text.trim() !== "");

const YEAR = /\b(20[0-2]\d)\b/g;
const years = (t: string) => [...t.matchAll(YEAR)].map((m) => Number(m[1]));
const older = rows.filter((r) => {
  const y = years(r.text);
  return y.length > 0 && y.every((v) => v <= 2016);
});
const newer = rows.filter((r) => {
  const y = years(r.text);
  return y.length > 0 && y.every((v) => v >= 2018);
});
const all = shuffled(
  rows.map((r) => r.text),
  createRng(7),
);
const cases = [
  { name: "random-halves", reference: all.slice(0, all.length >> 1), current: all.slice(all.length >> 1) },
  {
    name: "product-shift",
    reference: rows.filter((r) => r.product === "Credit reporting, repair, or other").map((r) => r.text),
    current: rows
      .filter((r) => r.product === "Debt collection" || r.product === "Mortgage")
      .map((r) => r.text),
  },
  { name: "years-mentioned", reference: older.map((r) => r.text), current: newer.map((r) => r.text) },
];

interface Line {
  name: string;
  auc: number;
  threshold: number;
  drift: boolean;
}
const ours: Line[] = [];
for (const c of cases) {
  const started = performance.now();
  const profile = profileText("narrative", c.reference);
  const accumulator = new TextAccumulator(profile);
  for (const t of c.current) accumulator.add(t);
  const { drift } = textDrift(profile, accumulator);
  const seconds = (performance.now() - started) / 1000;
  const line = {
    side: "ours",
    name: c.name,
    reference_texts: c.reference.length,
    current_texts: c.current.length,
    rule: drift.rule,
    auc: drift.auc,
    threshold: drift.threshold,
    drift: drift.drift,
    oov: drift.oov,
    mean_length: drift.meanLength,
    typical_words: {
      current: drift.typicalWords.current.slice(0, 10),
      reference: drift.typicalWords.reference.slice(0, 10),
    },
    seconds,
  };
  ours.push(line);
  console.log(JSON.stringify(line));
}

if (peer) {
  const dir = await mkdtemp(path.join(os.tmpdir(), "monitor-text-"));
  try {
    const file = path.join(dir, "cases.json");
    await writeFile(file, JSON.stringify({ cases }));
    const python = path.join(root, ".venv-bench", "monitor", "bin", "python");
    const out = spawnSync(
      python,
      [path.join(root, "bench/peers/monitor_text_fixtures.py"), "--evaluate", file],
      {
        encoding: "utf8",
        maxBuffer: 64 << 20,
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    if (out.status !== 0)
      throw new Error(`the Evidently peer failed (exit ${out.status}); is ${python} there?`);
    const theirs = out.stdout
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Line & Record<string, unknown>);
    for (const t of theirs) {
      console.log(
        JSON.stringify({
          side: "evidently",
          ...t,
          typical_words: {
            current: (t.typical_words as { current: string[] }).current.slice(0, 10),
            reference: (t.typical_words as { reference: string[] }).reference.slice(0, 10),
          },
        }),
      );
    }
    for (const o of ours) {
      const t = theirs.find((x) => x.name === o.name);
      if (t === undefined) continue;
      console.log(
        JSON.stringify({
          name: o.name,
          same_flag: o.drift === t.drift,
          auc_ours: o.auc,
          auc_evidently: t.auc,
          auc_difference: o.auc - t.auc,
        }),
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
