// `npm run smoke`: a quick end-to-end check of the tracking path (params, a metric series, an artifact).
//   npm run smoke [-- --keep-server] [--experiment NAME]
import { parseArgs } from "node:util";
import { runMain } from "../src/cli/run-main.js";
import { runSmoke } from "../src/pipelines/smoke.js";

const { values } = parseArgs({
  options: {
    "keep-server": { type: "boolean", default: false },
    experiment: { type: "string", default: "workbench-smoke" },
  },
});

await runMain({ keepServer: values["keep-server"] }, async ({ client, logger, server }) => {
  const result = await runSmoke({ client, logger }, { experimentName: values.experiment });
  console.log(`Tracking server: ${server.uri} (${server.origin})`);
  console.log(
    `Logged run ${result.runId}: ${result.params} params, ${result.metricPoints} metric points, artifacts ${result.artifacts.join(", ")}`,
  );
  console.log(`Open it in the MLflow UI: ${result.url}`);
  if (server.origin === "started" && !values["keep-server"]) {
    console.log("The local server has been stopped; `npm run mlflow` serves mlruns/ again to browse it.");
  }
});
