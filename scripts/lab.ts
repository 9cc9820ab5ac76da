// `npm run lab [-- extra jupyter lab flags]`: JupyterLab with the tslab kernel and the MLflow server.
import { labCommand } from "../src/cli/lab.js";

await labCommand(process.argv.slice(2));
