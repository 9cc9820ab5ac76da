import { exportModel } from "../registry/export-model.js";
import { WorkbenchError } from "../shared/errors.js";
import { parseCli } from "./args.js";
import { registryClient } from "./registry-client.js";

const USAGE =
  "usage: npm run model:export -- --model <models:/name@alias | models:/name/version | runs:/id/path | dir> --out <dir>";

/** `npm run model:export -- --model <uri> --out <dir>`: copies a registered model package out of MLflow (e.g. to bake into an image). */
export async function exportCommand(argv: readonly string[]): Promise<void> {
  const parsed = parseCli(argv, { model: { type: "string" }, out: { type: "string" } }, USAGE, [
    "model",
    "out",
  ]);
  if (parsed === undefined) return;
  const model = parsed.values.model as string;
  const out = parsed.values.out as string;
  const client = await registryClient();
  try {
    const exported = await exportModel(client, model, out);
    console.log(`exported ${exported.name} version ${exported.version ?? "local"} to ${out}`);
  } catch (error) {
    process.exitCode = 1;
    console.error(error instanceof WorkbenchError ? `error [${error.code}]: ${error.message}` : error);
  } finally {
    client?.close();
  }
}
