import { WorkbenchError } from "../shared/errors.js";
import type { Figure } from "./figure.js";
import { escapeHtml } from "./html-report.js";
import { type FrameLike, figureBundle, frameHtml, type MimeBundle } from "./notebook.js";

type DisplayWriter = (
  message: { data: MimeBundle; metadata: object; transient: object },
  update: boolean,
) => void;

/** tslab's process-wide display hook (the same module instance the kernel uses). */
async function displayWriter(): Promise<DisplayWriter> {
  // A variable keeps TypeScript from resolving tslab (a dev dependency) when src/ is compiled elsewhere.
  const moduleName = "tslab/dist/jupyter.js";
  let hook: DisplayWriter | null = null;
  try {
    hook = ((await import(moduleName)) as { lastWriteDisplayData: DisplayWriter | null })
      .lastWriteDisplayData;
  } catch {
    hook = null;
  }
  if (hook === null) {
    throw new WorkbenchError(
      "NOT_IN_NOTEBOOK",
      "Display helpers need a running tslab kernel (open the notebook with `npm run lab`).",
    );
  }
  return hook;
}

/** Displays a MIME bundle as one output of the current cell. */
export async function display(bundle: MimeBundle): Promise<void> {
  (await displayWriter())({ data: bundle, metadata: {}, transient: {} }, false);
}

/** Displays a plotly figure (native plotly MIME in JupyterLab, HTML with the bundled plotly.js elsewhere). */
export async function showFigure(figure: Figure, options: { height?: number } = {}): Promise<void> {
  await display(await figureBundle(figure, options));
}

/** Displays a danfojs DataFrame (or anything with columns/values/index) as an HTML table. */
export async function showFrame(
  frame: FrameLike,
  options: { maxRows?: number; caption?: string } = {},
): Promise<void> {
  const html = frameHtml(frame, options);
  await display({ "text/html": html, "text/plain": `DataFrame ${frame.columns.length} columns` });
}

export async function showHtml(html: string): Promise<void> {
  await display({ "text/html": html, "text/plain": html.replace(/<[^>]+>/g, "") });
}

/** A small key/value table, e.g. a summary of a run. */
export async function showSummary(title: string, entries: Record<string, string | number>): Promise<void> {
  const rows = Object.entries(entries)
    .map(
      ([k, v]) =>
        `<tr><th style="text-align:left">${escapeHtml(k)}</th><td>${escapeHtml(String(v))}</td></tr>`,
    )
    .join("");
  await showHtml(`<h4>${escapeHtml(title)}</h4><table>${rows}</table>`);
}
