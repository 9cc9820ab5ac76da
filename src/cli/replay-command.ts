import type { ReplayResult } from "../pipelines/replay.js";
import { kernelsNote, replayPipeline } from "../pipelines/replay.js";
import { parseCli } from "./args.js";
import { EXIT, exitCodeFor } from "./exit-codes.js";
import { runMain } from "./run-main.js";

const USAGE = `usage: npm run replay -- (--from models:/<name>@<alias> | --from models:/<name>/<version> | --run-id <id>)
                        [--data logged|current] [--strict] [--mirror DIR] [--keep-server]
  --data logged   exactly the data the run used (its content-addressed copy, verified by sha256) — the default
  --data current  the same recipe on today's data (what continuous training does)
  --strict        refuse to replay on other code than the recipe's commit, or on a dirty tree`;

/** The comparison table: every metric both runs logged, original vs replay. */
export function comparisonTable(result: ReplayResult): string {
  const header = ["metric", "original", "replay", "delta"];
  const rows = result.comparison.map((c) => [
    c.metric,
    String(c.original),
    String(c.replay),
    c.delta === 0 ? "0" : c.delta.toExponential(3),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ");
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

/** `npm run replay`: train a logged run again from its recipe and compare. */
export async function replayCommand(argv: readonly string[]): Promise<void> {
  const parsed = parseCli(
    argv,
    {
      from: { type: "string" },
      "run-id": { type: "string" },
      data: { type: "string", default: "logged" },
      strict: { type: "boolean", default: false },
      mirror: { type: "string" },
      "keep-server": { type: "boolean", default: false },
    },
    USAGE,
  );
  if (parsed === undefined) return;
  const v = parsed.values;
  const from = (v.from as string | undefined) ?? (v["run-id"] as string | undefined);
  const data = v.data as string;
  if (
    from === undefined ||
    (v.from !== undefined && v["run-id"] !== undefined) ||
    (data !== "logged" && data !== "current")
  ) {
    console.error(
      `error [CLI_USAGE]: ${from === undefined || v.from !== undefined ? "give exactly one of --from and --run-id" : `--data must be logged or current, not '${data}'`}.\n${USAGE}`,
    );
    process.exitCode = EXIT.usage;
    return;
  }
  await runMain(
    { keepServer: v["keep-server"] === true, name: "replay", exitCodeFor },
    async ({ client, logger }) => {
      const result = await replayPipeline(
        { client, logger },
        {
          from,
          data,
          strict: v.strict === true,
          ...(v.mirror === undefined ? {} : { mirror: v.mirror as string }),
        },
      );
      const code =
        result.code.original === result.code.current
          ? `same commit ${result.code.current ?? "unknown"}${result.code.dirty ? " (dirty tree)" : ""}`
          : `recipe ${result.code.original ?? "unknown"} → now ${result.code.current ?? "unknown"}${result.code.dirty ? " (dirty tree)" : ""}`;
      console.log(
        `\nreplayed ${result.target.label} (run ${result.target.runId}) as a ${result.mode} run on ${result.data.mode} data`,
      );
      console.log(`code: ${code}`);
      console.log(`data: sha256 ${result.data.sha256} from ${result.data.source}\n`);
      console.log(comparisonTable(result));
      console.log(
        `\n${result.identical ? "identical: every metric reproduced exactly" : "metrics differ (expected with --data current, another backend, other wasm kernels or other code)"}`,
      );
      if (result.kernels !== undefined) console.log(`wasm kernels: ${kernelsNote(result.kernels)}`);
      if (result.model !== undefined)
        console.log(`registered ${result.model.name} version ${result.model.version}`);
      console.log(`run: ${result.runUrl}`);
    },
  );
}
