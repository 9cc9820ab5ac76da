// `npm run data -- <dataset> [--mirror DIR] [--from YYYY-MM-DD --to YYYY-MM-DD --product NAME --limit N]`:
// download (or copy from a mirror), convert and verify a dataset; query datasets (CFPB complaints) take a query.
import { dataCommand } from "../src/cli/data-command.js";

await dataCommand(process.argv.slice(2));
