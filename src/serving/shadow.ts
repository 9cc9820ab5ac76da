import type { SignatureColumn } from "../registry/signature.js";
import { ConfigError, errorMessage, WorkbenchError } from "../shared/errors.js";
import type { Logger } from "../shared/logger.js";
import { silentLogger } from "../shared/logger.js";
import type { MlflowClient } from "../tracking/client.js";
import { clipName, type InputMode, rowsToTable, type SchemaEnforcement } from "./input.js";
import type { ServiceMetrics } from "./metrics.js";
import { ModelHolder } from "./model-holder.js";
import type { PredictionRecord } from "./prediction-log.js";
import type { Prediction, Predictor } from "./predictor.js";

/** The challenger's part of a prediction-log record. */
export type ShadowRecord = NonNullable<PredictionRecord["shadow"]>;

export interface ShadowOptions {
  /** Share of successful scoring requests the challenger also scores, in (0, 1]. */
  share: number;
  /** Draws the share (tests inject it). */
  random?: () => number;
  logger?: Logger;
}

/** What /health and /model say about the shadow. */
export interface ShadowInfo {
  uri: string;
  name: string;
  version: string | undefined;
  alias: string | undefined;
  runId: string | undefined;
  share: number;
  /** `active`, or why the challenger scores nothing at the moment. */
  status: string;
}

function describeColumn(c: SignatureColumn): string {
  return `${c.type}${c.text !== undefined ? " text" : ""}, ${c.required ? "required" : "optional"}`;
}

/**
 * Why `challenger` cannot shadow `champion` (undefined when it can): a shadow must predict the same classes from
 * the same input columns (name, type, required, text or not), so that every request the champion accepts is one
 * the challenger reads the same way and the two answers compare label by label.
 */
export function shadowIncompatibility(champion: Predictor, challenger: Predictor): string | undefined {
  const reasons: string[] = [];
  const a = [...champion.classes].sort();
  const b = [...challenger.classes].sort();
  if (a.length !== b.length || a.some((c, i) => c !== b[i]))
    reasons.push(`its classes [${b.join(", ")}] differ from the champion's [${a.join(", ")}]`);
  const mine = new Map(champion.model.meta.inputs.map((c) => [c.name, c]));
  const theirs = new Map(challenger.model.meta.inputs.map((c) => [c.name, c]));
  const lacks = [...mine.keys()].filter((n) => !theirs.has(n));
  const adds = [...theirs.keys()].filter((n) => !mine.has(n));
  const list = (names: string[]) =>
    `${names.slice(0, 10).map(clipName).join(", ")}${names.length > 10 ? `, … (${names.length} in all)` : ""}`;
  if (lacks.length > 0)
    reasons.push(`it lacks the input column${lacks.length === 1 ? "" : "s"} ${list(lacks)}`);
  if (adds.length > 0)
    reasons.push(`it has input column${adds.length === 1 ? "" : "s"} the champion has not: ${list(adds)}`);
  const changed = [...mine.values()].flatMap((c) => {
    const other = theirs.get(c.name);
    return other !== undefined && describeColumn(c) !== describeColumn(other)
      ? [`${clipName(c.name)} is ${describeColumn(c)} for the champion, ${describeColumn(other)} for it`]
      : [];
  });
  if (changed.length > 0)
    reasons.push(
      `${changed.slice(0, 5).join("; ")}${changed.length > 5 ? `; … (${changed.length} columns)` : ""}`,
    );
  return reasons.length === 0 ? undefined : reasons.join("; ");
}

function named(p: Predictor): string {
  return `${p.origin.name}${p.origin.version ? ` version ${p.origin.version}` : ""}`;
}

/**
 * Shadow (A/B) scoring: a challenger, loaded beside the champion in its own ModelHolder (following its alias as
 * the champion does), scores a share of the requests after the champion's answer was sent. Its outputs go into
 * the prediction-log record as `shadow`; requests, rows, disagreements (rows whose label differs) and failures
 * are counted. A challenger failure never reaches the client: the answer is the champion's, already sent.
 */
export class Shadow {
  private problem: string | undefined;
  private readonly random: () => number;
  private readonly logger: Logger;

  constructor(
    readonly holder: ModelHolder,
    private readonly champion: () => Predictor,
    private readonly metrics: ServiceMetrics,
    private readonly options: ShadowOptions,
  ) {
    if (!(options.share > 0 && options.share <= 1))
      throw new ConfigError(
        `The shadow share ${options.share} must be in (0, 1]: the share of requests the challenger also scores.`,
        { code: "SHADOW_SHARE_INVALID" },
      );
    this.random = options.random ?? Math.random;
    this.logger = options.logger ?? silentLogger();
    const reason = shadowIncompatibility(champion(), holder.current);
    if (reason !== undefined)
      throw new WorkbenchError(
        "SHADOW_INCOMPATIBLE",
        `${named(holder.current)} (${holder.current.origin.uri}) cannot shadow ${named(champion())}: ${reason}. A shadow must predict the same classes from the same inputs; pick a challenger trained on the same dataset manifest.`,
        { details: { champion: champion().origin.uri, challenger: holder.current.origin.uri } },
      );
    holder.onSwap = () => this.recheck();
  }

  /** Loads the challenger (`uri` as `--model` takes it) and checks it against the champion. */
  static async load(
    uri: string,
    client: MlflowClient | undefined,
    champion: () => Predictor,
    metrics: ServiceMetrics,
    options: ShadowOptions,
  ): Promise<Shadow> {
    const holder = await ModelHolder.load(uri, client, options.logger);
    try {
      return new Shadow(holder, champion, metrics, options);
    } catch (error) {
      holder.current.retire();
      throw error;
    }
  }

  /** Checks the pair again after either side was hot-swapped; an incompatible pair pauses the shadow. */
  recheck(): void {
    const champion = this.champion();
    const challenger = this.holder.current;
    const reason = shadowIncompatibility(champion, challenger);
    const same =
      challenger.origin.name === champion.origin.name &&
      challenger.origin.version !== undefined &&
      challenger.origin.version === champion.origin.version;
    const problem =
      reason !== undefined
        ? `paused: ${named(challenger)} cannot shadow ${named(champion)}: ${reason}`
        : same
          ? `paused: the challenger is the champion's version (${challenger.origin.version})`
          : undefined;
    if (problem !== this.problem) {
      if (problem !== undefined) this.logger.warn({ reason: problem }, "shadow paused");
      else this.logger.info({ challenger: challenger.origin.version }, "shadow active");
    }
    this.problem = problem;
  }

  /** Whether this request is one of the share the challenger scores. */
  pick(): boolean {
    return this.problem === undefined && this.random() < this.options.share;
  }

  get info(): ShadowInfo {
    const o = this.holder.current.origin;
    return {
      uri: o.uri,
      name: o.name,
      version: o.version,
      alias: o.alias,
      runId: o.runId,
      share: this.options.share,
      status: this.problem ?? "active",
    };
  }

  /** What /health says: which challenger, how much of the traffic, and whether it is scoring. */
  get summary(): Pick<ShadowInfo, "name" | "version" | "share" | "status"> {
    const { name, version, share, status } = this.info;
    return { name, version, share, status };
  }

  /**
   * Scores the rows the champion scored (`champion`: its predictions) with the challenger, reading them as the
   * champion's request did; counts the request, and its rows' disagreements. Failures are counted and logged,
   * never thrown: undefined then.
   */
  score(
    rows: readonly Record<string, unknown>[],
    mode: InputMode,
    enforcement: SchemaEnforcement,
    champion: readonly Prediction[],
    requestId: string,
  ): ShadowRecord | undefined {
    const challenger = this.holder.current;
    try {
      const { inputs } = challenger.model.meta;
      const checked = rowsToTable(rows, inputs, challenger.model.preprocessor, mode, {
        maxProblems: 3,
        enforcement,
      });
      if (checked.problemCount > 0) {
        const first = checked.problems[0]!;
        throw new WorkbenchError(
          "SHADOW_INPUT_REFUSED",
          `the challenger refused ${checked.problemCount} field${checked.problemCount === 1 ? "" : "s"} the champion accepted (row ${first.row}, ${clipName(first.field)}: ${first.problem})`,
        );
      }
      const outputs = challenger.score(checked.table);
      const version = challenger.origin.version ?? "local";
      let disagreements = 0;
      for (let i = 0; i < outputs.length; i++) if (outputs[i]!.label !== champion[i]?.label) disagreements++;
      this.metrics.shadowRequests.inc({ version });
      this.metrics.shadowRows.inc({ version }, outputs.length);
      if (disagreements > 0) this.metrics.shadowDisagreements.inc({ version }, disagreements);
      return { model: { name: challenger.origin.name, version: challenger.origin.version }, outputs };
    } catch (error) {
      this.metrics.shadowErrors.inc();
      this.logger.warn(
        { requestId, challenger: challenger.origin.version, err: errorMessage(error) },
        "shadow scoring failed (the champion's answer was not affected)",
      );
      return undefined;
    }
  }
}
