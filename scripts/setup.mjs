#!/usr/bin/env node
// Self-bootstrapping, idempotent set-up. Plain Node with no dependencies, so it runs on a fresh clone:
//   node scripts/setup.mjs            Node dependencies and the Python venv
//   node scripts/setup.mjs --node     only `npm ci` when package-lock.json changed
//   node scripts/setup.mjs --python   only the project-local venv (.venv) with the pinned Python tools
// Each part is skipped when its stamp matches the inputs it was built from.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const args = new Set(process.argv.slice(2));
const only = (flag) => args.size === 0 || args.has(flag);
const quiet = args.has("--quiet");

function say(message) {
  if (!quiet) process.stderr.write(`[setup] ${message}\n`);
}

class SetupError extends Error {}

function fail(message) {
  throw new SetupError(message);
}

function hashFiles(files, extra = "") {
  const hash = createHash("sha256").update(extra);
  for (const file of files) hash.update(existsSync(file) ? readFileSync(file) : `missing:${file}`);
  return hash.digest("hex");
}

function run(command, commandArgs, options = {}) {
  const result = spawnSync(command, commandArgs, { cwd: root, stdio: "inherit", ...options });
  if (result.error) fail(`${command} could not start: ${result.error.message}`);
  if (result.status !== 0) fail(`${command} ${commandArgs.join(" ")} exited with ${result.status}`);
}

// Serialise concurrent set-ups (two terminals, or npm test racing npm start).
const lockDir = path.join(root, ".cache", "setup.lock");
function holderAlive() {
  try {
    const pid = Number(readFileSync(path.join(lockDir, "pid"), "utf8"));
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function withLock(fn) {
  mkdirSync(path.dirname(lockDir), { recursive: true });
  const started = Date.now();
  for (;;) {
    try {
      mkdirSync(lockDir);
      writeFileSync(path.join(lockDir, "pid"), String(process.pid));
      break;
    } catch {
      // A lock left by a set-up that died is taken over (give a fresh holder a moment to write its pid).
      if (Date.now() - started > 2000 && !holderAlive()) {
        rmSync(lockDir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() - started > 15 * 60_000)
        fail(`another set-up holds ${lockDir}; remove it if none is running`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
    }
  }
  try {
    fn();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

function setupNode() {
  const lock = path.join(root, "package-lock.json");
  const stampFile = path.join(root, "node_modules", ".workbench-setup");
  const want = hashFiles([path.join(root, "package.json"), lock], process.version);
  if (existsSync(stampFile) && readFileSync(stampFile, "utf8") === want) return;
  say("installing Node dependencies (npm install)…");
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  // `npm install` honours the lockfile; `npm ci` of npm 11.19 rejects locks it wrote itself when a package
  // has platform-specific optional dependencies (biome, rollup), so it is not used here.
  run(npm, ["install", "--no-audit", "--no-fund"]);
  // Hash again: npm install may rewrite package-lock.json, and a stamp of the old one would reinstall next time.
  writeFileSync(stampFile, hashFiles([path.join(root, "package.json"), lock], process.version));
}

function findPython() {
  const candidates = [process.env.WORKBENCH_PYTHON, "python3", "python"].filter(Boolean);
  for (const candidate of candidates) {
    const probe = spawnSync(candidate, ["-c", "import sys; print('%d.%d' % sys.version_info[:2])"], {
      encoding: "utf8",
    });
    if (probe.status === 0) {
      const [major, minor] = probe.stdout.trim().split(".").map(Number);
      if (major === 3 && minor >= 10) return { python: candidate, version: probe.stdout.trim() };
      say(`${candidate} is Python ${probe.stdout.trim()}; MLflow 3 needs 3.10 or newer`);
    }
  }
  fail(
    "Python 3.10+ was not found. Install python3 (with its venv module) or point WORKBENCH_PYTHON at one.",
  );
}

function setupPython() {
  const venv = process.env.WORKBENCH_VENV ?? path.join(root, ".venv");
  const requirements = path.join(root, "requirements.txt");
  const constraints = path.join(root, "constraints.txt");
  const bin = path.join(venv, process.platform === "win32" ? "Scripts" : "bin");
  const stampFile = path.join(venv, ".workbench-setup");
  const { python, version } = findPython();
  const want = hashFiles([requirements, constraints], version);
  if (
    existsSync(stampFile) &&
    readFileSync(stampFile, "utf8") === want &&
    existsSync(path.join(bin, "mlflow"))
  )
    return;
  if (!existsSync(path.join(bin, "python"))) {
    say(`creating the project venv at ${path.relative(root, venv) || venv} (Python ${version})…`);
    rmSync(venv, { recursive: true, force: true });
    run(python, ["-m", "venv", venv]);
  }
  say(
    "installing pinned Python tools (mlflow server, Jupyter, benchmark peers) — first run only, about a minute…",
  );
  run(path.join(bin, "python"), [
    "-m",
    "pip",
    "install",
    "--disable-pip-version-check",
    "--progress-bar",
    "off",
    "-q",
    "-r",
    requirements,
    "-c",
    constraints,
  ]);
  // The venv lives inside a "type": "module" package; JupyterLab's bundled JS expects CommonJS there.
  writeFileSync(path.join(venv, "package.json"), '{ "type": "commonjs" }\n');
  writeFileSync(stampFile, want);
  say("Python tools ready.");
}

try {
  withLock(() => {
    if (only("--node")) setupNode();
    if (only("--python")) setupPython();
  });
} catch (error) {
  if (!(error instanceof SetupError)) throw error;
  process.stderr.write(`[setup] error: ${error.message}\n`);
  process.exit(1);
}
