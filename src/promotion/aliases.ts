import { hostname } from "node:os";
import { errorMessage, ModelNotFoundError, TrackingError, WorkbenchError } from "../shared/errors.js";
import type { Logger } from "../shared/logger.js";
import { silentLogger } from "../shared/logger.js";
import type { MlflowClient } from "../tracking/client.js";
import type { ModelVersion } from "../tracking/types.js";

export interface AliasNames {
  champion: string;
  previous: string;
}

/** Tag on the registered model naming the version the last promotion made champion. */
export const CHAMPION_TAG = "workbench.champion";

/** Another promotion holds the lock or moved the alias since the gate read it; nothing was moved. */
export class PromotionConflictError extends WorkbenchError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super("PROMOTION_CONFLICT", message, { details });
  }
}

/** The registered model that acts as a lock: MLflow refuses a second model of the same name atomically. */
export function lockName(modelName: string): string {
  return `${modelName}.promotion-lock`;
}

/**
 * Runs `fn` while holding the promotion lock of `modelName`. MLflow has no compare-and-set, but creating a
 * registered model is atomic (a unique name), so the lock is a registered model created here and deleted
 * afterwards. A lock whose holder died expires after `ttlMs`.
 */
export async function withPromotionLock<T>(
  client: MlflowClient,
  modelName: string,
  fn: () => Promise<T>,
  options: { ttlMs?: number; logger?: Logger; now?: () => number } = {},
): Promise<T> {
  const now = options.now ?? Date.now;
  const ttl = options.ttlMs ?? 10 * 60_000;
  const name = lockName(modelName);
  const holder = `${hostname()}:${process.pid}`;
  for (let attempt = 0; ; attempt++) {
    try {
      await client.registry.createModel(name, {
        description: `Held by a promotion of '${modelName}' in progress; removed when it ends.`,
        tags: { "workbench.lock.holder": holder, "workbench.lock.expires": String(now() + ttl) },
      });
      break;
    } catch (error) {
      if (!(error instanceof TrackingError && error.mlflowErrorCode === "RESOURCE_ALREADY_EXISTS"))
        throw error;
      const lock = await client.registry.getModel(name).catch(() => undefined);
      const expires = Number(lock?.tags["workbench.lock.expires"] ?? Number.NaN);
      if (attempt === 0 && (lock === undefined || (Number.isFinite(expires) && expires < now()))) {
        options.logger?.warn(
          { lock: name, holder: lock?.tags["workbench.lock.holder"] },
          "taking over an expired promotion lock",
        );
        await client.registry.deleteModel(name).catch(() => undefined);
        continue;
      }
      throw new PromotionConflictError(
        `Another promotion of '${modelName}' is in progress (lock '${name}' held by ${lock?.tags["workbench.lock.holder"] ?? "unknown"}); nothing was moved. Run again when it has finished; a lock left by a crashed job expires at ${Number.isFinite(expires) ? new Date(expires).toISOString() : "its TTL"}.`,
        { lock: name, holder: lock?.tags["workbench.lock.holder"] },
      );
    }
  }
  try {
    return await fn();
  } finally {
    await client.registry.deleteModel(name).catch((error: unknown) => {
      (options.logger ?? silentLogger()).error(
        { lock: name, error: errorMessage(error) },
        "could not release the promotion lock",
      );
    });
  }
}

/**
 * The current champion version, undefined when the model has never had one. An alias that points at a
 * deleted version, or a champion the last promotion recorded but whose alias is gone, is an error: guessing
 * would let a weaker model through.
 */
export async function readChampion(
  client: MlflowClient,
  modelName: string,
  aliases: AliasNames,
): Promise<ModelVersion | undefined> {
  let model: Awaited<ReturnType<MlflowClient["registry"]["getModel"]>>;
  try {
    model = await client.registry.getModel(modelName);
  } catch (error) {
    if (error instanceof ModelNotFoundError) return undefined;
    throw error;
  }
  const version = model.aliases[aliases.champion];
  const recorded = model.tags[CHAMPION_TAG];
  const advice = `Restore it with \`npm run rollback -- --model ${modelName}\` (moves @${aliases.previous} back), point @${aliases.champion} at a version yourself, or run \`npm run ct -- --force-promote\` to crown the next challenger.`;
  if (version === undefined) {
    if (recorded === undefined) return undefined;
    throw new WorkbenchError(
      "CHAMPION_MISSING",
      `models:/${modelName}@${aliases.champion} is gone, but the last promotion made version ${recorded} champion (was the version or the alias deleted?). ${advice}`,
      { details: { modelName, recorded } },
    );
  }
  try {
    return await client.registry.getVersion(modelName, version);
  } catch (error) {
    if (!(error instanceof ModelNotFoundError)) throw error;
    throw new WorkbenchError(
      "CHAMPION_MISSING",
      `models:/${modelName}@${aliases.champion} points at version ${version}, which no longer exists. ${advice}`,
      { cause: error, details: { modelName, version } },
    );
  }
}

async function moveAliases(
  client: MlflowClient,
  modelName: string,
  target: Record<string, string | undefined>,
  before: Record<string, string | undefined>,
): Promise<void> {
  const apply = async (state: Record<string, string | undefined>) => {
    for (const [alias, version] of Object.entries(state)) {
      if (version === undefined) await client.registry.deleteAlias(modelName, alias).catch(() => undefined);
      else await client.registry.setAlias(modelName, alias, version);
    }
  };
  try {
    await apply(target);
  } catch (error) {
    // Never leave a half-moved pair: put both aliases back where they were, then report.
    let restored = true;
    await apply(before).catch(() => {
      restored = false;
    });
    throw new WorkbenchError(
      "PROMOTION_FAILED",
      `Moving the aliases of '${modelName}' failed (${errorMessage(error)}); ${restored ? "both were put back where they were" : `restoring them failed too: check ${Object.keys(before).join(", ")} in the registry`}.`,
      { cause: error, details: { modelName, target, before, restored } },
    );
  }
}

/**
 * Makes `version` the champion and keeps the one it replaces under `previous`, race-safe: under the
 * promotion lock the champion alias is read again and the move is refused if it changed since the gate read
 * `expectedChampion`.
 */
export async function promote(
  client: MlflowClient,
  input: {
    modelName: string;
    version: string;
    expectedChampion: string | undefined;
    aliases: AliasNames;
    logger?: Logger;
  },
): Promise<{ champion: string; previous: string | undefined }> {
  const { modelName, version, aliases } = input;
  return withPromotionLock(
    client,
    modelName,
    async () => {
      const model = await client.registry.getModel(modelName);
      const current = model.aliases[aliases.champion];
      if (current !== input.expectedChampion) {
        throw new PromotionConflictError(
          `models:/${modelName}@${aliases.champion} moved from ${input.expectedChampion === undefined ? "nothing" : `version ${input.expectedChampion}`} to ${current === undefined ? "nothing" : `version ${current}`} since the gate read it: another promotion won. Nothing was moved; the next run gates against the new champion.`,
          { expected: input.expectedChampion, actual: current },
        );
      }
      const before = { [aliases.previous]: model.aliases[aliases.previous], [aliases.champion]: current };
      const target = {
        ...(current === undefined ? {} : { [aliases.previous]: current }),
        [aliases.champion]: version,
      };
      await moveAliases(client, modelName, target, before);
      await client.registry.setModelTag(modelName, CHAMPION_TAG, version);
      return { champion: version, previous: current };
    },
    input.logger === undefined ? {} : { logger: input.logger },
  );
}

/** Swaps `champion` and `previous` back (undoing the last promotion). */
export async function rollback(
  client: MlflowClient,
  input: { modelName: string; aliases: AliasNames; logger?: Logger },
): Promise<{ champion: string; previous: string | undefined }> {
  const { modelName, aliases } = input;
  return withPromotionLock(client, modelName, async () => {
    const model = await client.registry.getModel(modelName);
    const champion = model.aliases[aliases.champion];
    const previous = model.aliases[aliases.previous];
    if (previous === undefined) {
      throw new WorkbenchError(
        "ROLLBACK_NOTHING",
        `models:/${modelName}@${aliases.previous} does not exist, so there is nothing to roll back to. Point @${aliases.champion} at a version yourself if you need to.`,
        { details: { modelName, champion } },
      );
    }
    await moveAliases(
      client,
      modelName,
      { [aliases.champion]: previous, [aliases.previous]: champion },
      { [aliases.champion]: champion, [aliases.previous]: previous },
    );
    await client.registry.setModelTag(modelName, CHAMPION_TAG, previous);
    return { champion: previous, previous: champion };
  });
}
