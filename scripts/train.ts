// `npm run train -- --config configs/credit-default.yaml [--set key=value ...] [--dry-run] [--schema]`
import { trainCommand } from "../src/cli/train-command.js";

await trainCommand(process.argv.slice(2));
