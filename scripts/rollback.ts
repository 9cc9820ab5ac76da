import { rollbackCommand } from "../src/cli/rollback-command.js";

await rollbackCommand(process.argv.slice(2));
