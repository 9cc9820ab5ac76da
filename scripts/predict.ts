// `npm run predict -- --model models:/credit-default@champion --input holdout.csv --output predictions.csv`
import { predictCommand } from "../src/cli/predict-command.js";

await predictCommand(process.argv.slice(2));
