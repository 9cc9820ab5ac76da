import type { Figure } from "./figure.js";
import { escapeHtml, plotlyBundle } from "./html-report.js";

/** A Jupyter MIME bundle: one output, several representations; the front end picks the richest it can render. */
export type MimeBundle = Record<string, unknown>;

export const PLOTLY_MIME = "application/vnd.plotly.v1+json";

/** The shape of a danfojs DataFrame that the table renderer needs (kept structural: no danfo types in src/). */
export interface FrameLike {
  columns: string[];
  values: unknown[][] | unknown[];
  index: (string | number)[];
}

function formatCell(value: unknown): string {
  if (value === null || value === undefined || (typeof value === "number" && Number.isNaN(value)))
    return '<td class="na">NaN</td>';
  if (typeof value === "number")
    return `<td>${Number.isInteger(value) ? value : Number(value.toPrecision(6))}</td>`;
  return `<td>${escapeHtml(String(value))}</td>`;
}

/** An HTML table of a DataFrame (head, describe, value counts…), truncated to `maxRows` rows. */
export function frameHtml(frame: FrameLike, options: { maxRows?: number; caption?: string } = {}): string {
  const maxRows = options.maxRows ?? 20;
  const rows = (frame.values as unknown[]).map((row) => (Array.isArray(row) ? row : [row]));
  const shown = rows.slice(0, maxRows);
  const head = `<tr><th></th>${frame.columns.map((c) => `<th>${escapeHtml(String(c))}</th>`).join("")}</tr>`;
  const body = shown
    .map(
      (row, i) =>
        `<tr><th>${escapeHtml(String(frame.index[i] ?? i))}</th>${row.map(formatCell).join("")}</tr>`,
    )
    .join("");
  const more =
    rows.length > maxRows
      ? `<p>… ${rows.length - maxRows} more rows (${rows.length} × ${frame.columns.length})</p>`
      : "";
  const caption = options.caption ? `<caption>${escapeHtml(options.caption)}</caption>` : "";
  return `<table class="dataframe">${caption}<thead>${head}</thead><tbody>${body}</tbody></table>${more}`;
}

let bundleSentInThisKernel = false;

/**
 * A plotly figure as a MIME bundle: JupyterLab renders `application/vnd.plotly.v1+json` natively (also in
 * untrusted notebooks, where scripts in HTML outputs do not run); other front ends and HTML exports fall back
 * to `text/html`, which carries the plotly.js bundle from the installed package the first time only (no CDN).
 */
export async function figureBundle(
  figure: Figure,
  options: { id?: string; height?: number } = {},
): Promise<MimeBundle> {
  const id = options.id ?? `plotly-${Math.random().toString(36).slice(2, 10)}`;
  const layout = { ...figure.layout, ...(options.height ? { height: options.height } : {}) };
  const json = JSON.stringify({ data: figure.data, layout }).replace(/<\//g, "<\\/");
  let library = "";
  if (!bundleSentInThisKernel) {
    library = `<script type="text/javascript">${await plotlyBundle()}</script>`;
    bundleSentInThisKernel = true;
  }
  const html = `${library}<div id="${id}" class="plotly-graph-div" style="min-height:${options.height ?? 420}px"></div><script type="text/javascript">(function(){var f=${json};window.Plotly.newPlot("${id}",f.data,f.layout,{responsive:true,displaylogo:false});})();</script>`;
  return {
    [PLOTLY_MIME]: { data: figure.data, layout, config: { displaylogo: false } },
    "text/html": html,
    "text/plain": `<plotly figure: ${String((figure.layout.title as { text?: string } | undefined)?.text ?? "untitled")}>`,
  };
}

/** Forgets that the plotly bundle was sent (a new notebook session). */
export function resetPlotlyBundle(): void {
  bundleSentInThisKernel = false;
}
