// The rules of `npm run bench:text`'s comparison and goal lines (no training, no peers).
import { describe, expect, it } from "vitest";
import {
  type ConfigRunSummary,
  goalLines,
  LINEAR_SVC,
  MAX_TRAIN_SECONDS,
  ratioLines,
  splitMismatches,
  type TextVariantSummary,
} from "../../../bench/text-report.js";

const common = { bench: "text", dataset: "complaints" };
const configRun: ConfigRunSummary = {
  variant: "ours-config",
  best_candidate: "tfidf-linear-2",
  test_f1_macro: 0.84,
  test_f1_weighted: 0.85,
  wall_s: 120,
};
const svc: TextVariantSummary = {
  variant: LINEAR_SVC,
  test_f1_macro: 0.8,
  test_f1_weighted: 0.85,
  fit_s_median: 1.5,
  peak_rss_mb: 210,
};
const kind: TextVariantSummary = {
  variant: "ours-tfidf-linear",
  test_f1_macro: 0.82,
  fit_s_median: 3,
  peak_rss_mb: 420,
};

describe("bench:text ratio lines", () => {
  it("given ours and a peer, quality is ours / peer and cost peer / ours, each line saying which way is better", () => {
    const lines = ratioLines(common, kind, svc);
    const byMetric = Object.fromEntries(lines.map((l) => [l.metric as string, l]));
    expect(Object.keys(byMetric), "the metrics both sides reported, quality first").toEqual([
      "test_f1_macro",
      "fit_s_median",
      "peak_rss_mb",
    ]);
    expect(byMetric.test_f1_macro).toMatchObject({
      bench: "text",
      ratio: "ours-tfidf-linear/sklearn-tfidf-linear-svc",
      value: 1.025,
      ours: 0.82,
      peer: 0.8,
      meaning: "ours / peer: >1 means ours scores higher",
    });
    expect(byMetric.fit_s_median).toMatchObject({
      ratio: "sklearn-tfidf-linear-svc/ours-tfidf-linear",
      value: 0.5,
      ours: 3,
      peer: 1.5,
      meaning: "peer / ours: >1 means ours is faster",
    });
    expect(byMetric.peak_rss_mb).toMatchObject({
      value: 0.5,
      meaning: "peer / ours: >1 means ours is smaller",
    });
  });

  it("given the config run (no fit time or memory of its own), only the quality ratios are written", () => {
    const lines = ratioLines(common, configRun, svc);
    expect(lines.map((l) => l.metric)).toEqual(["test_f1_macro", "test_f1_weighted"]);
    expect(lines[0]).toMatchObject({ ratio: "ours-config/sklearn-tfidf-linear-svc", value: 1.05 });
    expect(lines[1]).toMatchObject({ value: 1, ours: 0.85, peer: 0.85 });
  });

  it("given a zero denominator, the ratio is null rather than Infinity", () => {
    const [f1] = ratioLines(common, kind, { ...svc, test_f1_macro: 0 });
    expect(f1).toMatchObject({ metric: "test_f1_macro", value: null, peer: 0 });
  });
});

describe("bench:text goals (issue 11)", () => {
  it("given a better model trained in time, both goals are met", () => {
    const [quality, time] = goalLines(common, configRun, svc);
    expect(quality).toMatchObject({
      metric: "test_f1_macro",
      ours: 0.84,
      peer: 0.8,
      best_candidate: "tfidf-linear-2",
      met: true,
    });
    expect(time).toMatchObject({ metric: "wall_s", ours: 120, limit_s: MAX_TRAIN_SECONDS, met: true });
  });

  it("given a tie, the quality goal is met ('at least'); given exactly 300 s, the time goal is missed ('under')", () => {
    const [quality, time] = goalLines(common, { ...configRun, test_f1_macro: 0.8, wall_s: 300 }, svc);
    expect(quality!.met).toBe(true);
    expect(time!.met).toBe(false);
    const [worse] = goalLines(common, { ...configRun, test_f1_macro: 0.79999 }, svc);
    expect(worse!.met).toBe(false);
  });

  it("given a side that did not run, the goal is undecided (met null) and says why", () => {
    const [quality, time] = goalLines(common, undefined, svc);
    expect(quality).toMatchObject({ met: null, ours: null, reason: "the config's training did not run" });
    expect(time).toMatchObject({ met: null, reason: "the config's training did not run" });
    const [noPeer] = goalLines(common, configRun, undefined);
    expect(noPeer).toMatchObject({ met: null, peer: null, reason: "the LinearSVC peer did not run" });
  });
});

describe("bench:text split check", () => {
  const expected = { train: { rows: 10, digest: "aaaa" }, test: { rows: 3, digest: "bbbb" } };

  it("given the run logged the same rows and digests, there is no mismatch", () => {
    expect(
      splitMismatches(expected, { train: { rows: 10, digest: "aaaa" }, test: { rows: 3, digest: "bbbb" } }),
    ).toEqual([]);
  });

  it("given other row counts, digests or nothing logged, each split names its difference", () => {
    expect(
      splitMismatches(expected, { train: { rows: 11, digest: "aaaa" }, test: { rows: 3, digest: "cccc" } }),
    ).toEqual([
      "train: 11 rows in the run, 10 in the bench",
      "test: dataset digest cccc in the run, bbbb in the bench",
    ]);
    expect(splitMismatches(expected, { train: { digest: "aaaa" } })).toEqual([
      "train: the run logged no row count",
      "test: the run logged no row count",
    ]);
    expect(splitMismatches(expected, { train: { rows: 10 }, test: { rows: 3, digest: "bbbb" } })).toEqual([
      "train: the run logged no dataset digest",
    ]);
  });
});
