// `npm run monitor -- --model models:/credit-default@champion --current predictions/ [--labels labels.csv]`
import { monitorCommand } from "../src/cli/monitor-command.js";

await monitorCommand(process.argv.slice(2));
