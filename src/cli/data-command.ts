import { parseArgs } from "node:util";
import { acquireDataset, cacheDataset } from "../data/acquire.js";
import { loadManifest } from "../data/manifest.js";
import { WorkbenchError } from "../shared/errors.js";
import { createLogger } from "../shared/logger.js";

const USAGE =
  "usage: npm run data -- <dataset> [<dataset> ...] [--mirror DIR]   (datasets: data/<name>.yaml)";

/**
 * `npm run data -- credit-default`: downloads a dataset from its official source (or copies it from a
 * mirror), converts it to the canonical CSV when needed, verifies its sha256 and keeps it in data/raw/.
 */
export async function dataCommand(argv: readonly string[]): Promise<void> {
  let parsed: ReturnType<typeof parse>;
  function parse() {
    return parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: { mirror: { type: "string" }, help: { type: "boolean", default: false } },
    });
  }
  try {
    parsed = parse();
  } catch (error) {
    console.error(`error [CLI_USAGE]: ${(error as Error).message}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (parsed.values.help || parsed.positionals.length === 0) {
    console.error(USAGE);
    process.exitCode = parsed.values.help ? 0 : 2;
    return;
  }
  const logger = createLogger({ name: "data", level: process.env.LOG_LEVEL ?? "warn" });
  for (const name of parsed.positionals) {
    try {
      const manifest = await loadManifest(name);
      const file = await acquireDataset(manifest, {
        logger,
        ...(parsed.values.mirror === undefined ? {} : { mirror: parsed.values.mirror }),
      });
      const cached = file.origin === "mirror" ? await cacheDataset(file, manifest) : file.path;
      console.log(
        `${manifest.name}: ${cached} (sha256 ${file.sha256.slice(0, 12)}…, from ${file.origin === "download" ? file.source : file.origin})`,
      );
    } catch (error) {
      process.exitCode = 1;
      console.error(error instanceof WorkbenchError ? `error [${error.code}]: ${error.message}` : error);
    }
  }
}
