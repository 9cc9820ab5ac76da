import { ConfigError, WorkbenchError } from "../shared/errors.js";

/**
 * Exit codes of `npm run ct`, `npm run replay` and `npm run rollback`: scripts and workflows can tell a kept
 * champion from a conflict from a refusal without parsing output.
 */
export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  /** The gate kept the champion (or a dry run would keep it). */
  kept: 3,
  /** Another promotion holds the lock or moved the alias; nothing was moved. */
  conflict: 4,
  /** The run has no recipe, or one this version cannot read. */
  recipe: 5,
  /** The logged data is gone or its hash changed. */
  dataChanged: 6,
  /** --strict: other code than the recipe's, or a dirty tree. */
  code: 7,
  /** No champion (and nothing to fall back on), a missing model or run, or an alias on a deleted version. */
  notFound: 8,
  /** The tracking server could not be reached. */
  unreachable: 9,
  /** Invalid config, environment or data. */
  invalid: 10,
} as const;

const BY_CODE: Record<string, number> = {
  PROMOTION_CONFLICT: EXIT.conflict,
  RECIPE_MISSING: EXIT.recipe,
  RECIPE_INVALID: EXIT.recipe,
  RECIPE_VERSION_UNSUPPORTED: EXIT.recipe,
  REPLAY_DATA_CHANGED: EXIT.dataChanged,
  REPLAY_DATA_UNAVAILABLE: EXIT.dataChanged,
  REPLAY_CODE_MISMATCH: EXIT.code,
  REPLAY_TREE_DIRTY: EXIT.code,
  REPLAY_CODE_UNKNOWN: EXIT.code,
  CT_NO_CHAMPION_NO_CONFIG: EXIT.notFound,
  CHAMPION_MISSING: EXIT.notFound,
  MODEL_NOT_FOUND: EXIT.notFound,
  RUN_NOT_FOUND: EXIT.notFound,
  ROLLBACK_NOTHING: EXIT.notFound,
  TRACKING_UNREACHABLE: EXIT.unreachable,
  TRACKING_TIMEOUT: EXIT.unreachable,
  CT_USAGE: EXIT.usage,
  REPLAY_SOURCE_INVALID: EXIT.usage,
};

/** The exit code for an error thrown by a CT command. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof WorkbenchError) {
    const mapped = BY_CODE[error.code];
    if (mapped !== undefined) return mapped;
    if (error instanceof ConfigError || error.code.startsWith("DATA_") || error.code.startsWith("CONFIG_"))
      return EXIT.invalid;
  }
  return EXIT.failed;
}
