import { randomUUID } from "node:crypto";
import { appendFile } from "node:fs/promises";

type Env = Readonly<Record<string, string | undefined>>;

/** Appends step outputs to $GITHUB_OUTPUT (when set): `key=value`, or a heredoc for multi-line values. */
export async function writeGithubOutputs(
  outputs: Record<string, string>,
  env: Env = process.env,
): Promise<void> {
  const file = env.GITHUB_OUTPUT;
  if (file === undefined || file === "") return;
  const lines = Object.entries(outputs).map(([key, value]) => {
    if (!value.includes("\n")) return `${key}=${value}\n`;
    const marker = `EOF_${randomUUID()}`;
    return `${key}<<${marker}\n${value}\n${marker}\n`;
  });
  await appendFile(file, lines.join(""));
}

/** Appends Markdown to the job summary ($GITHUB_STEP_SUMMARY) when set. */
export async function appendStepSummary(markdown: string, env: Env = process.env): Promise<void> {
  const file = env.GITHUB_STEP_SUMMARY;
  if (file === undefined || file === "") return;
  await appendFile(file, `${markdown.trimEnd()}\n\n`);
}

/** Image references for a champion: `<registry>/<repo>:<model>-v<version>` and `:latest`. */
export function imageTags(modelName: string, version: string, env: Env = process.env): string[] {
  const repository = env.GITHUB_REPOSITORY;
  // Docker references: components start and end with an alphanumeric; tags start with one.
  const trim = (s: string) => s.replace(/-{2,}/g, "-").replace(/^[-._]+|[-._]+$/g, "");
  const image =
    repository === undefined || repository === ""
      ? `${trim(modelName.toLowerCase().replace(/[^a-z0-9._-]+/g, "-")) || "model"}-serving`
      : `ghcr.io/${repository.toLowerCase()}`;
  const tag = `${trim(modelName.replace(/[^A-Za-z0-9_.-]+/g, "-")) || "model"}-v${version}`.slice(0, 128);
  return [`${image}:${tag}`, `${image}:latest`];
}
