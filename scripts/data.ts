// `npm run data -- <dataset> [--mirror DIR]`: download (or copy from a mirror), convert and verify a dataset.
import { dataCommand } from "../src/cli/data-command.js";

await dataCommand(process.argv.slice(2));
