// What `npm run bench:monitor` prepares before measuring: Evidently's bench venv and the two CSV files.
//
// The venv (.venv-bench/monitor, gitignored) is created on first need from bench/peers/requirements-monitor.txt
// (python3 -m venv + pip install -r) and stamped with the sha256 of that file and the Python version, so it is
// rebuilt only when the pins change. It is separate from the project venv: Evidently's pins conflict with mlflow's.
//
// The data: the credit-default file from the mirror (sha256 checked against the manifest), its 23 feature
// columns with the manifest's recodes applied (EDUCATION 0/5/6 → 4, MARRIAGE 0 → 3: both sides then read the same
// values whatever their reader does), resampled with replacement (seeded) into a reference and a current file.
// The current file is shifted on three columns (SHIFTS); the other 20 are drawn from the same rows as the
// reference and should not drift. Files are cached by seed and row counts under the bench's folder.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { createWriteStream, existsSync, readFileSync, writeFileSync } from "node:fs";
import { mkdir, readFile, rename } from "node:fs/promises";
import path from "node:path";
import { type DatasetManifest, featureColumns } from "../src/data/manifest.js";
import { projectRoot } from "../src/shared/project.js";
import { createRng, deriveSeed } from "../src/shared/random.js";

/** The bench venv: created from the pinned requirements on first need (stamped); returns its python. */
export function ensureBenchVenv(progress: (message: string) => void, venv: string): string {
  const root = projectRoot();
  const requirements = path.join(root, "bench", "peers", "requirements-monitor.txt");
  const python = path.join(venv, "bin", "python");
  const stampFile = path.join(venv, ".bench-monitor-stamp");
  const basePython = process.env.WORKBENCH_PYTHON ?? "python3";
  const probe = spawnSync(basePython, ["-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"], {
    encoding: "utf8",
  });
  if (probe.error !== undefined || probe.status !== 0)
    throw new Error(
      `bench:monitor needs Python 3.10+ to create its Evidently venv, and '${basePython}' did not run (${probe.error?.message ?? probe.stderr.trim()}). Install python3 with its venv module or point WORKBENCH_PYTHON at one.`,
    );
  const version = probe.stdout.trim();
  const [major, minor] = version.split(".").map(Number);
  if (major !== 3 || minor! < 10)
    throw new Error(
      `bench:monitor needs Python 3.10+ for Evidently 0.7.23, and '${basePython}' is Python ${version}. Point WORKBENCH_PYTHON at a newer one.`,
    );
  const want = createHash("sha256").update(version).update(readFileSync(requirements)).digest("hex");
  if (existsSync(python) && existsSync(stampFile) && readFileSync(stampFile, "utf8") === want) return python;
  if (!existsSync(python)) {
    progress(`creating the bench venv ${path.relative(root, venv)} (Python ${version})`);
    runOrThrow(
      basePython,
      ["-m", "venv", venv],
      `${basePython} -m venv ${venv} (is the venv module installed?)`,
    );
  }
  progress(
    "installing Evidently and its pinned dependencies into the bench venv (first run only, a few minutes)",
  );
  runOrThrow(
    python,
    [
      "-m",
      "pip",
      "install",
      "--disable-pip-version-check",
      "--progress-bar",
      "off",
      "-q",
      "-r",
      requirements,
    ],
    `pip install -r ${path.relative(root, requirements)} into ${venv}`,
  );
  runOrThrow(python, ["-c", "import evidently"], "import evidently in the bench venv");
  writeFileSync(stampFile, want);
  return python;
}

function runOrThrow(command: string, args: string[], what: string): void {
  const result = spawnSync(command, args, { cwd: projectRoot(), stdio: ["ignore", "inherit", "inherit"] });
  if (result.error !== undefined)
    throw new Error(`${what}: could not start ${command}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${what} failed (exit ${result.status}); its output is above.`);
}

/** A shift applied to the current file: `share` of its rows get `apply(value)` (integers stay integers). */
export interface Shift {
  column: string;
  share: number;
  what: string;
  apply: (value: number) => number;
}

/** The drift planted in the current file. */
export const SHIFTS: readonly Shift[] = [
  {
    column: "LIMIT_BAL",
    share: 0.4,
    what: "x 1.3 (rounded) on 40% of rows",
    apply: (v) => Math.round(v * 1.3),
  },
  { column: "PAY_0", share: 0.3, what: "+ 1 (at most 9) on 30% of rows", apply: (v) => Math.min(9, v + 1) },
  { column: "AGE", share: 1, what: "+ 3 on every row", apply: (v) => v + 3 },
];

/** Bump when the generation changes, so that cached files are rebuilt. */
const GENERATOR_VERSION = 1;

export interface BenchData {
  reference: string;
  current: string;
  numeric: string[];
  categorical: string[];
  cached: boolean;
}

/** The reference and current CSVs for `seed` and the row counts, generated unless cached in `dir`. */
export async function benchData(input: {
  manifest: DatasetManifest;
  mirror: string;
  dir: string;
  seed: number;
  referenceRows: number;
  currentRows: number;
  progress: (message: string) => void;
}): Promise<BenchData> {
  const { manifest, seed } = input;
  const columns = featureColumns(manifest).filter((c) => c !== manifest.target.column);
  const numeric = columns.filter((c) => manifest.columns[c]!.type === "number");
  const categorical = columns.filter((c) => manifest.columns[c]!.type === "category");
  const folder = path.join(input.dir, `seed-${seed}`);
  const reference = path.join(folder, `reference-${input.referenceRows}.csv`);
  const current = path.join(folder, `current-${input.currentRows}.csv`);
  const stamp = JSON.stringify({
    generator: GENERATOR_VERSION,
    source: manifest.sha256,
    seed,
    shifts: SHIFTS.map((s) => `${s.column} ${s.what}`),
  });
  const stampOf = (file: string) => `${file}.stamp.json`;
  const fresh = (file: string) =>
    existsSync(file) && existsSync(stampOf(file)) && readFileSync(stampOf(file), "utf8") === stamp;
  if (fresh(reference) && fresh(current)) return { reference, current, numeric, categorical, cached: true };

  if (manifest.file === undefined) throw new Error(`manifest ${manifest.name} names no data file`);
  const source = path.join(input.mirror, manifest.name, manifest.file);
  const bytes = await readFile(source).catch((cause: Error) => {
    throw new Error(
      `bench:monitor reads ${source} (the data mirror, --mirror or WORKBENCH_DATA_MIRROR): ${cause.message}`,
    );
  });
  const sha = createHash("sha256").update(bytes).digest("hex");
  if (manifest.sha256 !== undefined && sha !== manifest.sha256)
    throw new Error(`${source} has sha256 ${sha}, not the manifest's ${manifest.sha256}`);
  const rows = parseRows(bytes.toString("utf8"), columns, manifest);
  input.progress(`source: ${rows.length} rows of ${source}; writing ${folder}`);
  await mkdir(folder, { recursive: true });
  if (!fresh(reference)) {
    await writeSample(
      reference,
      columns,
      rows,
      input.referenceRows,
      createRng(deriveSeed(seed, "reference")),
      [],
    );
    writeFileSync(stampOf(reference), stamp);
  }
  if (!fresh(current)) {
    await writeSample(
      current,
      columns,
      rows,
      input.currentRows,
      createRng(deriveSeed(seed, "current")),
      SHIFTS,
    );
    writeFileSync(stampOf(current), stamp);
  }
  return { reference, current, numeric, categorical, cached: false };
}

/** The feature values of every data row, recodes applied (credit-default is all integers). */
function parseRows(text: string, columns: readonly string[], manifest: DatasetManifest): Float64Array[] {
  const lines = text.split(/\r?\n/).filter((l) => l !== "");
  const header = lines[0]!.split(",").map((h) => h.replaceAll('"', "").trim());
  const at = columns.map((c) => {
    const i = header.indexOf(c);
    if (i < 0) throw new Error(`the source file has no column ${c}`);
    return i;
  });
  const recodes = columns.map((c) => {
    const spec = manifest.columns[c]!;
    return spec.type === "category" ? spec.recode : {};
  });
  return lines.slice(1).map((line, n) => {
    const cells = line.split(",");
    const row = new Float64Array(columns.length);
    for (let j = 0; j < columns.length; j++) {
      const raw = cells[at[j]!]!.replaceAll('"', "").trim();
      const mapped = recodes[j]![raw];
      const value = Number(mapped ?? raw);
      if (raw === "" || !Number.isFinite(value))
        throw new Error(`source line ${n + 2}: column ${columns[j]} holds '${raw}', not a number`);
      row[j] = value;
    }
    return row;
  });
}

async function writeSample(
  file: string,
  columns: readonly string[],
  rows: readonly Float64Array[],
  count: number,
  rng: () => number,
  shifts: readonly Shift[],
): Promise<void> {
  const planted = shifts.map((s) => ({ ...s, index: columns.indexOf(s.column) }));
  for (const s of planted) if (s.index < 0) throw new Error(`shift of unknown column ${s.column}`);
  const partial = `${file}.partial`;
  const out = createWriteStream(partial);
  let buffer = `${columns.join(",")}\n`;
  const cells = new Float64Array(columns.length);
  for (let i = 0; i < count; i++) {
    cells.set(rows[Math.floor(rng() * rows.length)]!);
    for (const s of planted) if (s.share >= 1 || rng() < s.share) cells[s.index] = s.apply(cells[s.index]!);
    buffer += `${cells.join(",")}\n`;
    if (buffer.length > 1 << 20) {
      if (!out.write(buffer)) await once(out, "drain");
      buffer = "";
    }
  }
  out.end(buffer);
  await once(out, "finish");
  await rename(partial, file);
}
