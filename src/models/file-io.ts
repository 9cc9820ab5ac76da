// tf.io.IOHandler that reads/writes the same on-disk format as tfjs-node's
// "file://" handler: <dir>/model.json (weightsManifest paths ["weights.bin"])
// + <dir>/weights.bin. No tfjs-node needed.
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import * as tf from "@tensorflow/tfjs-core";

const MODEL_JSON = "model.json";
const WEIGHTS_BIN = "weights.bin";

function toArrayBuffer(buf: Uint8Array): ArrayBuffer {
  // Node Buffers may be views into a larger pooled ArrayBuffer: copy out exactly.
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}

async function resolveModelJson(p: string): Promise<string> {
  const abs = path.resolve(p);
  const s = await stat(abs).catch(() => undefined);
  return s?.isDirectory() ? path.join(abs, MODEL_JSON) : abs;
}

/**
 * save: `dir` is a directory (created if missing).
 * load: `dir` is the directory or the path to its model.json.
 * Usage: await model.save(fileIO("out/model"));
 *        const m = await tfl.loadLayersModel(fileIO("out/model"));
 */
export function fileIO(dir: string): tf.io.IOHandler {
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      if (artifacts.modelTopology instanceof ArrayBuffer) {
        throw new Error("fileIO: binary model topology is not supported");
      }
      const outDir = path.resolve(dir);
      await mkdir(outDir, { recursive: true });
      const weightsManifest: tf.io.WeightsManifestConfig = [
        { paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs ?? [] },
      ];
      const modelJSON: tf.io.ModelJSON = {
        // Same as tfjs-node: written as-is (a layers model always has a JSON topology).
        modelTopology: artifacts.modelTopology as tf.io.ModelJSON["modelTopology"],
        weightsManifest,
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
      };
      if (artifacts.trainingConfig != null) modelJSON.trainingConfig = artifacts.trainingConfig;
      if (artifacts.signature != null) modelJSON.signature = artifacts.signature;
      if (artifacts.userDefinedMetadata != null)
        modelJSON.userDefinedMetadata = artifacts.userDefinedMetadata;

      // weightData is ArrayBuffer | ArrayBuffer[] in tfjs 4.x; join into one buffer.
      const weights =
        artifacts.weightData == null
          ? new ArrayBuffer(0)
          : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
      await writeFile(path.join(outDir, MODEL_JSON), JSON.stringify(modelJSON), "utf8");
      await writeFile(path.join(outDir, WEIGHTS_BIN), new Uint8Array(weights));
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },

    async load(): Promise<tf.io.ModelArtifacts> {
      const jsonPath = await resolveModelJson(dir);
      const modelJSON = JSON.parse(await readFile(jsonPath, "utf8")) as tf.io.ModelJSON;
      const baseDir = path.dirname(jsonPath);
      return tf.io.getModelArtifactsForJSON(modelJSON, async (manifest) => {
        const specs: tf.io.WeightsManifestEntry[] = [];
        const buffers: ArrayBuffer[] = [];
        for (const group of manifest) {
          for (const p of group.paths) buffers.push(toArrayBuffer(await readFile(path.join(baseDir, p))));
          specs.push(...group.weights);
        }
        return [specs, tf.io.CompositeArrayBuffer.join(buffers)];
      });
    },
  };
}
