import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { describe, expect, it } from "vitest";
import { normalizeArgv } from "../../../src/cli/ct-command.js";
import { EXIT, exitCodeFor } from "../../../src/cli/exit-codes.js";
import { appendStepSummary, imageTags, writeGithubOutputs } from "../../../src/cli/github.js";
import {
  ConfigError,
  DataValidationError,
  ModelNotFoundError,
  TrackingError,
  WorkbenchError,
} from "../../../src/shared/errors.js";
import { tempDir } from "../../helpers/temp.js";

const tmp = tempDir("ct-command-");
let files = 0;
/** A fresh, empty file in the temp dir. */
const emptyFile = async (name: string) => tmp.file(`${++files}-${name}`, "");
/** A path in the temp dir that nothing has written (yet). */
const unwritten = async (name: string) => {
  await emptyFile("anchor");
  return path.join(tmp.path(), `${++files}-${name}`);
};

describe("normalizeArgv", () => {
  it("given --flag=true|1|yes for a boolean flag, then it becomes the bare flag", () => {
    expect(
      normalizeArgv([
        "--dry-run=true",
        "--force-promote=1",
        "--keep-server=YES",
        "--exit-zero-when-kept= True ",
      ]),
      "truthy values",
    ).toEqual(["--dry-run", "--force-promote", "--keep-server", "--exit-zero-when-kept"]);
  });

  it("given --flag=false|0|no|<empty> for a boolean flag, then the flag is dropped", () => {
    expect(
      normalizeArgv(["--dry-run=false", "--force-promote=0", "--keep-server=no", "--exit-zero-when-kept="]),
      "falsy values",
    ).toEqual([]);
  });

  it('given a string flag with an empty value (--model ""), then the flag and its value are dropped', () => {
    expect(normalizeArgv(["--model", "", "--config", "configs/x.yaml"]), "empty --model").toEqual([
      "--config",
      "configs/x.yaml",
    ]);
    expect(normalizeArgv(["--export", "  ", "--dry-run"]), "blank --export").toEqual(["--dry-run"]);
  });

  it("given --name= with an empty inline value, then the token is dropped", () => {
    expect(normalizeArgv(["--config=", "--model=credit-default", "--data= "]), "empty inline values").toEqual(
      ["--model=credit-default"],
    );
  });

  it("given ordinary tokens, then they pass through untouched and in order", () => {
    const argv = [
      "--config",
      "configs/credit-default.yaml",
      "--set",
      "training.candidates.0.params.epochs=2",
      "--set=seed=7",
      "--data",
      "logged",
      "--dry-run",
      "positional",
    ];
    expect(normalizeArgv(argv), "unchanged").toEqual(argv);
  });

  it("given an invalid boolean value, then the token is kept so that parseArgs reports it", () => {
    expect(normalizeArgv(["--dry-run=maybe"]), "kept verbatim").toEqual(["--dry-run=maybe"]);
    const parse = () =>
      parseArgs({
        args: normalizeArgv(["--dry-run=maybe"]),
        options: { "dry-run": { type: "boolean" } },
        strict: true,
      });
    expect(parse, "parseArgs rejects it").toThrow(
      expect.objectContaining({
        code: "ERR_PARSE_ARGS_INVALID_OPTION_VALUE",
        message: "Option '--dry-run' does not take an argument",
      }),
    );
  });

  it("given an empty token after a boolean flag, then the flag is kept (a boolean takes no value)", () => {
    expect(normalizeArgv(["--dry-run", "", "--model", "m"]), "flag kept").toEqual([
      "--dry-run",
      "",
      "--model",
      "m",
    ]);
  });
});

describe("exitCodeFor and EXIT", () => {
  const table: [string, number][] = [
    ["PROMOTION_CONFLICT", 4],
    ["RECIPE_MISSING", 5],
    ["RECIPE_INVALID", 5],
    ["RECIPE_VERSION_UNSUPPORTED", 5],
    ["REPLAY_DATA_CHANGED", 6],
    ["REPLAY_DATA_UNAVAILABLE", 6],
    ["REPLAY_CODE_MISMATCH", 7],
    ["REPLAY_TREE_DIRTY", 7],
    ["REPLAY_CODE_UNKNOWN", 7],
    ["CT_NO_CHAMPION_NO_CONFIG", 8],
    ["CHAMPION_MISSING", 8],
    ["MODEL_NOT_FOUND", 8],
    ["RUN_NOT_FOUND", 8],
    ["ROLLBACK_NOTHING", 8],
    ["TRACKING_UNREACHABLE", 9],
    ["TRACKING_TIMEOUT", 9],
    ["CT_USAGE", 2],
    ["REPLAY_SOURCE_INVALID", 2],
  ];

  for (const [code, exit] of table) {
    it(`given a WorkbenchError ${code}, then the exit code is ${exit}`, () => {
      expect(exitCodeFor(new WorkbenchError(code, "x")), code).toBe(exit);
    });
  }

  it("given the named subclasses, then they map by their code", () => {
    expect(exitCodeFor(new ModelNotFoundError("gone")), "ModelNotFoundError").toBe(EXIT.notFound);
    expect(exitCodeFor(new TrackingError("TRACKING_UNREACHABLE", "down")), "TrackingError").toBe(
      EXIT.unreachable,
    );
    expect(exitCodeFor(new TrackingError("TRACKING_HTTP_ERROR", "500")), "other tracking error").toBe(
      EXIT.failed,
    );
  });

  it("given a ConfigError (any code), DATA_* or CONFIG_* error, then the exit code is 10", () => {
    expect(exitCodeFor(new ConfigError("bad")), "ConfigError").toBe(10);
    expect(exitCodeFor(new ConfigError("bad", { code: "FEATURE_UNKNOWN" })), "ConfigError, own code").toBe(
      10,
    );
    expect(exitCodeFor(new DataValidationError("DATA_EMPTY", "empty")), "DATA_*").toBe(10);
    expect(exitCodeFor(new WorkbenchError("CONFIG_OVERRIDE_INVALID", "x")), "CONFIG_*").toBe(10);
  });

  it("given an unknown WorkbenchError, a plain Error or a non-error, then the exit code is 1", () => {
    expect(exitCodeFor(new WorkbenchError("NOTEBOOK_FAILED", "x")), "unknown code").toBe(1);
    expect(exitCodeFor(new Error("boom")), "plain Error").toBe(1);
    expect(exitCodeFor("boom"), "a thrown string").toBe(1);
    expect(exitCodeFor(undefined), "undefined").toBe(1);
  });

  it("given EXIT, then every value is distinct and ok/failed/usage are 0/1/2", () => {
    const values = Object.values(EXIT);
    expect(new Set(values).size, `distinct: ${JSON.stringify(EXIT)}`).toBe(values.length);
    expect([EXIT.ok, EXIT.failed, EXIT.usage, EXIT.invalid], "conventional codes").toEqual([0, 1, 2, 10]);
  });
});

/** Parses $GITHUB_OUTPUT the way the runner does: `k=v` lines and `k<<MARKER` … `MARKER` blocks. */
function parseGithubOutput(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === "") continue;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc !== null) {
      const end = lines.indexOf(heredoc[2]!, i + 1);
      if (end < 0) throw new Error(`unterminated heredoc ${heredoc[2]}`);
      out[heredoc[1]!] = lines.slice(i + 1, end).join("\n");
      i = end;
      continue;
    }
    const eq = line.indexOf("=");
    if (eq < 0) throw new Error(`malformed output line: ${line}`);
    out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

describe("writeGithubOutputs", () => {
  it("given single-line values, then each is appended as a key=value line", async () => {
    const file = await emptyFile("output");
    await writeGithubOutputs(
      { promoted: "true", decision: "promote", image_tags: "a:1,a:latest" },
      {
        GITHUB_OUTPUT: file,
      },
    );
    expect(await readFile(file, "utf8"), "file content").toBe(
      "promoted=true\ndecision=promote\nimage_tags=a:1,a:latest\n",
    );
  });

  it("given a multi-line value, then it is written as a heredoc whose marker the value does not contain", async () => {
    const file = await emptyFile("output");
    const value = "line one\nEOF\nline three";
    await writeGithubOutputs({ before: "x", notes: value, after: "" }, { GITHUB_OUTPUT: file });
    const text = await readFile(file, "utf8");
    const marker = /^notes<<(\S+)$/m.exec(text)?.[1];
    expect(marker, `heredoc opener in ${JSON.stringify(text)}`).toBeDefined();
    expect(value.includes(marker!), "marker not in the value").toBe(false);
    expect(text, "heredoc block").toContain(`notes<<${marker}\n${value}\n${marker}\n`);
    expect(parseGithubOutput(text), "as the runner reads it").toEqual({
      before: "x",
      notes: value,
      after: "",
    });
  });

  it("given two multi-line values, then each heredoc gets its own marker", async () => {
    const file = await emptyFile("output");
    await writeGithubOutputs({ a: "1\n2", b: "3\n4" }, { GITHUB_OUTPUT: file });
    const markers = [...(await readFile(file, "utf8")).matchAll(/^\w+<<(\S+)$/gm)].map((m) => m[1]);
    expect(markers, "two openers").toHaveLength(2);
    expect(markers[0], "distinct markers").not.toBe(markers[1]);
  });

  it("given two calls, then the second appends instead of overwriting", async () => {
    const file = await emptyFile("output");
    await writeGithubOutputs({ a: "1" }, { GITHUB_OUTPUT: file });
    await writeGithubOutputs({ b: "2" }, { GITHUB_OUTPUT: file });
    expect(parseGithubOutput(await readFile(file, "utf8")), "both kept").toEqual({ a: "1", b: "2" });
  });

  it("given GITHUB_OUTPUT unset or empty, then nothing is written", async () => {
    const target = await unwritten("output");
    await writeGithubOutputs({ a: "1" }, {});
    await writeGithubOutputs({ a: "1" }, { GITHUB_OUTPUT: "", GITHUB_STEP_SUMMARY: target });
    expect(existsSync(target), "no file created").toBe(false);
  });
});

describe("appendStepSummary", () => {
  it("given Markdown, then it is appended with trailing whitespace trimmed and a blank line after", async () => {
    const file = await emptyFile("summary.md");
    await appendStepSummary("## One\n\n| a |\n\n\n", { GITHUB_STEP_SUMMARY: file });
    await appendStepSummary("## Two", { GITHUB_STEP_SUMMARY: file });
    expect(await readFile(file, "utf8"), "both sections").toBe("## One\n\n| a |\n\n## Two\n\n");
  });

  it("given GITHUB_STEP_SUMMARY unset or empty, then nothing is written", async () => {
    const target = await unwritten("summary.md");
    await appendStepSummary("## x", {});
    await appendStepSummary("## x", { GITHUB_STEP_SUMMARY: "", GITHUB_OUTPUT: target });
    expect(existsSync(target), "no file created").toBe(false);
  });
});

// Docker's reference grammar (distribution/reference): lower-case path components separated by
// `.`, `_`, `__` or dashes, each starting and ending with [a-z0-9]; a tag is [\w][\w.-]{0,127}.
const COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const REFERENCE = new RegExp(`^(?:ghcr\\.io/)?${COMPONENT}(?:/${COMPONENT})*:[\\w][\\w.-]{0,127}$`);

describe("imageTags", () => {
  it("given GITHUB_REPOSITORY, then the tags are ghcr.io/<owner>/<repo> lower-cased, :<model>-v<version> and :latest", () => {
    expect(
      imageTags("credit-default", "7", { GITHUB_REPOSITORY: "Acme/Credit-Workbench" }),
      "ghcr tags",
    ).toEqual(["ghcr.io/acme/credit-workbench:credit-default-v7", "ghcr.io/acme/credit-workbench:latest"]);
  });

  it("given GITHUB_REPOSITORY unset or empty, then a local <model>-serving image is tagged", () => {
    const expected = ["credit-default-serving:credit-default-v3", "credit-default-serving:latest"];
    expect(imageTags("credit-default", "3", {}), "unset").toEqual(expected);
    expect(imageTags("credit-default", "3", { GITHUB_REPOSITORY: "" }), "empty").toEqual(expected);
  });

  it("given odd characters in the model name, then they are replaced so that every reference is valid", () => {
    const local = imageTags("Credit Default/β", "12", {});
    expect(local, "sanitised local image and tag").toEqual([
      "credit-default-serving:Credit-Default-v12",
      "credit-default-serving:latest",
    ]);
    const ghcr = imageTags("fraud@2024 model", "1", { GITHUB_REPOSITORY: "Org/Repo" });
    expect(ghcr, "sanitised tag").toEqual([
      "ghcr.io/org/repo:fraud-2024-model-v1",
      "ghcr.io/org/repo:latest",
    ]);
    for (const reference of [...local, ...ghcr])
      expect(reference, "valid Docker reference").toMatch(REFERENCE);
  });

  it("given a very long model name, then the tag is cut to Docker's 128 characters", () => {
    const [versioned] = imageTags("m".repeat(200), "1", { GITHUB_REPOSITORY: "o/r" });
    expect(versioned!.split(":")[1]!.length, "tag length").toBe(128);
  });

  // Bug: a model name that starts (or, for the local image, ends) with a character outside
  // [A-Za-z0-9] is sanitised to a leading '-', which Docker rejects ("invalid reference format").
  it("given a model name starting with a non-ASCII letter, then the references are still valid Docker references", () => {
    for (const reference of [
      ...imageTags("Über-Scoring", "2", {}),
      ...imageTags("Über-Scoring", "2", { GITHUB_REPOSITORY: "o/r" }),
    ])
      expect(reference, "valid Docker reference").toMatch(REFERENCE);
  });
});
