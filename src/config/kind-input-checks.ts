import { type DatasetManifest, textColumns } from "../data/manifest.js";
import { KINDS } from "../models/kinds/index.js";
import { ConfigError } from "../shared/errors.js";
import type { TrainConfig } from "./train-config.js";

/**
 * Every candidate's kind against what the dataset holds, when the config is loaded: a text kind needs a text
 * column; a tabular kind on data with text columns would ignore the text silently. Throws CONFIG_INVALID naming
 * each offending `training.candidates.<i>.kind`, with the kinds that fit.
 */
export function checkKindInputs(
  config: TrainConfig,
  manifest: DatasetManifest,
  sources: { config: string; manifest: string },
): void {
  const dropped = new Set(config.features.drop);
  const texts = textColumns(manifest).filter((c) => !dropped.has(c));
  const entries = Object.entries(KINDS) as [string, { input?: "tabular" | "text" }][];
  const textKinds = entries.filter(([, k]) => k.input === "text").map(([name]) => name);
  const tabularKinds = entries.filter(([, k]) => k.input !== "text").map(([name]) => name);
  const problems: string[] = [];
  config.training.candidates.forEach((candidate, i) => {
    const input = KINDS[candidate.kind].input ?? "tabular";
    const where = `${sources.config}: training.candidates.${i}.kind`;
    if (input === "text" && texts.length === 0)
      problems.push(
        `  - ${where}: '${candidate.kind}' reads text, and dataset '${manifest.name}' has no text column (${sources.manifest}); use a tabular kind (${tabularKinds.join(", ")})`,
      );
    if (input === "tabular" && texts.length > 0)
      problems.push(
        `  - ${where}: '${candidate.kind}' reads numeric and categorical features only, and dataset '${manifest.name}' has text column${texts.length > 1 ? "s" : ""} ${texts.map((t) => `'${t}'`).join(", ")} it would ignore; use a text kind (${textKinds.join(", ") || "none installed"}) or leave the text out with features.drop`,
      );
  });
  if (problems.length === 0) return;
  throw new ConfigError(`Model kinds that do not fit dataset '${manifest.name}':\n${problems.join("\n")}`, {
    code: "CONFIG_INVALID",
    details: {
      config: sources.config,
      fields: problems.length,
      textColumns: texts,
    },
  });
}
