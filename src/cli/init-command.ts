import path from "node:path";
import type { InferredColumn } from "../data/infer.js";
import { initDataset } from "../pipelines/init.js";
import { WorkbenchError } from "../shared/errors.js";
import { parseCli } from "./args.js";

const USAGE = `usage: npm run init -- --csv <file> --target <column> [--name <name>] [--dir DIR] [--force]
  Infers a dataset manifest (data/<name>.yaml) and a training config (configs/<name>.yaml) from a local CSV;
  then: npm run train -- --config configs/<name>.yaml
  --name: dataset, config, experiment and model name (default: the CSV's file name, lower-cased, dashes)
  --dir: write data/ and configs/ under DIR instead of the project
  --force: replace existing files of that name`;

function describe(column: InferredColumn): string {
  switch (column.kind) {
    case "id":
      return `id (${column.reason}; not a feature)`;
    case "empty":
      return "every value missing (dropped)";
    case "number":
      return `${column.integer ? "integer" : "number"} ${column.min}..${column.max}${column.missing > 0 ? `, ${column.missing} missing` : ""}`;
    case "text":
      return `text, ${column.meanLength} characters on average (longest ${column.maxLength})${column.missing > 0 ? `, ${column.missing} empty` : ""}`;
    case "category":
      return `category, ${column.values === undefined ? `${column.distinct} values (learned on train)` : `${column.values.length} values`}${column.missing > 0 ? `, ${column.missing} missing` : ""}`;
  }
}

/** `npm run init -- --csv loans.csv --target status`: what the CSV holds, written as a manifest and a config. */
export async function initCommand(argv: readonly string[]): Promise<void> {
  const parsed = parseCli(
    argv,
    {
      csv: { type: "string" },
      target: { type: "string" },
      name: { type: "string" },
      dir: { type: "string" },
      force: { type: "boolean", default: false },
    },
    USAGE,
    ["csv", "target"],
  );
  if (parsed === undefined) return;
  if (parsed.positionals.length > 0) {
    console.error(`error [CLI_USAGE]: unexpected argument '${parsed.positionals[0]}'.\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  const { values } = parsed;
  // npm runs scripts in the project folder; INIT_CWD is where the user typed the command.
  const cwd = process.env.INIT_CWD ?? process.cwd();
  try {
    const result = await initDataset({
      csv: path.resolve(cwd, values.csv as string),
      target: values.target as string,
      ...(values.name === undefined ? {} : { name: values.name as string }),
      ...(values.dir === undefined ? {} : { dir: path.resolve(cwd, values.dir as string) }),
      force: values.force === true,
    });
    const { inferred } = result;
    const shown = (file: string) => {
      const relative = path.relative(process.cwd(), file);
      return relative.startsWith("..") ? file : relative;
    };
    const width = Math.max(...Object.keys(inferred.columns).map((c) => c.length), 6);
    console.log(
      [
        `${inferred.file}: ${inferred.rows} rows, sha256 ${inferred.sha256}`,
        `target ${inferred.target.column}: ${inferred.target.classes.map((c) => `${c} (${inferred.target.counts[c]})`).join(", ")}${inferred.target.positive === undefined ? "" : `; positive class '${inferred.target.positive.value}' (${inferred.target.positive.reason})`}`,
        ...Object.entries(inferred.columns).map(([name, c]) => `  ${name.padEnd(width)}  ${describe(c)}`),
        ...result.warnings.map((w) => `warning: ${w}`),
        `wrote ${shown(result.manifestFile)} and ${shown(result.configFile)}; review them, then:`,
        `  npm run train -- --config ${shown(result.configFile)}`,
      ].join("\n"),
    );
  } catch (error) {
    if (!(error instanceof WorkbenchError)) throw error;
    console.error(`error [${error.code}]: ${error.message}`);
    process.exitCode = 1;
  }
}
