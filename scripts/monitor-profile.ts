// `npm run monitor:profile -- --data train.csv --manifest data/credit-default.yaml --out profile.json`
import { monitorProfileCommand } from "../src/cli/monitor-command.js";

await monitorProfileCommand(process.argv.slice(2));
