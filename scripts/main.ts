// The main job (README quick start): trains, evaluates and registers the credit-default model against
// the tracking server (MLFLOW_TRACKING_URI, or a local one started for the job).
//   npm start [-- --set key=value ...] [--keep-server] [--mirror DIR]
import { trainCommand } from "../src/cli/train-command.js";

await trainCommand(process.argv.slice(2), { config: "configs/credit-default.yaml", entryPoint: "npm start" });
