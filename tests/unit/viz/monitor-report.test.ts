import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import type { ColumnDrift, MonitorReport } from "../../../src/monitoring/types.js";
import type { Figure } from "../../../src/viz/figure.js";
import { plotlyBundle, renderHtmlReport } from "../../../src/viz/html-report.js";
import { MAX_CATEGORY_BARS, plotlyText } from "../../../src/viz/monitor-figures.js";
import { driftOrder, formatNumber } from "../../../src/viz/monitor-format.js";
import { markdownCode, markdownText } from "../../../src/viz/monitor-markdown.js";
import {
  MAX_COLUMN_FIGURES,
  monitorMarkdown,
  monitorReportSections,
  writeMonitorReport,
} from "../../../src/viz/monitor-report.js";
import { thrownBy } from "../../helpers/expect-error.js";
import { tempDir } from "../../helpers/temp.js";
import { baseReport, categoricalColumn, numericColumn, textColumn } from "./monitor-fixtures.js";

const tmp = tempDir("wb-monitor-report-");

const headings = (report: MonitorReport) => monitorReportSections(report).map((s) => s.heading);
const section = (report: MonitorReport, prefix: string) => {
  const found = monitorReportSections(report).find((s) => s.heading.startsWith(prefix));
  if (found === undefined)
    throw new Error(`no section starting with '${prefix}' in ${headings(report).join(" | ")}`);
  return found;
};
const trace = (figure: Figure | undefined, index: number) => {
  const t = figure?.data[index];
  if (t === undefined) throw new Error(`figure has no trace ${index}`);
  return t as { x: unknown[]; y: number[]; width?: number[]; name: string };
};

/** Markdown table cells, split on the pipes GitHub splits on (not on escaped ones). */
const cells = (row: string) =>
  row
    .slice(1, -1)
    .split(/(?<!\\)\|/)
    .map((c) => c.trim());

describe("monitorReportSections", () => {
  it("given drift in 2 of 3 columns, when rendered, then the verdict is a red banner that says so and lists the reasons", () => {
    const report = baseReport();
    report.verdict.reasons = ["dataset drift: 2 of 3 columns"];
    const verdict = monitorReportSections(report)[0]!;
    expect(verdict.heading).toBe("Verdict: action needed");
    expect(verdict.tone).toBe("bad");
    expect(verdict.text).toContain(
      "Dataset drift: yes: 2 of 3 columns drifted (66.7 %; dataset drift from 50.0 %).",
    );
    expect(verdict.text).toContain("Degraded: no (no labels given: concept drift not checked).");
    expect(verdict.text).toContain("Reasons: dataset drift: 2 of 3 columns.");
    expect(verdict.table?.rows).toContainEqual([
      "model",
      "credit-default v3 (models:/credit-default@champion)",
    ]);
  });

  it("given no drift, then the banner is green and says no drift, no degradation", () => {
    const report = baseReport([numericColumn("a"), numericColumn("b")]);
    const verdict = monitorReportSections(report)[0]!;
    expect(verdict).toMatchObject({ heading: "Verdict: no drift, no degradation", tone: "good" });
    expect(verdict.text).toContain("Dataset drift: no: 0 of 2 columns drifted (0.0 %;");
  });

  it("lists every column in the drift table, drifted first and the furthest past its threshold on top", () => {
    const report = baseReport();
    const table = section(report, "Drift by column").table!;
    expect(table.columns).toEqual([
      "column",
      "type",
      "test",
      "score",
      "threshold",
      "drift",
      "PSI (band)",
      "invalid",
      "out of range",
      "unseen",
      "exact",
    ]);
    // EDUCATION: p = 1e-7 against 0.05 (severity 5e5); PAY_0: 0.52 against 0.1 (5.2); LIMIT_BAL stable.
    expect(table.rows.map((r) => r[0])).toEqual(["EDUCATION", "PAY_0", "LIMIT_BAL"]);
    expect(table.rows[0]).toEqual([
      "EDUCATION",
      "categorical",
      "chi2",
      "1.00e-7",
      "0.05",
      "DRIFT",
      "0.3 (significant)",
      0,
      0,
      50,
      "yes",
    ]);
    expect(table.rows[1]?.slice(0, 7)).toEqual([
      "PAY_0",
      "numeric",
      "wasserstein",
      "0.52",
      "0.1",
      "DRIFT",
      "0.9 (significant)",
    ]);
    expect(table.rows[1]?.[8], "out of range").toBe(12);
    expect(table.rows[2]?.[5]).toBe("no");
  });

  it("given a multiple-testing correction, then the table shows the corrected p-values and says which correction", () => {
    const report = baseReport();
    report.drift.correction = "holm";
    report.drift.columns[2] = { ...report.drift.columns[2]!, adjustedPValue: 3e-7 };
    const drift = section(report, "Drift by column");
    expect(drift.table!.columns[7]).toBe("p adjusted (holm)");
    expect(drift.table!.rows[0]?.[7]).toBe("3.00e-7");
    expect(drift.table!.rows[1]?.[7], "distances have no p-value").toBe("–");
    expect(drift.text).toContain("p-values corrected for multiple testing (holm)");
    expect(section(report, "EDUCATION").heading).toBe("EDUCATION: drift (chi2 p = 3.00e-7 < 0.05)");
  });

  it("draws numeric columns as shares on the shared bin edges and categorical ones as bars per category", () => {
    const report = baseReport();
    const pay = section(report, "PAY_0: drift").figure;
    expect(trace(pay, 0)).toMatchObject({ name: "reference", x: [-2, 0, 2, 4], y: [0.5, 0.4, 0.1, 0] });
    expect(trace(pay, 1)).toMatchObject({ name: "current", y: [0, 0, 0.8, 0.2], width: [2, 2, 2, 4] });
    expect(section(report, "PAY_0").heading).toBe("PAY_0: drift (wasserstein 0.52 ≥ 0.1)");
    const education = section(report, "EDUCATION").figure;
    expect(trace(education, 0)).toMatchObject({ x: ["a", "b", "c"], y: [0.6, 0.4, 0] });
    expect(trace(education, 1)).toMatchObject({ x: ["a", "b", "c"], y: [0.2, 0.7, 0.1] });
    expect(section(report, "EDUCATION").heading).toBe("EDUCATION: drift (chi2 p = 1.00e-7 < 0.05)");
    // The figures follow the table's order: drifted first.
    const figures = headings(report).filter((h) => /^(EDUCATION|PAY_0|LIMIT_BAL):/.test(h));
    expect(figures.map((h) => h.split(":")[0])).toEqual(["EDUCATION", "PAY_0", "LIMIT_BAL"]);
  });

  it("shows reference and current moments side by side", () => {
    const table = section(baseReport(), "LIMIT_BAL").table!;
    expect(table.columns).toEqual(["", "reference", "current"]);
    expect(table.rows).toContainEqual(["missing", "0 (0.0 %)", "5 (1.0 %)"]);
    expect(table.rows).toContainEqual(["mean", "10", "10.1"]);
    expect(section(baseReport(), "EDUCATION").table!.rows).toContainEqual([
      "top categories",
      "a: 60.0 %, b: 40.0 %",
      "b: 70.0 %, a: 20.0 %",
    ]);
  });

  it("draws the 30 largest categories and sums the rest into one bar, so the shares still add up to 1", () => {
    const n = 40;
    const categories = Array.from({ length: n }, (_, i) => `c${i}`);
    const reference = categories.map((_, i) => (n - i) / ((n * (n + 1)) / 2));
    const current = [...reference].reverse();
    const report = baseReport([
      categoricalColumn("many", { plot: { kind: "bars", categories, reference, current } }),
    ]);
    const figure = section(report, "many").figure;
    const ref = trace(figure, 0);
    expect(ref.x).toHaveLength(MAX_CATEGORY_BARS + 1);
    expect(ref.x.at(-1)).toBe(`(${n - MAX_CATEGORY_BARS} other categories)`);
    const sum = (ys: number[]) => ys.reduce((a, b) => a + b, 0);
    expect(sum(ref.y)).toBeCloseTo(1, 12);
    expect(sum(trace(figure, 1).y)).toBeCloseTo(1, 12);
  });

  it("keeps the drift table complete but draws at most 60 column figures", () => {
    const columns = Array.from({ length: MAX_COLUMN_FIGURES + 5 }, (_, i) => numericColumn(`x${i}`));
    const sections = monitorReportSections(baseReport(columns));
    expect(section(baseReport(columns), "Drift by column").table!.rows).toHaveLength(MAX_COLUMN_FIGURES + 5);
    expect(sections.filter((s) => /^x\d+: /.test(s.heading))).toHaveLength(MAX_COLUMN_FIGURES);
    expect(section(baseReport(columns), "Columns").text).toBe(
      "Figures for 60 of 65 columns, drifted first; the drift table lists them all.",
    );
  });

  it("adds the predicted labels and the prediction score when the drift summary has predictions", () => {
    const report = baseReport();
    expect(headings(report).some((h) => h.startsWith("Predicted labels"))).toBe(false);
    report.drift.predictions = {
      labels: categoricalColumn("label", {
        plot: { kind: "bars", categories: ["0", "1"], reference: [0.78, 0.22], current: [0.6, 0.4] },
      }),
      score: numericColumn("p(1)", { test: "ks", pValue: 0.2, score: 0.2, threshold: 0.05 }),
    };
    expect(section(report, "Predicted labels").heading).toBe(
      "Predicted labels: drift (chi2 p = 1.00e-7 < 0.05)",
    );
    expect(trace(section(report, "Predicted labels").figure, 1).y).toEqual([0.6, 0.4]);
    const score = section(report, "Prediction score");
    expect(score.heading).toBe("Prediction score (p(1)): no drift (ks p = 0.2 ≥ 0.05)");
    expect(trace(score.figure, 0).x).toEqual([0, 5, 10, 15]);
  });

  it("reports text drift with the classifier's AUC, typical words, OOV shares and lengths", () => {
    const report = baseReport([textColumn("complaint"), numericColumn("amount")]);
    const text = section(report, "Text drift — complaint");
    expect(text.heading).toBe("Text drift — complaint: drift");
    expect(text.text).toContain(
      "A domain classifier told reference from current texts with ROC AUC 0.81 (drift above 0.55), trained on 800 reference and 400 current texts.",
    );
    expect(text.text).toContain("Words typical of current texts: refund, crypto.");
    expect(text.text).toContain("Words typical of reference texts: mortgage, escrow.");
    expect(text.table!.rows).toEqual([
      ["out-of-vocabulary tokens", "4.0 %", "12.0 %"],
      ["mean length (characters)", "61.5", "120.3"],
      ["missing", "3", "1"],
    ]);
    expect(trace(text.figure, 1).y).toEqual([0.2, 0.3, 0.5]);
    expect(section(report, "Drift by column").table!.rows[0]?.slice(0, 3)).toEqual([
      "complaint",
      "text",
      "domain classifier AUC",
    ]);
    // The text column has its own section, not a second generic one.
    expect(headings(report).filter((h) => h.includes("complaint"))).toHaveLength(1);
  });

  it("reports concept drift against the model's test metric, and the verdict says degraded", () => {
    const report = baseReport();
    report.concept = {
      metric: "roc_auc",
      reference: 0.78,
      current: 0.7,
      drop: 0.08,
      maxDrop: 0.05,
      degraded: true,
      labelled: 900,
      unlabelled: 100,
      metrics: { roc_auc: 0.7, accuracy: 0.81 },
    };
    report.verdict.degraded = true;
    const concept = section(report, "Concept drift");
    expect(concept).toMatchObject({ heading: "Concept drift: degraded", tone: "bad" });
    expect(concept.text).toBe(
      "roc_auc 0.7 against 0.78 at test: drop 0.08 > 0.05 allowed, on 900 labelled rows (100 without a label).",
    );
    expect(concept.table!.rows).toEqual([
      ["roc_auc", "0.7"],
      ["accuracy", "0.81"],
    ]);
    expect(monitorReportSections(report)[0]!.text).toContain("Degraded: yes (roc_auc 0.7 against 0.78");
  });

  it("reports the shadow comparison: agreement, probability difference, and the metric difference with its interval", () => {
    const report = baseReport();
    report.shadow = {
      champion: { name: "credit-default", version: "3" },
      challenger: { name: "credit-default", version: "4" },
      rows: 2000,
      agreement: 0.955,
      meanAbsProbabilityDiff: 0.031,
      metric: {
        name: "roc_auc",
        champion: 0.77,
        challenger: 0.79,
        difference: 0.02,
        ci: [0.005, 0.035],
        labelled: 1500,
      },
    };
    const shadow = section(report, "Shadow comparison");
    expect(shadow.heading).toBe("Shadow comparison: credit-default v4 against credit-default v3");
    expect(shadow.text).toContain(
      "credit-default v4 (challenger) against credit-default v3 (champion): same label on 95.5 % of 2,000 rows; mean |Δ probability| 0.031; roc_auc 0.79 vs 0.77, difference +0.02 [0.005, 0.035] on 1,500 labelled rows: challenger better",
    );
    expect(shadow.table!.rows).toContainEqual(["bootstrap interval", "[0.005, 0.035]"]);
    report.shadow.metric = { ...report.shadow.metric!, difference: -0.01, ci: [-0.03, 0.01] };
    expect(section(report, "Shadow comparison").text).toContain("no significant difference");
    // Lower is better for log_loss: a challenger whose loss is higher (difference above 0) is worse.
    report.shadow.metric = {
      ...report.shadow.metric!,
      name: "log_loss",
      difference: 0.53,
      ci: [0.526, 0.534],
    };
    expect(section(report, "Shadow comparison").text).toContain("challenger worse");
    report.shadow.metric = { ...report.shadow.metric!, name: "brier", difference: -0.05, ci: [-0.07, -0.03] };
    expect(section(report, "Shadow comparison").text).toContain("challenger better");
  });

  it("lists data-quality problems: invalid, out-of-range and unseen counts, and more missing values than the reference", () => {
    const report = baseReport();
    const quality = section(report, "Data quality");
    expect(quality.table!.rows).toEqual([
      ["EDUCATION", "0.0 %", "0.0 %", 0, 0, 50],
      ["PAY_0", "0.0 %", "0.0 %", 0, 12, 0],
      ["LIMIT_BAL", "0.0 %", "1.0 %", 0, 0, 0],
    ]);
    const clean = baseReport([
      numericColumn("a", { current: { rows: 500, missing: 0, mean: 1, std: 1, min: 1, max: 2 } }),
    ]);
    expect(section(clean, "Data quality").table).toBeUndefined();
    expect(section(clean, "Data quality").text).toContain("No invalid, out-of-range or unseen values");
  });

  it("refuses a histogram whose edges do not match its shares, naming the column", () => {
    const report = baseReport([
      numericColumn("broken", {
        plot: { kind: "histogram", edges: [0, 1], reference: [0.5, 0.5], current: [1] },
      }),
    ]);
    const error = thrownBy(() => monitorReportSections(report));
    expect(error.code).toBe("MONITOR_REPORT_INVALID");
    expect(error.message).toBe(
      "Cannot draw broken: a histogram needs one edge more than shares per side, got 2 edges, 2 reference and 1 current shares.",
    );
  });

  it("refuses bars whose shares do not match the categories", () => {
    const report = baseReport([
      categoricalColumn("cat", {
        plot: { kind: "bars", categories: ["a", "b"], reference: [1], current: [0.5, 0.5] },
      }),
    ]);
    const error = thrownBy(() => monitorReportSections(report));
    expect(error.code).toBe("MONITOR_REPORT_INVALID");
    expect(error.message).toBe(
      "Cannot draw cat: bars need one share per category on each side, got 2 categories, 1 reference and 2 current shares.",
    );
  });
});

describe("writeMonitorReport", () => {
  const evil = `<img src=x onerror=alert(1)><!--<script>"'&`;

  it("writes one self-contained page: plotly inlined once, a figure per column, no network", async () => {
    const file = await tmp.file("report.html", "");
    await writeMonitorReport(file, baseReport());
    const html = await readFile(file, "utf8");
    const bundle = await plotlyBundle();
    expect(html.split(bundle).length - 1, "plotly inlined once").toBe(1);
    expect(html).toContain("<title>Monitoring report: credit-default v3</title>");
    expect(html).toContain('<section class="tone-bad"><h2>Verdict: action needed</h2>');
    expect(html.match(/Plotly\.newPlot\(/g)).toHaveLength(3);
    expect(html.replace(bundle, "")).not.toMatch(/src=["']?https?:/);
  });

  it("escapes column and category names from the data everywhere: headings, tables and figures", async () => {
    const report = baseReport([
      numericColumn(evil, { drift: true, score: 0.5 }),
      categoricalColumn("city", {
        plot: { kind: "bars", categories: [evil, "b"], reference: [0.5, 0.5], current: [0.5, 0.5] },
      }),
    ]);
    report.verdict.reasons = [`column ${evil} drifted`];
    const html = (await renderHtmlReport("t", monitorReportSections(report))).replace(
      await plotlyBundle(),
      "",
    );
    expect(html, "the raw name never reaches the page").not.toContain("<img");
    expect(html).not.toContain("<!--");
    expect(html).toContain("&lt;img src=x onerror=alert(1)&gt;&lt;!--&lt;script&gt;&quot;&#39;&amp;");
    // Only our own scripts: the inlined bundle's and one per figure.
    const figures = (html.match(/Plotly\.newPlot\(/g) ?? []).length;
    expect((html.match(/<script>/g) ?? []).length).toBe(figures + 1);
    expect((html.match(/<\/script>/g) ?? []).length).toBe(figures + 1);
    // In the figures, the names are plotly text: entities that plotly prints literally.
    const payloads = [...html.matchAll(/var f=(.*?);Plotly\.newPlot/g)].map(
      (m) => JSON.parse(m[1]!) as Figure,
    );
    const titles = payloads.map((f) => (f.layout.title as { text: string }).text);
    expect(titles).toContain(plotlyText(evil));
    expect(plotlyText(evil)).toBe(`&lt;img src=x onerror=alert(1)&gt;&lt;!--&lt;script&gt;"'&amp;`);
    const city = payloads.find((f) => (f.layout.title as { text: string }).text === "city")!;
    expect((city.data[0] as { x: string[] }).x).toEqual([plotlyText(evil), "b"]);
  });
});

describe("monitorMarkdown", () => {
  it("says the verdict and lists the drifted columns, most severe first", () => {
    const markdown = monitorMarkdown(baseReport());
    const lines = markdown.split("\n");
    expect(lines[0]).toBe("### Monitoring `credit-default v3`: action needed");
    expect(markdown).toContain(
      "- Dataset drift: **yes**: 2 of 3 columns drifted (66.7 %; dataset drift from 50.0 %)",
    );
    expect(markdown).toContain("- Degraded: **no** (no labels given)");
    expect(markdown).toContain(
      "- Current: 500 rows of `/tmp/current.csv` against 1,000 reference rows (train split)",
    );
    const table = lines.filter((l) => l.startsWith("| `"));
    expect(table).toEqual([
      "| `EDUCATION` | categorical | chi2 | 1.00e-7 | 0.05 | 0.3 (significant) | 0 / 0 / 50 |",
      "| `PAY_0` | numeric | wasserstein | 0.52 | 0.1 | 0.9 (significant) | 0 / 12 / 0 |",
    ]);
    expect(markdown.endsWith("\n")).toBe(true);
  });

  it("has no table when nothing drifted", () => {
    const markdown = monitorMarkdown(baseReport([numericColumn("a")]));
    expect(markdown).toContain("### Monitoring `credit-default v3`: no drift, no degradation");
    expect(markdown).not.toContain("| column |");
  });

  it("lists the top 20 of 25 drifted columns and says so", () => {
    const columns = Array.from({ length: 25 }, (_, i) =>
      numericColumn(`x${i}`, { drift: true, score: 0.2 + i / 100 }),
    );
    const markdown = monitorMarkdown(baseReport(columns));
    const rows = markdown.split("\n").filter((l) => l.startsWith("| `"));
    expect(rows).toHaveLength(20);
    expect(rows[0]).toContain("`x24`");
    expect(markdown).toContain("Top 20 of 25 drifted columns; the HTML report lists them all.");
  });

  it("escapes table pipes, backticks, HTML and line breaks in names from the data", () => {
    const name = "a|b`c<b>\nd";
    const markdown = monitorMarkdown(baseReport([numericColumn(name, { drift: true, score: 0.5 })]));
    const row = markdown.split("\n").find((l) => l.startsWith("| ``"));
    expect(row, markdown).toBeDefined();
    expect(cells(row!), "7 cells: the pipe in the name does not split the row").toHaveLength(7);
    expect(cells(row!)[0]).toBe("``a\\|b`c<b> d``");
    expect(markdownCode("`x`")).toBe("`` `x` ``");
    expect(markdownCode("")).toBe("`  `");
  });

  it("escapes Markdown in free text: reasons and predictions comparisons", () => {
    const report = baseReport();
    report.verdict.reasons = ["**bold** <img src=x> [link](http://x) | pipe"];
    const markdown = monitorMarkdown(report);
    expect(markdown).toContain("- Reasons: \\*\\*bold\\*\\* \\<img src=x\\> \\[link\\](http://x) \\| pipe");
    expect(markdownText("a_b\nc")).toBe("a\\_b c");
  });

  it("adds the predictions, concept and shadow lines when present", () => {
    const report = baseReport();
    report.drift.predictions = {
      labels: categoricalColumn("label"),
      score: numericColumn("p(1)", { test: "ks", pValue: 0.2, score: 0.2, threshold: 0.05 }),
    };
    report.concept = {
      metric: "roc_auc",
      reference: 0.78,
      current: 0.77,
      drop: 0.01,
      maxDrop: 0.05,
      degraded: false,
      labelled: 10,
      unlabelled: 0,
      metrics: { roc_auc: 0.77 },
    };
    report.shadow = {
      champion: { name: "m", version: "1" },
      challenger: { name: "m", version: "2" },
      rows: 10,
      agreement: 0.9,
      meanAbsProbabilityDiff: 0.05,
    };
    const markdown = monitorMarkdown(report);
    expect(markdown).toContain(
      "- Predictions: labels **drift** (chi2 p = 1.00e-7 \\< 0.05), score no drift (ks p = 0.2 ≥ 0.05)",
    );
    expect(markdown).toContain(
      "- Degraded: **no**: roc\\_auc 0.77 against 0.78 at test: drop 0.01 ≤ 0.05 allowed, on 10 labelled rows (0 without a label)",
    );
    expect(markdown).toContain(
      "- Shadow: m v2 (challenger) against m v1 (champion): same label on 90.0 % of 10 rows; mean |Δ probability| 0.05".replace(
        /\|/g,
        "\\|",
      ),
    );
  });
});

describe("monitor-format", () => {
  it("formats numbers for people and orders columns by how far past the threshold they are", () => {
    expect(
      [0, 3, 0.123456, 1.5e-7, Number.NaN, undefined, Number.POSITIVE_INFINITY, 2.5e7, 163312.4, -1234.5].map(
        formatNumber,
      ),
    ).toEqual(["0", "3", "0.1235", "1.50e-7", "–", "–", "∞", "25,000,000", "163,312", "-1,234"]);
    const columns: ColumnDrift[] = [
      numericColumn("stable"),
      numericColumn("far", { drift: true, score: 0.9 }),
      categoricalColumn("zero-p", { score: 0, pValue: 0 }),
      numericColumn("near", { drift: true, score: 0.11 }),
    ];
    expect(driftOrder(columns).map((c) => c.column)).toEqual(["zero-p", "far", "near", "stable"]);
  });
});
