import { cp, mkdir, rm } from "node:fs/promises";
import path from "node:path";
import { PROFILE_FILE } from "../monitoring/profile.js";
import { loadPredictor } from "../serving/model-source.js";
import type { MlflowClient } from "../tracking/client.js";

/**
 * Copies a model package out of the registry (or validates a local one) into `out`, e.g. docker/model for
 * the serving image. The package is loaded first, so a broken one never gets baked in.
 */
export async function exportModel(
  client: MlflowClient | undefined,
  uri: string,
  out: string,
): Promise<{ name: string; version: string | undefined; dir: string }> {
  const predictor = await loadPredictor(uri, client);
  try {
    await mkdir(out, { recursive: true });
    if (path.resolve(predictor.model.dir) !== path.resolve(out)) {
      for (const entry of [
        "tfjs",
        "estimator",
        "preprocessor.json",
        "model-meta.json",
        "MLmodel",
        "input_example.json",
        // Monitoring's reference (a package without one must not inherit a previous export's).
        PROFILE_FILE,
        // The python_function flavor's loader and environments (python-flavor.ts).
        "code",
        "requirements.txt",
        "python_env.yaml",
        "conda.yaml",
      ])
        await rm(path.join(out, entry), { recursive: true, force: true });
      await cp(predictor.model.dir, out, { recursive: true });
    }
  } finally {
    predictor.retire();
  }
  return { name: predictor.origin.name, version: predictor.origin.version, dir: out };
}
