import { cp, mkdir } from "node:fs/promises";
import { parseArgs } from "node:util";
import { loadPredictor } from "../serving/model-source.js";
import { WorkbenchError } from "../shared/errors.js";
import { registryClient } from "./registry-client.js";

/** `npm run model:export -- --model <uri> --out <dir>`: copies a registered model package out of MLflow (e.g. to bake into an image). */
export async function exportCommand(argv: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...argv],
    options: { model: { type: "string" }, out: { type: "string" } },
  });
  if (values.model === undefined || values.out === undefined) {
    console.error("usage: npm run model:export -- --model models:/<name>@<alias> --out <dir>");
    process.exitCode = 2;
    return;
  }
  const client = await registryClient();
  try {
    const predictor = await loadPredictor(values.model, client);
    await mkdir(values.out, { recursive: true });
    await cp(predictor.model.dir, values.out, { recursive: true });
    console.log(
      `exported ${predictor.origin.name} version ${predictor.origin.version ?? "local"} to ${values.out}`,
    );
  } catch (error) {
    process.exitCode = 1;
    console.error(error instanceof WorkbenchError ? `error [${error.code}]: ${error.message}` : error);
  } finally {
    client?.close();
  }
}
