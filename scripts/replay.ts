import { replayCommand } from "../src/cli/replay-command.js";

await replayCommand(process.argv.slice(2));
