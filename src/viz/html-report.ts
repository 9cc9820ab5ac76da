import { readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import type { Figure } from "./figure.js";

export interface ReportSection {
  heading: string;
  /** Plain text paragraphs (escaped). */
  text?: string;
  figure?: Figure;
  /** A small table: header row then rows. */
  table?: {
    columns: string[];
    rows: (string | number)[][];
    /**
     * Per column; by default numbers sit right and words left, wrapped anywhere (long texts). Explicit "left"
     * cells wrap between words only; "right" suits numbers preformatted as text.
     */
    align?: ("left" | "right")[];
  };
  /** A verdict banner: the section is framed green ("good") or red ("bad"). */
  tone?: "good" | "bad";
}

let plotlySource: Promise<string> | undefined;

/** The plotly.js bundle from the installed package (read once, never from a CDN). */
export function plotlyBundle(): Promise<string> {
  plotlySource ??= readFile(
    createRequire(import.meta.url).resolve("plotly.js-dist-min/plotly.min.js"),
    "utf8",
  );
  return plotlySource;
}

export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
}

function tableHtml(table: NonNullable<ReportSection["table"]>): string {
  // Numbers right-aligned, words (class names, texts: wrapped anywhere) left-aligned, unless the table says
  // otherwise (explicitly left-aligned cells wrap between words only).
  const side = (v: string | number | undefined, i: number) => {
    const align = table.align?.[i];
    if (align !== undefined) return align === "left" ? ' class="l"' : "";
    return typeof v === "string" ? ' class="t"' : "";
  };
  const cell = (v: string | number, i: number) => {
    const text = typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toFixed(4)) : v;
    return `<td${side(v, i)}>${escapeHtml(text)}</td>`;
  };
  // A header sits on the side of its column's values.
  const header = (c: string, i: number) => `<th${side(table.rows[0]?.[i], i)}>${escapeHtml(c)}</th>`;
  return `<table><thead><tr>${table.columns.map(header).join("")}</tr></thead><tbody>${table.rows
    .map((r) => `<tr>${r.map(cell).join("")}</tr>`)
    .join("")}</tbody></table>`;
}

/** Renders a self-contained HTML page: plotly.js inlined once, one div per figure. */
export async function renderHtmlReport(title: string, sections: readonly ReportSection[]): Promise<string> {
  const body = sections
    .map((s, i) => {
      const parts = [`<h2>${escapeHtml(s.heading)}</h2>`];
      if (s.text) parts.push(...s.text.split("\n\n").map((p) => `<p>${escapeHtml(p)}</p>`));
      if (s.table) parts.push(tableHtml(s.table));
      if (s.figure) {
        // No "<" inside the script at all: "</script>" would end it and "<!--<script" would keep it open
        // past its end tag (labels are data). In JSON strings \u003c reads back as "<".
        const json = JSON.stringify(s.figure).replace(/</g, "\\u003c");
        parts.push(
          `<div id="fig-${i}" class="figure"></div><script>(function(){var f=${json};Plotly.newPlot("fig-${i}",f.data,f.layout,{responsive:true,displaylogo:false});})();</script>`,
        );
      }
      const tone = s.tone === undefined ? "" : ` class="tone-${s.tone}"`;
      return `<section${tone}>${parts.join("\n")}</section>`;
    })
    .join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ddd;padding:4px 8px;text-align:right}th{background:#f5f5f5}
th.t,td.t{text-align:left;max-width:640px;overflow-wrap:anywhere}
th.l,td.l{text-align:left}td:not(.t):not(.l){white-space:nowrap}
.figure{min-height:420px}
section.tone-good,section.tone-bad{border-left:6px solid;padding:.2em 1em;margin:1em 0}
section.tone-good{border-color:#2e7d32;background:#edf7ee}section.tone-bad{border-color:#c62828;background:#fdecea}</style>
<script>${await plotlyBundle()}</script></head>
<body><h1>${escapeHtml(title)}</h1>
${body}
</body></html>
`;
}

export async function writeHtmlReport(
  file: string,
  title: string,
  sections: readonly ReportSection[],
): Promise<string> {
  await writeFile(file, await renderHtmlReport(title, sections));
  return file;
}
