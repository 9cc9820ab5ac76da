import { ctCommand } from "../src/cli/ct-command.js";

await ctCommand(process.argv.slice(2));
