// A worker thread of batch scoring (predict-workers.ts): it loads the model package once and says so ("ready"),
// then scores the chunks it is sent, one at a time, and posts each result back (the output bytes moved, not
// copied).
//
// Test-only: WORKBENCH_TEST_CRASH_PREDICT_CHUNK=<chunk index> makes the worker call process.exit(3) when it gets
// that chunk; <chunk index>:throw makes it throw an uncaught error instead. It is read in worker threads only
// (scoring in the main thread ignores it), so the pool's crash handling can be tested with a real crash.
import { parentPort, workerData } from "node:worker_threads";
import { loadModelPackage } from "../registry/model-package.js";
import { WorkbenchError } from "../shared/errors.js";
import {
  type ChunkMessage,
  type ChunkScorer,
  createChunkScorer,
  type PredictWorkerInit,
  type PredictWorkerMessage,
  serializeScoringError,
} from "./predict-workers.js";

const port = parentPort;
if (port === null)
  throw new Error(
    "predict-worker runs as a worker thread of batch scoring (src/pipelines/predict-workers.ts)",
  );
const init = workerData as PredictWorkerInit;

const ready: Promise<ChunkScorer> = (async () => {
  const packaged = await loadModelPackage(init.dir);
  if (
    JSON.stringify(packaged.meta) !== init.meta ||
    JSON.stringify(packaged.preprocessor) !== init.preprocessor
  )
    throw new WorkbenchError(
      "PREDICT_PACKAGE_CHANGED",
      `${init.dir} changed after batch scoring loaded it (its model-meta.json or preprocessor.json differ): run again.`,
      { details: { dir: init.dir } },
    );
  return createChunkScorer(packaged, init.settings);
})();
ready.then(
  () => port.postMessage({ type: "ready" } satisfies PredictWorkerMessage),
  (error: unknown) =>
    port.postMessage({
      type: "init-failed",
      error: serializeScoringError(error),
    } satisfies PredictWorkerMessage),
);

async function score(message: ChunkMessage): Promise<void> {
  const crash = process.env.WORKBENCH_TEST_CRASH_PREDICT_CHUNK;
  if (crash === String(message.seq)) process.exit(3);
  if (crash === `${message.seq}:throw`) {
    setImmediate(() => {
      throw new Error(`test crash: chunk ${message.seq} threw in its worker`);
    });
    return;
  }
  let reply: PredictWorkerMessage;
  try {
    const scorer = await ready;
    reply = { type: "done", seq: message.seq, result: scorer(message.bytes, message.last) };
  } catch (error) {
    port!.postMessage({ type: "failed", seq: message.seq, error: serializeScoringError(error) });
    return;
  }
  port!.postMessage(reply, [reply.result.output.buffer as ArrayBuffer]);
}

port.on("message", (message: ChunkMessage) => {
  void score(message);
});
