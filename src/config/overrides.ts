import { parse } from "yaml";
import { ConfigError } from "../shared/errors.js";

/**
 * Applies `--set key.path=value` overrides to a parsed config object. Values are parsed as YAML
 * (`--set seed=7`, `--set training.candidates.0.grid.epochs=[5]`, `--set data.limit=null`); array items are
 * addressed by index. Unknown paths are caught afterwards by the schema's strict objects.
 */
export function applyOverrides(config: unknown, overrides: readonly string[]): unknown {
  const root = structuredClone(config) as Record<string, unknown>;
  for (const override of overrides) {
    const eq = override.indexOf("=");
    if (eq <= 0) {
      throw new ConfigError(`--set '${override}' must look like key.path=value.`, {
        code: "CONFIG_OVERRIDE_INVALID",
      });
    }
    const keyPath = override.slice(0, eq).trim().split(".");
    let value: unknown;
    try {
      value = parse(override.slice(eq + 1));
    } catch (cause) {
      throw new ConfigError(`--set '${override}': the value is not valid YAML.`, {
        code: "CONFIG_OVERRIDE_INVALID",
        cause,
      });
    }
    let node: Record<string, unknown> | unknown[] = root;
    keyPath.forEach((key, i) => {
      const last = i === keyPath.length - 1;
      const container = node as Record<string, unknown>;
      if (last) {
        container[key] = value;
        return;
      }
      const next = container[key];
      if (next === undefined || next === null) container[key] = /^\d+$/.test(keyPath[i + 1]!) ? [] : {};
      else if (typeof next !== "object") {
        throw new ConfigError(
          `--set '${override}': '${keyPath.slice(0, i + 1).join(".")}' is a value, not a section.`,
          {
            code: "CONFIG_OVERRIDE_INVALID",
          },
        );
      }
      node = container[key] as Record<string, unknown>;
    });
  }
  return root;
}
