// The runner's file commands: what a step appends to $GITHUB_OUTPUT / $GITHUB_ENV, parsed as GitHub does.

/** Thrown for a file-command line GitHub would reject. */
export class FileCommandError extends Error {
  override name = "FileCommandError";
}

/**
 * Parses `name=value` lines and `name<<DELIMITER` … `DELIMITER` blocks (multi-line values) into a map;
 * later assignments win. Blank lines are ignored; anything else (or a block never closed) throws.
 * @example parseFileCommands("a=1\nb<<EOF\nx\ny\nEOF\n") // { a: "1", b: "x\ny" }
 */
export function parseFileCommands(text: string, file = "GITHUB_OUTPUT"): Record<string, string> {
  const values: Record<string, string> = {};
  const lines = text.replace(/\r\n/g, "\n").split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === "") continue;
    const heredoc = /^([^=]+?)<<(.+)$/.exec(line);
    const equals = line.indexOf("=");
    if (heredoc && (equals < 0 || equals > line.indexOf("<<"))) {
      const [, name, delimiter] = heredoc as unknown as [string, string, string];
      const end = lines.indexOf(delimiter, i + 1);
      if (end < 0) {
        throw new FileCommandError(
          `${file}: '${name}<<${delimiter}' is never closed by a '${delimiter}' line`,
        );
      }
      values[name] = lines.slice(i + 1, end).join("\n");
      i = end;
    } else if (equals > 0) {
      values[line.slice(0, equals)] = line.slice(equals + 1);
    } else {
      throw new FileCommandError(`${file}: invalid line '${line}' (expected name=value or name<<DELIMITER)`);
    }
  }
  return values;
}
