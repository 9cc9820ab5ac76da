// `npm run model:export -- --model models:/credit-default@champion --out docker/model`
import { exportCommand } from "../src/cli/export-command.js";

await exportCommand(process.argv.slice(2));
