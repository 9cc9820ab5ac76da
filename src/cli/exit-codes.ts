import { ConfigError, WorkbenchError } from "../shared/errors.js";

/**
 * Exit codes of `npm run ct`, `npm run replay`, `npm run rollback` and `npm run monitor`: scripts and workflows
 * can tell a kept champion from a conflict from a refusal, or drift from degradation, without parsing output.
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
  /** `npm run monitor`: dataset drift found (and no degradation). */
  drift: 11,
  /** `npm run monitor`: the model's metric on labelled rows dropped past --max-drop (drift or not). */
  degraded: 12,
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
  CLI_USAGE: EXIT.usage,
  MONITOR_NO_PROFILE: EXIT.notFound,
  MONITOR_NO_SHADOW: EXIT.notFound,
  MONITOR_ID_REQUIRED: EXIT.usage,
  MONITOR_LABELS_NEED_MODEL: EXIT.usage,
  MONITOR_COMPARE_NEEDS_LOG: EXIT.usage,
  MONITOR_COMPARE_NEEDS_MODEL: EXIT.usage,
};

/** Error codes that mean bad input data or files (exit 10), besides DATA_* and CONFIG_* codes. */
const INVALID_PREFIXES = ["DATA_", "CONFIG_", "MONITOR_", "PROFILE_", "MANIFEST_"];

/** The exit code for an error thrown by a CT or monitor command. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof WorkbenchError) {
    const mapped = BY_CODE[error.code];
    if (mapped !== undefined) return mapped;
    if (error instanceof ConfigError || INVALID_PREFIXES.some((prefix) => error.code.startsWith(prefix)))
      return EXIT.invalid;
  }
  return EXIT.failed;
}
