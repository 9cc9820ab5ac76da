import { type ParseArgsConfig, parseArgs } from "node:util";

type Options = NonNullable<ParseArgsConfig["options"]>;

/** Parsed flags, or undefined after printing the problem and the usage (exit code 2: a usage error). */
export function parseCli<O extends Options>(
  argv: readonly string[],
  options: O,
  usage: string,
  required: readonly (keyof O & string)[] = [],
): { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] } | undefined {
  let parsed: {
    values: Record<string, string | boolean | (string | boolean)[] | undefined>;
    positionals: string[];
  };
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { ...options, help: { type: "boolean", default: false } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    console.error(`error [CLI_USAGE]: ${(error as Error).message}\n${usage}`);
    process.exitCode = 2;
    return undefined;
  }
  if (parsed.values.help === true) {
    console.log(usage);
    return undefined;
  }
  const missing = required.filter((k) => parsed.values[k] === undefined);
  if (missing.length > 0) {
    console.error(
      `error [CLI_USAGE]: ${missing.map((k) => `--${k}`).join(", ")} ${missing.length === 1 ? "is" : "are"} required.\n${usage}`,
    );
    process.exitCode = 2;
    return undefined;
  }
  return parsed as { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] };
}
