// `npm run sync [-- --spool DIR] [--all-targets] [--stale-after MINUTES] [--no-orphans] [--json]`
import { syncCommand } from "../src/cli/sync-command.js";

await syncCommand(process.argv.slice(2));
