// `npm run init -- --csv <file> --target <column> [--name <name>]`: a manifest and a config for your own CSV
import { initCommand } from "../src/cli/init-command.js";

await initCommand(process.argv.slice(2));
