// Native categorical features for gbdt: the one-hot groups of the preprocessor's matrix X become one column
// each in the matrix X' the trees are trained on and read.
//
// X' = the columns of X outside every group, in their order, then one column per group (group order) holding
// the category index 0 … size − 1: the position of the group's hot column (the first one > 0.5; the last index
// is the group's `name=__unknown__` column), NaN when no column of the group is hot. A tree then splits a group
// on a set of categories (binning.ts gives every category its own bin, split.ts finds the set) instead of one
// category at a time. Groups with more than MAX_CATEGORIES columns stay one-hot (a bin code is one byte).
import { type FeatureMatrix, type OneHotGroup, oneHotGroups } from "../../features/preprocessor.js";
import { WorkbenchError } from "../../shared/errors.js";

/** Most categories a native group may have: bins 0 … 254 plus the missing bin 255 fit a byte. */
export const MAX_CATEGORIES = 255;

/** How X maps to X'. */
export interface CategoricalLayout {
  groups: OneHotGroup[];
  /** Columns of X. */
  inputCols: number;
  /** Columns of X'. */
  cols: number;
  /** Names of X' columns: the kept names of X, then the group names. */
  featureNames: string[];
  /** Per X' column: 0 (numeric) or the group's number of categories. */
  categories: Int32Array;
  /** Per X' column before the groups: the X column it copies. */
  source: Int32Array;
}

/** The groups of a feature list that gbdt treats natively (at most MAX_CATEGORIES columns each). */
export function nativeGroups(featureNames: readonly string[]): OneHotGroup[] {
  return oneHotGroups(featureNames).filter((g) => g.size <= MAX_CATEGORIES);
}

/**
 * The X → X' layout for `groups` of `featureNames` (as nativeGroups returns them, or as a model saved them).
 * Throws TREE_MODEL_INVALID when a group does not fit the names: out of range, overlapping, not closed by its
 * `name=__unknown__` column, or too large.
 */
export function categoricalLayout(
  featureNames: readonly string[],
  groups: readonly OneHotGroup[],
): CategoricalLayout {
  const inputCols = featureNames.length;
  const inGroup = new Uint8Array(inputCols);
  for (const g of groups) {
    const bad = (problem: string) =>
      new WorkbenchError(
        "TREE_MODEL_INVALID",
        `The categorical group ${JSON.stringify(g.name)} does not fit the ${inputCols} features: ${problem}.`,
        { details: { group: g, problem } },
      );
    if (!Number.isInteger(g.start) || !Number.isInteger(g.size) || g.start < 0 || g.size < 1)
      throw bad("start/size are not a column range");
    if (g.start + g.size > inputCols)
      throw bad(`columns ${g.start}..${g.start + g.size - 1} are out of range`);
    if (g.size > MAX_CATEGORIES) throw bad(`more than ${MAX_CATEGORIES} categories`);
    if (featureNames[g.start + g.size - 1] !== `${g.name}=__unknown__`)
      throw bad(`column ${g.start + g.size - 1} is not '${g.name}=__unknown__'`);
    for (let j = g.start; j < g.start + g.size; j++) {
      if (inGroup[j] === 1) throw bad(`column ${j} belongs to two groups`);
      if (!featureNames[j]!.startsWith(`${g.name}=`)) throw bad(`column ${j} is not a '${g.name}=' column`);
      inGroup[j] = 1;
    }
  }
  const source: number[] = [];
  for (let j = 0; j < inputCols; j++) if (inGroup[j] === 0) source.push(j);
  const cols = source.length + groups.length;
  const categories = new Int32Array(cols);
  groups.forEach((g, k) => {
    categories[source.length + k] = g.size;
  });
  return {
    groups: groups.map((g) => ({ name: g.name, start: g.start, size: g.size })),
    inputCols,
    cols,
    featureNames: [...source.map((j) => featureNames[j]!), ...groups.map((g) => g.name)],
    categories,
    source: Int32Array.from(source),
  };
}

/** X' of a matrix with the layout's input columns (see the top of this file). */
export function toCategorical(layout: CategoricalLayout, x: FeatureMatrix): FeatureMatrix {
  const { inputCols, cols, source, groups } = layout;
  if (x.cols !== inputCols)
    throw new WorkbenchError(
      "MODEL_INPUT_SHAPE",
      `The tree model expects ${inputCols} features per row, got ${x.cols}.`,
      { details: { expected: inputCols, got: x.cols } },
    );
  const { rows, values } = x;
  const out = new Float32Array(rows * cols);
  const kept = source.length;
  for (let r = 0; r < rows; r++) {
    const from = r * inputCols;
    const to = r * cols;
    for (let j = 0; j < kept; j++) out[to + j] = values[from + source[j]!]!;
    for (let k = 0; k < groups.length; k++) {
      const { start, size } = groups[k]!;
      let hot = Number.NaN;
      for (let c = 0; c < size; c++)
        if (values[from + start + c]! > 0.5) {
          hot = c;
          break;
        }
      out[to + kept + k] = hot;
    }
  }
  const matrix: FeatureMatrix = { rows, cols, values: out, featureNames: layout.featureNames };
  if (x.texts !== undefined) matrix.texts = x.texts;
  return matrix;
}
