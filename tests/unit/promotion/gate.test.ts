import { describe, expect, it } from "vitest";
import { type PromotionConfig, promotionSchema } from "../../../src/config/promotion-config.js";
import { type GateCheck, type GateDecision, runGate, type ScoredModel } from "../../../src/promotion/gate.js";
import { gateMarkdown, gateText, verdictLine } from "../../../src/promotion/gate-report.js";
import { weightedMetric } from "../../../src/promotion/weighted-metrics.js";
import { createRng } from "../../../src/shared/random.js";

// Synthetic binary task: a score x ~ N(μ·y, 1). The posterior logit of y given x is
// logit(π) + μx − μ²/2, so `calibrated` probabilities are the Bayes ones and the ROC AUC is Φ(μ/√2):
// μ = 1 gives ≈ 0.76, μ = 2 ≈ 0.92.

const gaussian = (rng: () => number) => {
  const u = Math.max(rng(), Number.MIN_VALUE);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
};
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
const logit = (p: number) => Math.log(p / (1 - p));

/** Seeded binary labels with prevalence `prevalence`. */
function binaryLabels(n: number, prevalence: number, seed: number): Int32Array {
  const rng = createRng(seed);
  return Int32Array.from({ length: n }, () => (rng() < prevalence ? 1 : 0));
}

/**
 * Two-column probabilities of a scorer with separation `mu`; `temperature` > 1 makes the probabilities
 * over-confident without changing their order (same ranking, worse calibration).
 */
function binaryScores(
  labels: Int32Array,
  mu: number,
  seed: number,
  prevalence: number,
  temperature = 1,
): Float64Array {
  const rng = createRng(seed);
  const out = new Float64Array(labels.length * 2);
  for (let i = 0; i < labels.length; i++) {
    const x = mu * labels[i]! + gaussian(rng);
    const p = sigmoid(temperature * (logit(prevalence) + mu * x - (mu * mu) / 2));
    out[i * 2] = 1 - p;
    out[i * 2 + 1] = p;
  }
  return out;
}

const model = (version: string, probabilities: Float64Array, threshold: number | undefined = 0.5) =>
  ({ version, probabilities, threshold }) satisfies ScoredModel;

const config = (raw: Record<string, unknown> = {}): PromotionConfig =>
  promotionSchema.parse({ bootstrap: { resamples: 1000, seed: 7 }, ...raw });

const check = (decision: GateDecision, kind: GateCheck["kind"], metric?: string): GateCheck => {
  const found = decision.checks.find((c) => c.kind === kind && (metric === undefined || c.metric === metric));
  if (found === undefined)
    throw new Error(`no ${kind} check${metric ? ` on ${metric}` : ""} in ${JSON.stringify(decision.checks)}`);
  return found;
};
const kinds = (decision: GateDecision) => decision.checks.map((c) => `${c.kind}:${c.metric}`);

const N = 2000;
const PREVALENCE = 0.3;
const labels = binaryLabels(N, PREVALENCE, 101);
const championScores = binaryScores(labels, 1, 202, PREVALENCE);
const betterScores = binaryScores(labels, 2, 303, PREVALENCE);
const classes = ["no", "yes"];

describe("runGate with a champion (binary, primary metric roc_auc)", () => {
  const guarded = config({
    guards: [
      { metric: "pr_auc", tolerance: 0.01 },
      { metric: "log_loss", tolerance: 0.01 },
    ],
    minimums: { roc_auc: 0.7 },
  });

  it("given a challenger identical to the champion, then the champion is kept and improvement, bootstrap and DeLong fail", () => {
    const decision = runGate({
      config: guarded,
      defaultMetric: "roc_auc",
      seed: 42,
      classes,
      labels,
      champion: model("3", championScores),
      challenger: model("4", Float64Array.from(championScores)),
    });

    expect(decision.promote, "identical models must not promote").toBe(false);
    expect(decision.forced, "not forced").toBe(false);
    expect(kinds(decision), "checks in order").toEqual([
      "improvement:roc_auc",
      "bootstrap:roc_auc",
      "delong:roc_auc",
      "guard:pr_auc",
      "guard:log_loss",
      "minimum:roc_auc",
    ]);
    const improvement = check(decision, "improvement");
    expect(improvement.delta, "delta of identical models").toBe(0);
    expect(improvement.passed, "+0 is below minImprovement 0.002").toBe(false);
    const bootstrap = check(decision, "bootstrap");
    expect(bootstrap.ci, "every resample has a zero difference").toEqual([0, 0]);
    expect(bootstrap.pValue, "every resample is <= 0").toBe(1);
    expect(bootstrap.passed, "a CI of [0, 0] is not above zero").toBe(false);
    const delong = check(decision, "delong");
    expect(delong.pValue, "no evidence of a difference").toBe(1);
    expect(delong.passed, "DeLong p = 1 is not < 0.05").toBe(false);
    expect(check(decision, "guard", "pr_auc").passed, "pr_auc unchanged").toBe(true);
    expect(check(decision, "guard", "log_loss").passed, "log_loss unchanged").toBe(true);
    expect(check(decision, "minimum").passed, "AUC ≈ 0.76 clears 0.7").toBe(true);
    expect(decision.failures, "the three failed checks, in words").toEqual([
      "roc_auc improvement: +0.002 or better, got +0.0000",
      "roc_auc bootstrap: 95% CI of the improvement above 0 (1000/1000 resamples), got CI [0.0000, 0.0000]",
      "roc_auc delong: DeLong one-sided p < 0.05, got p = 1.00e+0",
    ]);
  });

  it("given a clearly better challenger on 2,000 rows, then it is promoted and every check passes", () => {
    const decision = runGate({
      config: guarded,
      defaultMetric: "roc_auc",
      seed: 42,
      classes,
      labels,
      champion: model("3", championScores),
      challenger: model("4", betterScores),
    });

    expect(decision.failures, "no failures").toEqual([]);
    expect(decision.promote, "promoted on merit").toBe(true);
    expect(decision.forced, "not forced").toBe(false);
    expect(decision).toMatchObject({ metric: "roc_auc", rows: N, classes, champion: "3", challenger: "4" });
    for (const c of decision.checks) expect(c.passed, `${c.kind} ${c.metric}: ${c.requirement}`).toBe(true);
    const improvement = check(decision, "improvement");
    expect(improvement.champion!, "champion AUC ≈ Φ(1/√2)").toBeGreaterThan(0.72);
    expect(improvement.champion!, "champion AUC ≈ Φ(1/√2)").toBeLessThan(0.8);
    expect(improvement.challenger, "challenger AUC ≈ Φ(√2)").toBeGreaterThan(0.89);
    expect(improvement.delta, "delta = challenger − champion").toBeCloseTo(
      improvement.challenger - improvement.champion!,
      12,
    );
    const bootstrap = check(decision, "bootstrap");
    expect(bootstrap.ci![0], "CI lower bound above zero").toBeGreaterThan(0);
    expect(bootstrap.ci![0], "CI brackets the observed delta").toBeLessThan(improvement.delta!);
    expect(bootstrap.ci![1], "CI brackets the observed delta").toBeGreaterThan(improvement.delta!);
    const delong = check(decision, "delong");
    expect(delong.pValue!, "DeLong rejects equal AUCs").toBeLessThan(0.05);
    expect(delong.champion!, "DeLong and the weighted metric agree on the champion AUC").toBeCloseTo(
      improvement.champion!,
      12,
    );
    expect(delong.challenger, "DeLong and the weighted metric agree on the challenger AUC").toBeCloseTo(
      improvement.challenger,
      12,
    );
    expect(decision.bootstrap, "bootstrap settings, config seed wins").toEqual({
      resamples: 1000,
      confidence: 0.95,
      seed: 7,
    });
  });

  it("given a challenger with a better ranking but over-confident probabilities, then the log_loss guard fails and the champion is kept", () => {
    const calibrated = binaryScores(labels, 1.3, 404, PREVALENCE);
    const overconfident = binaryScores(labels, 1.3, 404, PREVALENCE, 4);
    const auc = (p: Float64Array) => weightedMetric("roc_auc", labels, p, 2, new Float64Array(N).fill(1));
    expect(auc(overconfident), "the temperature keeps the ranking").toBe(auc(calibrated));

    const decision = runGate({
      config: config({ guards: [{ metric: "log_loss", tolerance: 0.001 }] }),
      defaultMetric: "roc_auc",
      seed: 42,
      classes,
      labels,
      champion: model("3", championScores),
      challenger: model("4", overconfident),
    });

    expect(decision.promote, "a regressing guard blocks the promotion").toBe(false);
    expect(check(decision, "improvement").passed, "roc_auc improved").toBe(true);
    expect(check(decision, "bootstrap").passed, "the improvement is significant").toBe(true);
    expect(check(decision, "delong").passed, "DeLong agrees").toBe(true);
    const guard = check(decision, "guard", "log_loss");
    expect(guard.passed, "log_loss got worse beyond 0.001").toBe(false);
    expect(guard.delta!, "a worse log_loss is a positive delta").toBeGreaterThan(0.001);
    expect(guard.requirement, "lower-is-better tolerance reads as +").toBe("no worse than +0.001");
    expect(decision.failures, "only the guard failed").toHaveLength(1);
    expect(decision.failures[0], "failure names the guard").toMatch(
      /^log_loss guard: no worse than \+0\.001, got \+\d+\.\d{4}$/,
    );
  });

  it("given the same inputs twice, then the decision is identical (seeded bootstrap)", () => {
    const input = {
      config: config({ bootstrap: { resamples: 200 } }),
      defaultMetric: "roc_auc" as const,
      seed: 11,
      classes,
      labels,
      champion: model("1", championScores),
      challenger: model("2", binaryScores(labels, 1.1, 505, PREVALENCE)),
    };
    const first = runGate(input);
    expect(runGate(input), "same seed, same decision").toEqual(first);
    expect(first.bootstrap.seed, "without bootstrap.seed the input seed is used").toBe(11);
  });

  it("given DeLong disabled, then there is no DeLong row", () => {
    const decision = runGate({
      config: config({ delong: { enabled: false } }),
      defaultMetric: "roc_auc",
      seed: 42,
      classes,
      labels,
      champion: model("3", championScores),
      challenger: model("4", betterScores),
    });
    expect(kinds(decision), "improvement and bootstrap only").toEqual([
      "improvement:roc_auc",
      "bootstrap:roc_auc",
    ]);
  });
});

describe("runGate without a champion", () => {
  const bounds = (minimum: number) =>
    config({
      minimums: { roc_auc: minimum },
      maximums: { log_loss: 0.7 },
      guards: [{ metric: "pr_auc", tolerance: 0 }],
    });

  it("given the challenger meets the bounds, then only minimum/maximum checks run and it is promoted", () => {
    const decision = runGate({
      config: bounds(0.7),
      defaultMetric: "roc_auc",
      seed: 42,
      classes,
      labels,
      champion: undefined,
      challenger: model("1", championScores),
    });

    expect(kinds(decision), "no comparison, no guards").toEqual(["minimum:roc_auc", "maximum:log_loss"]);
    for (const c of decision.checks) {
      expect(c.champion, `${c.kind}: no champion value`).toBeUndefined();
      expect(c.delta, `${c.kind}: no delta`).toBeUndefined();
      expect(c.ci, `${c.kind}: no CI`).toBeUndefined();
      expect(c.pValue, `${c.kind}: no p-value`).toBeUndefined();
      expect(c.passed, `${c.kind} ${c.metric}: ${c.requirement}`).toBe(true);
    }
    expect(check(decision, "minimum").requirement, "minimum in words").toBe("at least 0.7");
    expect(check(decision, "maximum").requirement, "maximum in words").toBe("at most 0.7");
    expect(decision.promote, "first model promoted").toBe(true);
    expect(decision.champion, "no champion version").toBeUndefined();
  });

  it("given the challenger misses the minimum, then it is kept and the failure says by how much", () => {
    const decision = runGate({
      config: bounds(0.95),
      defaultMetric: "roc_auc",
      seed: 42,
      classes,
      labels,
      champion: undefined,
      challenger: model("1", championScores),
    });

    expect(decision.promote, "below the floor").toBe(false);
    expect(check(decision, "minimum").passed, "AUC ≈ 0.76 < 0.95").toBe(false);
    expect(check(decision, "maximum").passed, "log_loss within the ceiling").toBe(true);
    expect(decision.failures, "one failure with the value reached").toEqual([
      `roc_auc minimum: at least 0.95, got ${check(decision, "minimum").challenger.toFixed(4)}`,
    ]);
  });

  it("given one class only, then the undefined (NaN) AUC fails the minimum instead of passing", () => {
    const decision = runGate({
      config: bounds(0.5),
      defaultMetric: "roc_auc",
      seed: 42,
      classes,
      labels: new Int32Array(10),
      champion: undefined,
      challenger: model(
        "1",
        Float64Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? 0.8 : 0.2)),
      ),
    });
    expect(Number.isNaN(check(decision, "minimum").challenger), "AUC undefined with one class").toBe(true);
    expect(check(decision, "minimum").passed, "NaN never meets a floor").toBe(false);
    expect(decision.promote, "kept").toBe(false);
  });
});

describe("runGate --force-promote", () => {
  it("given a failing challenger and force, then promote and forced are true and the failures are listed", () => {
    const decision = runGate({
      config: config(),
      defaultMetric: "roc_auc",
      seed: 42,
      classes,
      labels,
      champion: model("3", championScores),
      challenger: model("4", Float64Array.from(championScores)),
      force: true,
    });
    expect(decision.promote, "forced through").toBe(true);
    expect(decision.forced, "recorded as forced").toBe(true);
    expect(
      decision.failures.map((f) => f.split(":")[0]),
      "what failed",
    ).toEqual(["roc_auc improvement", "roc_auc bootstrap", "roc_auc delong"]);
  });

  it("given a passing challenger and force, then it is promoted on merit (not recorded as forced)", () => {
    const decision = runGate({
      config: config(),
      defaultMetric: "roc_auc",
      seed: 42,
      classes,
      labels,
      champion: model("3", championScores),
      challenger: model("4", betterScores),
      force: true,
    });
    expect(decision.promote, "promoted").toBe(true);
    expect(decision.forced, "force was not needed").toBe(false);
    expect(decision.failures, "no failures").toEqual([]);
  });
});

describe("runGate on a 3-class task", () => {
  const k = 3;
  const n = 1500;
  const rng = createRng(606);
  const multiLabels = Int32Array.from({ length: n }, () => Math.floor(rng() * k));
  /** Softmax of class scores: the true class gets `mu` more on average. */
  const multiScores = (mu: number, seed: number) => {
    const r = createRng(seed);
    const out = new Float64Array(n * k);
    for (let i = 0; i < n; i++) {
      const z = Array.from({ length: k }, (_, c) => (c === multiLabels[i] ? mu : 0) + gaussian(r));
      const max = Math.max(...z);
      const e = z.map((v) => Math.exp(v - max));
      const sum = e.reduce((a, b) => a + b, 0);
      for (let c = 0; c < k; c++) out[i * k + c] = e[c]! / sum;
    }
    return out;
  };
  const three = ["a", "b", "c"];

  it("given metric f1_macro, then there is no DeLong row and a clearly better challenger is promoted", () => {
    const decision = runGate({
      config: config({ metric: "f1_macro" }),
      defaultMetric: "roc_auc",
      seed: 42,
      classes: three,
      labels: multiLabels,
      champion: model("1", multiScores(0.5, 707), undefined),
      challenger: model("2", multiScores(2, 808), undefined),
    });
    expect(decision.metric, "config.metric overrides the default").toBe("f1_macro");
    expect(kinds(decision), "no DeLong row for f1_macro").toEqual([
      "improvement:f1_macro",
      "bootstrap:f1_macro",
    ]);
    expect(check(decision, "improvement").delta!, "f1_macro improved").toBeGreaterThan(0.1);
    expect(decision.promote, "promoted").toBe(true);
  });

  it("given metric roc_auc on 3 classes, then DeLong (binary only) is skipped", () => {
    const decision = runGate({
      config: config(),
      defaultMetric: "roc_auc",
      seed: 42,
      classes: three,
      labels: multiLabels,
      champion: model("1", multiScores(0.5, 707), undefined),
      challenger: model("2", multiScores(2, 808), undefined),
    });
    expect(kinds(decision), "no DeLong row with k = 3").toEqual(["improvement:roc_auc", "bootstrap:roc_auc"]);
    expect(decision.promote, "macro AUC improved").toBe(true);
  });
});

describe("runGate with a lower-is-better primary metric (log_loss)", () => {
  it("given a challenger with a lower log_loss, then the delta is negative, its CI lies below zero and it is promoted", () => {
    const decision = runGate({
      config: config(),
      defaultMetric: "log_loss",
      seed: 42,
      classes,
      labels,
      champion: model("3", championScores),
      challenger: model("4", betterScores),
    });
    expect(decision.metric, "defaultMetric used when config.metric is unset").toBe("log_loss");
    expect(kinds(decision), "no DeLong row for log_loss").toEqual([
      "improvement:log_loss",
      "bootstrap:log_loss",
    ]);
    const improvement = check(decision, "improvement");
    expect(improvement.delta!, "an improvement is a negative delta").toBeLessThan(-0.002);
    expect(improvement.requirement, "the requirement reads as a decrease").toBe("−0.002 or better");
    expect(improvement.passed, "improved by more than 0.002").toBe(true);
    const bootstrap = check(decision, "bootstrap");
    const [low, high] = bootstrap.ci!;
    expect(low, "CI ordered").toBeLessThan(high);
    expect(high, "the whole CI of the delta lies below zero").toBeLessThan(0);
    expect(low, "CI brackets the observed delta").toBeLessThan(improvement.delta!);
    expect(high, "CI brackets the observed delta").toBeGreaterThan(improvement.delta!);
    expect(bootstrap.pValue, "no resample shows the challenger worse").toBe(0);
    expect(bootstrap.passed, "significant").toBe(true);
    expect(decision.promote, "promoted").toBe(true);
  });

  it("given a challenger with a higher log_loss, then the delta is positive, its CI lies above zero and it is kept", () => {
    const decision = runGate({
      config: config(),
      defaultMetric: "log_loss",
      seed: 42,
      classes,
      labels,
      champion: model("3", betterScores),
      challenger: model("4", championScores),
    });
    const improvement = check(decision, "improvement");
    expect(improvement.delta!, "a regression is a positive delta").toBeGreaterThan(0);
    expect(improvement.passed, "worse log_loss").toBe(false);
    const [low] = check(decision, "bootstrap").ci!;
    expect(low, "the CI of the delta lies above zero").toBeGreaterThan(0);
    expect(check(decision, "bootstrap").pValue, "every resample shows the challenger worse").toBe(1);
    expect(decision.promote, "kept").toBe(false);
  });
});

describe("gate report", () => {
  const decided = (overrides: Partial<GateDecision> = {}): GateDecision => ({
    promote: false,
    forced: false,
    metric: "roc_auc",
    rows: 1234,
    classes,
    champion: "3",
    challenger: "4",
    checks: [
      {
        kind: "improvement",
        metric: "roc_auc",
        champion: 0.8,
        challenger: 0.81,
        delta: 0.01,
        ci: [0.004, 0.016],
        pValue: 0.001,
        requirement: "+0.002 or better",
        passed: true,
      },
      {
        kind: "delong",
        metric: "roc_auc",
        champion: 0.8,
        challenger: 0.81,
        delta: 0.01,
        ci: [-0.002, 0.022],
        pValue: 0.00001,
        requirement: "DeLong one-sided p < 0.05",
        passed: false,
      },
      {
        kind: "minimum",
        metric: "roc_auc",
        champion: 0.8,
        challenger: 0.81,
        delta: 0.01,
        ci: undefined,
        pValue: undefined,
        requirement: "at least 0.7",
        passed: true,
      },
    ],
    failures: ["roc_auc delong: DeLong one-sided p < 0.05, got p = 1.00e-5"],
    bootstrap: { resamples: 2000, confidence: 0.95, seed: 42 },
    ...overrides,
  });

  it("given a decision, then the Markdown table has the header, one row per check with ✅/❌ and the verdict", () => {
    const lines = gateMarkdown(decided()).split("\n");
    expect(lines[0], "header").toBe(
      "| check | champion v3 | challenger v4 | delta | CI | p-value | verdict |",
    );
    expect(lines[1], "alignment row").toBe("|---|---:|---:|---:|---|---:|---|");
    expect(lines.slice(2, 5), "one row per check").toEqual([
      "| roc_auc (primary) | 0.8000 | 0.8100 | +0.0100 | [+0.0040, +0.0160] | 0.0010 | ✅ +0.002 or better |",
      "| roc_auc (DeLong) | 0.8000 | 0.8100 | +0.0100 | [-0.0020, +0.0220] | 1.0e-5 | ❌ DeLong one-sided p < 0.05 |",
      "| roc_auc (minimum) | 0.8000 | 0.8100 | +0.0100 | – | – | ✅ at least 0.7 |",
    ]);
    expect(lines[5], "blank line after the table").toBe("");
    expect(lines[6], "bold verdict").toBe(
      "**KEEP the champion: challenger v4 vs champion v3 failed 1 check(s): roc_auc delong: DeLong one-sided p < 0.05, got p = 1.00e-5**",
    );
    expect(lines.at(-1), "bootstrap footnote").toBe(
      "Scored on 1234 rows of the new run's evaluation splits. CI: 95% percentile interval of 2000 paired bootstrap resamples (seed 42); the DeLong row shows its 95% normal interval.",
    );
  });

  it("given a real gate decision, then the Markdown has exactly one table row per check", () => {
    const decision = runGate({
      config: config({ guards: [{ metric: "log_loss", tolerance: 0.01 }], minimums: { roc_auc: 0.7 } }),
      defaultMetric: "roc_auc",
      seed: 42,
      classes,
      labels,
      champion: model("3", championScores),
      challenger: model("4", betterScores),
    });
    const rows = gateMarkdown(decision)
      .split("\n")
      .filter((l) => l.startsWith("| ") && !l.startsWith("| check "));
    expect(rows, "one row per check").toHaveLength(decision.checks.length);
    expect(
      rows.map((r) => r.split(" | ")[0]),
      "row labels",
    ).toEqual([
      "| roc_auc (primary)",
      "| roc_auc (paired bootstrap)",
      "| roc_auc (DeLong)",
      "| log_loss (guard)",
      "| roc_auc (minimum)",
    ]);
    for (const row of rows) expect(row, "every row passed").toContain("| ✅ ");
    expect(gateMarkdown(decision), "promotion verdict").toContain(
      `**PROMOTE challenger v4 vs champion v3: every check passed on ${N} rows**`,
    );
  });

  it("given no champion and a 90% bootstrap, then the header has no champion version and the footnote names the 90% interval", () => {
    const decision = decided({
      champion: undefined,
      promote: true,
      failures: [],
      checks: [],
      bootstrap: { resamples: 500, confidence: 0.9, seed: 1 },
    });
    const lines = gateMarkdown(decision).split("\n");
    expect(lines[0], "header without a champion").toBe(
      "| check | champion | challenger v4 | delta | CI | p-value | verdict |",
    );
    expect(gateMarkdown(decision), "the footnote names the interval").toContain(
      "CI: 90% percentile interval of 500 paired bootstrap resamples",
    );
    expect(lines[2], "placeholder row when nothing is configured").toBe(
      "| (no checks configured) | – | – | – | – | – | ✅ |",
    );
    expect(verdictLine(decision), "verdict without a champion").toBe(
      "PROMOTE challenger v4 (no champion yet): every check passed on 1234 rows",
    );
  });

  it("given the three outcomes, then verdictLine says PROMOTE, KEEP or FORCED PROMOTION with the failures", () => {
    expect(verdictLine(decided({ promote: true, failures: [] })), "promote").toBe(
      "PROMOTE challenger v4 vs champion v3: every check passed on 1234 rows",
    );
    expect(verdictLine(decided({ failures: ["a", "b"] })), "keep").toBe(
      "KEEP the champion: challenger v4 vs champion v3 failed 2 check(s): a; b",
    );
    expect(verdictLine(decided({ promote: true, forced: true, failures: ["a", "b"] })), "forced").toBe(
      "FORCED PROMOTION of challenger v4 vs champion v3: the gate failed (a; b)",
    );
  });

  it("given a decision, then gateText is an aligned plain-text table with pass/FAIL and the verdict", () => {
    const lines = gateText(decided()).split("\n");
    expect(lines[0]!.trimEnd().split(/\s{2,}/), "header cells").toEqual([
      "check",
      "champion",
      "challenger",
      "delta",
      "CI",
      "p-value",
      "verdict",
    ]);
    expect(lines[1], "rule under the header").toMatch(/^-+( {2}-+){6}$/);
    expect(lines[2], "passing row").toContain("pass: +0.002 or better");
    expect(lines[3], "failing row").toContain("FAIL: DeLong one-sided p < 0.05");
    const column = lines[0]!.indexOf("delta");
    for (const line of lines.slice(2, 5)) expect(line.indexOf("+0.0100"), `aligned: ${line}`).toBe(column);
    expect(lines.at(-1), "verdict last").toBe(verdictLine(decided()));
    expect(gateText(decided()), "no Markdown marks").not.toMatch(/[|✅❌]/);
  });
});
