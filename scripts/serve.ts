// `npm run serve -- --model models:/credit-default@champion`: the prediction service.
import { serveCommand } from "../src/cli/serve-command.js";

await serveCommand(process.argv.slice(2));
