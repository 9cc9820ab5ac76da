import { rollback } from "../promotion/aliases.js";
import { parseCli } from "./args.js";
import { exitCodeFor } from "./exit-codes.js";
import { runMain } from "./run-main.js";

const USAGE = `usage: npm run rollback -- --model <name> [--champion-alias champion] [--previous-alias previous]
  Swaps @champion and @previous back: the model the last promotion replaced serves again.`;

/** `npm run rollback`: undo the last promotion of a model. */
export async function rollbackCommand(argv: readonly string[]): Promise<void> {
  const parsed = parseCli(
    argv,
    {
      model: { type: "string" },
      "champion-alias": { type: "string", default: "champion" },
      "previous-alias": { type: "string", default: "previous" },
    },
    USAGE,
    ["model"],
  );
  if (parsed === undefined) return;
  const v = parsed.values;
  const modelName = v.model as string;
  await runMain({ name: "rollback", exitCodeFor }, async ({ client, logger }) => {
    const aliases = { champion: v["champion-alias"] as string, previous: v["previous-alias"] as string };
    const moved = await rollback(client, { modelName, aliases, logger });
    console.log(
      `rolled back ${modelName}: version ${moved.champion} is @${aliases.champion} again${moved.previous === undefined ? "" : `, version ${moved.previous} is now @${aliases.previous}`}`,
    );
  });
}
