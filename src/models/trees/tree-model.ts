// The Model seam for the tree kinds (gbdt, random-forest, decision-tree): input checks, prediction, files,
// summary and gain-based importance around a flat Ensemble; the kind only supplies its training function.
// A gbdt with native categorical features reads the one-hot groups of its input as category columns: the model
// keeps the groups (saved in trees.json), turns every input X into X' (categorical.ts) and reports importance
// under X' names (a group under its column name).

import type { FeatureMatrix, OneHotGroup } from "../../features/preprocessor.js";
import { WorkbenchError } from "../../shared/errors.js";
import { checkFitData } from "../fit-checks.js";
import type { FeatureImportance, FitData, FitOptions, FitResult, Model, ModelShape } from "../model.js";
import type { TrainedTrees } from "./boosting.js";
import { type CategoricalLayout, categoricalLayout, toCategorical } from "./categorical.js";
import { type Ensemble, ensembleSummary, featureGains, loadEnsemble, saveEnsemble } from "./ensemble.js";
import { predictEnsemble } from "./predict.js";

export type TreeTrainer = (data: FitData, options: FitOptions) => Promise<TrainedTrees>;

export class TreeModel implements Model {
  private trained: Ensemble | undefined;
  private kept = 0;
  /** The X → X' layout of a model with native categorical groups (undefined: the trees read X). */
  private layout: CategoricalLayout | undefined;

  constructor(
    readonly kind: string,
    private readonly shape: ModelShape,
    private readonly trainer: TreeTrainer,
    /** What one iteration is (for summary()): "rounds" or "trees". */
    private readonly unit: string,
    loaded?: { ensemble: Ensemble; kept: number; groups?: OneHotGroup[] },
  ) {
    if (loaded !== undefined) {
      const layout = this.layoutOf(loaded.groups ?? []);
      this.check(loaded.ensemble, layout);
      this.trained = loaded.ensemble;
      this.kept = loaded.kept;
      this.layout = layout;
    }
  }

  private layoutOf(groups: readonly OneHotGroup[]): CategoricalLayout | undefined {
    return groups.length === 0 ? undefined : categoricalLayout(this.shape.featureNames, groups);
  }

  private check(e: Ensemble, layout: CategoricalLayout | undefined): void {
    const features = layout?.cols ?? this.shape.featureNames.length;
    if (e.features !== features || e.classes !== this.shape.classes.length)
      throw new WorkbenchError(
        "TREE_MODEL_INVALID",
        `${this.kind}: the saved trees take ${e.features} features and ${e.classes} classes; the package declares ${features}${layout === undefined ? "" : ` (${this.shape.featureNames.length} with ${layout.groups.length} categorical groups)`} and ${this.shape.classes.length}.`,
      );
    for (let f = 0; f < e.features; f++) {
      const m = layout?.categories[f] ?? 0;
      if (e.categories[f] !== m)
        throw new WorkbenchError(
          "TREE_MODEL_INVALID",
          `${this.kind}: feature ${f} of the saved trees has ${e.categories[f]} categories; its categorical groups give ${m}.`,
        );
    }
  }

  /** The one-hot groups the model reads as categorical columns (empty for a one-hot model). */
  get groups(): OneHotGroup[] {
    return this.layout?.groups ?? [];
  }

  /** Names of the columns the trees split on: the input's, with each categorical group as one column. */
  get treeFeatureNames(): string[] {
    return this.layout?.featureNames ?? this.shape.featureNames;
  }

  /** The trained ensemble (for tests and tools). */
  get ensemble(): Ensemble {
    if (this.trained === undefined)
      throw new WorkbenchError(
        "MODEL_NOT_TRAINED",
        `${this.kind}: the model is not trained (or was disposed).`,
      );
    return this.trained;
  }

  async fit(data: FitData, options: FitOptions): Promise<FitResult> {
    checkFitData(this.kind, "TREE_TRAIN_DATA_INVALID", data, this.shape);
    const { ensemble, result, kept, groups } = await this.trainer(data, options);
    const layout = this.layoutOf(groups ?? []);
    this.check(ensemble, layout);
    this.trained = ensemble;
    this.kept = kept;
    this.layout = layout;
    return result;
  }

  predict(x: FeatureMatrix): Float32Array {
    const input = this.layout === undefined ? x : toCategorical(this.layout, x);
    return predictEnsemble(this.ensemble, input);
  }

  async save(dir: string): Promise<void> {
    await saveEnsemble(dir, this.kind, this.ensemble, { kept: this.kept }, this.groups);
  }

  dispose(): void {
    this.trained = undefined;
  }

  summary(): Record<string, number | string | boolean> {
    const s = ensembleSummary(this.ensemble);
    return { [this.unit]: this.kept, trees: s.trees, nodes: s.nodes, leaves: s.leaves, maxDepth: s.maxDepth };
  }

  /** Total split gain and split count per input feature, largest gain first (features never used included). */
  importance(): FeatureImportance[] {
    const { gain, splits } = featureGains(this.ensemble);
    return this.treeFeatureNames
      .map((feature, f) => ({ feature, gain: gain[f]!, splits: splits[f]! }))
      .sort((a, b) => b.gain - a.gain || a.feature.localeCompare(b.feature));
  }
}

/** Loads a TreeModel saved by TreeModel.save. */
export async function loadTreeModel(
  dir: string,
  kind: string,
  shape: ModelShape,
  trainer: TreeTrainer,
  unit: string,
): Promise<TreeModel> {
  const { ensemble, header } = await loadEnsemble(dir, kind);
  const kept = typeof header.info?.kept === "number" ? header.info.kept : ensemble.roots.length;
  return new TreeModel(kind, shape, trainer, unit, { ensemble, kept, groups: header.groups ?? [] });
}
