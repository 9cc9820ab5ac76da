import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { createMetrics } from "../../../src/serving/metrics.js";
import { projectRoot } from "../../../src/shared/project.js";
import { tempDir } from "../../helpers/temp.js";

// The Grafana dashboard and the Prometheus alert rules name the service's metrics by string: a metric or label
// renamed in src/serving/metrics.ts must break this test, not a dashboard in production.
const exec = promisify(execFile);
const deploy = path.join(projectRoot(), "deploy");
const tmp = tempDir("wb-dashboard-");
/** Grafana's reference to the dashboard's `datasource` variable (a literal `${…}`, not a template string). */
const DATASOURCE_VARIABLE = ["$", "{datasource}"].join("");

/** Metric name → its label names, as the service exposes them (histograms: _bucket with le, _sum, _count). */
function exposedMetrics(): Map<string, Set<string>> {
  const metrics = createMetrics();
  afterAll(() => metrics.close());
  const exposed = new Map<string, Set<string>>();
  for (const metric of metrics.registry.getMetricsAsArray()) {
    const { name, type, labelNames } = metric as unknown as {
      name: string;
      type: string;
      labelNames: string[];
    };
    if (type === "histogram") {
      exposed.set(`${name}_bucket`, new Set([...labelNames, "le"]));
      exposed.set(`${name}_sum`, new Set(labelNames));
      exposed.set(`${name}_count`, new Set(labelNames));
    } else exposed.set(name, new Set(labelNames));
  }
  // Prometheus's own per-target series.
  exposed.set("up", new Set());
  return exposed;
}

/** Labels every scraped series carries (the scrape target's). */
const TARGET_LABELS = new Set(["job", "instance"]);
const KEYWORDS = new Set(["and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring"]);
const GROUPING = /\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g;

interface Selector {
  metric: string;
  labels: string[];
}

/**
 * The metric selectors of a PromQL expression (Grafana's $variables replaced): every metric it reads with the
 * labels it matches on, and the labels it groups or joins by.
 */
function promqlNames(expr: string): { selectors: Selector[]; grouping: string[] } {
  let text = expr
    .replace(/\$__rate_interval|\$__interval|\$__range/g, "5m")
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""');
  const selectors: Selector[] = [];
  text = text.replace(/([a-zA-Z_:][\w:]*)?\s*\{([^}]*)\}/g, (_, metric: string | undefined, body: string) => {
    const labels = [...body.matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/g)].map((m) => m[1]!);
    const name = metric !== undefined && !KEYWORDS.has(metric) ? metric : undefined;
    if (name === undefined) throw new Error(`a selector without a metric name in: ${expr}`);
    selectors.push({ metric: name, labels });
    return " ";
  });
  const grouping: string[] = [];
  text = text.replace(GROUPING, (_, _kind: string, list: string) => {
    grouping.push(
      ...list
        .split(",")
        .map((l) => l.trim())
        .filter((l) => l !== ""),
    );
    return " ";
  });
  text = text.replace(/\[[^\]]*\]/g, " ").replace(/\b\d+(?:\.\d+)?(?:e[+-]?\d+)?\b/gi, " ");
  // What is left: functions (followed by "("), keywords, and bare metric names.
  for (const m of text.matchAll(/([a-zA-Z_:][\w:]*)(\s*\()?/g))
    if (m[2] === undefined && !KEYWORDS.has(m[1]!) && !/^(inf|nan)$/i.test(m[1]!))
      selectors.push({ metric: m[1]!, labels: [] });
  return { selectors, grouping };
}

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: string; uid: string };
  targets?: { expr: string; datasource?: { uid: string }; refId: string }[];
  panels?: Panel[];
}
interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: { name: string; type: string; query: unknown }[] };
}

const exposed = exposedMetrics();

/** Every problem with an expression's names, as readable lines (empty when all names exist). */
function unknownNames(where: string, expr: string): string[] {
  const { selectors, grouping } = promqlNames(expr);
  const problems: string[] = [];
  const labelsOfExpr = new Set(TARGET_LABELS);
  if (selectors.length === 0) problems.push(`${where}: no metric in ${expr}`);
  for (const { metric, labels } of selectors) {
    const known = exposed.get(metric);
    if (known === undefined) {
      problems.push(`${where}: ${metric} is not a metric of src/serving/metrics.ts`);
      continue;
    }
    for (const label of known) labelsOfExpr.add(label);
    for (const label of labels)
      if (!known.has(label) && !TARGET_LABELS.has(label))
        problems.push(`${where}: ${metric} has no label '${label}'`);
  }
  for (const label of grouping)
    if (!labelsOfExpr.has(label))
      problems.push(`${where}: no metric of the expression has the label '${label}'`);
  return problems;
}

async function readDashboard(): Promise<Dashboard> {
  return JSON.parse(
    await readFile(path.join(deploy, "grafana", "workbench-dashboard.json"), "utf8"),
  ) as Dashboard;
}
const flat = (panels: Panel[]): Panel[] => panels.flatMap((p) => [p, ...flat(p.panels ?? [])]);

async function alertRules(): Promise<
  { alert: string; expr: string; labels?: Record<string, string>; annotations?: Record<string, string> }[]
> {
  const rules = parse(await readFile(path.join(deploy, "prometheus", "alerts.yml"), "utf8")) as {
    groups: {
      rules: {
        alert: string;
        expr: string;
        labels?: Record<string, string>;
        annotations?: Record<string, string>;
      }[];
    }[];
  };
  return rules.groups.flatMap((g) => g.rules);
}

function onPath(command: string): boolean {
  return (process.env.PATH ?? "").split(path.delimiter).some((dir) => existsSync(path.join(dir, command)));
}

describe("PromQL names", () => {
  it("finds the metrics, matchers and grouping labels of an expression", () => {
    expect(
      promqlNames(
        'sum by (feature) (rate(workbench_feature_violations_total{job="serving", reason=~"a|b"}[$__rate_interval])) / on() group_left() sum(rate(workbench_rows_scored_total[5m])) > 0.01',
      ),
    ).toEqual({
      selectors: [
        { metric: "workbench_feature_violations_total", labels: ["job", "reason"] },
        { metric: "workbench_rows_scored_total", labels: [] },
      ],
      grouping: ["feature"],
    });
    expect(
      promqlNames("time() - max(workbench_drift_last_check_timestamp_seconds) and up == 1e-3").selectors,
    ).toEqual([
      { metric: "workbench_drift_last_check_timestamp_seconds", labels: [] },
      { metric: "up", labels: [] },
    ]);
  });

  it("reports a renamed metric, an unknown label and a grouping label no metric has", () => {
    expect(unknownNames("t", 'rate(workbench_requests_total{job="serving"}[5m])')).toEqual([
      "t: workbench_requests_total is not a metric of src/serving/metrics.ts",
    ]);
    expect(unknownNames("t", 'workbench_feature_drift{feature="a", column="b"}')).toEqual([
      "t: workbench_feature_drift has no label 'column'",
    ]);
    expect(unknownNames("t", "sum by (route) (workbench_drift_share)")).toEqual([
      "t: no metric of the expression has the label 'route'",
    ]);
    expect(
      unknownNames(
        "t",
        'histogram_quantile(0.99, sum by (le, route) (rate(workbench_http_request_duration_seconds_bucket{status="200"}[5m])))',
      ),
    ).toEqual([]);
  });
});

describe("deploy/grafana/workbench-dashboard.json", () => {
  it("is a Grafana dashboard (schema 38+) with a Prometheus data source variable that every panel and query uses", async () => {
    const dashboard = await readDashboard();
    expect(dashboard.uid).toBe("workbench-serving");
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(38);
    const variable = dashboard.templating.list.find((v) => v.type === "datasource");
    expect(variable, "a datasource variable").toMatchObject({ name: "datasource", query: "prometheus" });
    const panels = flat(dashboard.panels).filter((p) => p.type !== "row");
    expect(new Set(flat(dashboard.panels).map((p) => p.id)).size, "unique panel ids").toBe(
      flat(dashboard.panels).length,
    );
    for (const panel of panels) {
      expect(panel.datasource, panel.title).toEqual({ type: "prometheus", uid: DATASOURCE_VARIABLE });
      expect(panel.targets?.length, `${panel.title} has queries`).toBeGreaterThan(0);
      for (const t of panel.targets ?? [])
        expect(t.datasource?.uid, `${panel.title} ${t.refId}`).toBe(DATASOURCE_VARIABLE);
      const { x, w } = panel.gridPos;
      expect(x + w, `${panel.title} fits the 24-column grid`).toBeLessThanOrEqual(24);
    }
    // No two panels on the same cells.
    const cells = new Set<string>();
    for (const { title, gridPos: g } of flat(dashboard.panels))
      for (let y = g.y; y < g.y + g.h; y++)
        for (let x = g.x; x < g.x + g.w; x++) {
          expect(cells.has(`${x},${y}`), `${title} overlaps another panel at ${x},${y}`).toBe(false);
          cells.add(`${x},${y}`);
        }
  });

  it("has the panels the service's signals need", async () => {
    const titles = flat((await readDashboard()).panels).map((p) => p.title);
    for (const title of [
      "Request rate",
      "Error rate",
      "Latency p50 / p99 (scoring routes)",
      "Rows scored",
      "Prediction classes",
      "Prediction score distribution",
      "Input-check violations per feature",
      "Out of range per feature",
      "Drift share and dataset drift",
      "Per-feature drift scores",
      "Shadow disagreement",
      "Model version served",
      "Event-loop delay (max per scrape)",
      "Resident memory",
    ])
      expect(titles).toContain(title);
  });

  it("queries only metrics and labels that src/serving/metrics.ts exposes", async () => {
    const panels = flat((await readDashboard()).panels);
    const exprs = panels.flatMap((p) =>
      (p.targets ?? []).map((t) => ({ where: `${p.title} ${t.refId}`, expr: t.expr })),
    );
    expect(exprs.length).toBeGreaterThan(15);
    expect(exprs.flatMap(({ where, expr }) => unknownNames(where, expr))).toEqual([]);
  });

  it.skipIf(!onPath("promtool"))(
    "every query is valid PromQL (promtool, Grafana's variables substituted)",
    async () => {
      const panels = flat((await readDashboard()).panels);
      const rules = panels.flatMap((p, i) =>
        (p.targets ?? []).map((t) => ({
          record: `dashboard:panel${i}:${t.refId}`,
          expr: t.expr.replace(/\$__rate_interval/g, "1m").replace(/\$instance/g, ".*"),
        })),
      );
      const file = await tmp.file(
        "dashboard-rules.yml",
        stringify({ groups: [{ name: "dashboard", rules }] }),
      );
      const { stdout } = await exec("promtool", ["check", "rules", file]);
      expect(stdout).toContain(`SUCCESS: ${rules.length} rules found`);
    },
  );
});

describe("deploy/prometheus/alerts.yml", () => {
  it("every rule reads metrics and labels the service exposes, has a severity and a summary", async () => {
    const rules = await alertRules();
    expect(rules.map((r) => r.alert)).toEqual(
      expect.arrayContaining([
        "ServingHighLatencyP99",
        "ServingDataQuality",
        "ServingOutOfRange",
        "ServingDatasetDrift",
        "ServingFeatureDrift",
        "ServingShadowDisagreement",
      ]),
    );
    expect(rules.flatMap((r) => unknownNames(r.alert, r.expr))).toEqual([]);
    for (const rule of rules) {
      expect(["page", "ticket"], `${rule.alert} severity`).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary, `${rule.alert} summary`).toBeTruthy();
    }
  });

  it("the promtool unit tests feed series the service exposes", async () => {
    const tests = parse(await readFile(path.join(deploy, "prometheus", "alerts.test.yml"), "utf8")) as {
      tests: { input_series: { series: string }[] }[];
    };
    const series = tests.tests.flatMap((t) => t.input_series.map((s) => s.series));
    expect(series.length).toBeGreaterThan(10);
    expect(series.flatMap((s) => unknownNames("alerts.test.yml", s))).toEqual([]);
  });
});
