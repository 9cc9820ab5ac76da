import { readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import type { Figure } from "./figure.js";

export interface ReportSection {
  heading: string;
  /** Plain text paragraphs (escaped). */
  text?: string;
  figure?: Figure;
  /** A small table: header row then rows. */
  table?: { columns: string[]; rows: (string | number)[][] };
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
  // Numbers right-aligned, words (class names, texts) left-aligned.
  const cell = (v: string | number) =>
    typeof v === "number"
      ? `<td>${escapeHtml(Number.isInteger(v) ? String(v) : v.toFixed(4))}</td>`
      : `<td class="t">${escapeHtml(v)}</td>`;
  // A header sits on the side of its column's values.
  const header = (c: string, i: number) =>
    typeof table.rows[0]?.[i] === "string"
      ? `<th class="t">${escapeHtml(c)}</th>`
      : `<th>${escapeHtml(c)}</th>`;
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
        // </script> cannot appear inside the JSON: escape the slash.
        const json = JSON.stringify(s.figure).replace(/<\//g, "<\\/");
        parts.push(
          `<div id="fig-${i}" class="figure"></div><script>(function(){var f=${json};Plotly.newPlot("fig-${i}",f.data,f.layout,{responsive:true,displaylogo:false});})();</script>`,
        );
      }
      return `<section>${parts.join("\n")}</section>`;
    })
    .join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ddd;padding:4px 8px;text-align:right}th{background:#f5f5f5}
th.t,td.t{text-align:left;max-width:640px;overflow-wrap:anywhere}
.figure{min-height:420px}</style>
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
