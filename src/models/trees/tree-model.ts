// The Model seam for the tree kinds (gbdt, random-forest, decision-tree): input checks, prediction, files,
// summary and gain-based importance around a flat Ensemble; the kind only supplies its training function.

import type { FeatureMatrix } from "../../features/preprocessor.js";
import { WorkbenchError } from "../../shared/errors.js";
import { checkFitData } from "../fit-checks.js";
import type { FeatureImportance, FitData, FitOptions, FitResult, Model, ModelShape } from "../model.js";
import type { TrainedTrees } from "./boosting.js";
import {
  type Ensemble,
  ensembleSummary,
  featureGains,
  loadEnsemble,
  predictEnsemble,
  saveEnsemble,
} from "./ensemble.js";

export type TreeTrainer = (data: FitData, options: FitOptions) => Promise<TrainedTrees>;

export class TreeModel implements Model {
  private trained: Ensemble | undefined;
  private kept = 0;

  constructor(
    readonly kind: string,
    private readonly shape: ModelShape,
    private readonly trainer: TreeTrainer,
    /** What one iteration is (for summary()): "rounds" or "trees". */
    private readonly unit: string,
    loaded?: { ensemble: Ensemble; kept: number },
  ) {
    if (loaded !== undefined) {
      this.check(loaded.ensemble);
      this.trained = loaded.ensemble;
      this.kept = loaded.kept;
    }
  }

  private check(e: Ensemble): void {
    if (e.features !== this.shape.featureNames.length || e.classes !== this.shape.classes.length)
      throw new WorkbenchError(
        "TREE_MODEL_INVALID",
        `${this.kind}: the saved trees take ${e.features} features and ${e.classes} classes; the package declares ${this.shape.featureNames.length} and ${this.shape.classes.length}.`,
      );
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
    const { ensemble, result, kept } = await this.trainer(data, options);
    this.trained = ensemble;
    this.kept = kept;
    return result;
  }

  predict(x: FeatureMatrix): Float32Array {
    return predictEnsemble(this.ensemble, x);
  }

  async save(dir: string): Promise<void> {
    await saveEnsemble(dir, this.kind, this.ensemble, { kept: this.kept });
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
    return this.shape.featureNames
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
  return new TreeModel(kind, shape, trainer, unit, { ensemble, kept });
}
