import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { loadTrainConfig } from "../../../src/config/train-config.js";
import { trainPipeline } from "../../../src/pipelines/train.js";
import { silentLogger } from "../../../src/shared/logger.js";
import { projectRoot } from "../../../src/shared/project.js";
import { freePort } from "../../../src/tracking/local-server.js";
import { datasetMirror } from "../../helpers/datasets.js";
import { testClient, uniqueName } from "../../helpers/mlflow.js";

const exec = promisify(execFile);
const root = projectRoot();
const client = testClient();
const mirror = datasetMirror();
let clean: string;
afterAll(async () => {
  client.close();
  if (clean) await rm(clean, { recursive: true, force: true });
});

interface Step {
  op: string;
  args: string;
}

/** The runtime stage of the Dockerfile as instructions (continuation lines joined). */
function runtimeStage(dockerfile: string): Step[] {
  const lines = dockerfile
    .replace(/\\\n\s*/g, " ")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  const start = lines.findIndex((l) => /^FROM .* AS runtime$/i.test(l));
  return lines.slice(start + 1).map((l) => {
    const [op, ...rest] = l.split(" ");
    return { op: op!.toUpperCase(), args: rest.join(" ") };
  });
}

describe("Docker image runtime closure (reproduced without Docker)", () => {
  it("the runtime stage's own steps, run in a clean folder with production dependencies only, serve the model", async () => {
    const dockerfile = await readFile(path.join(root, "Dockerfile"), "utf8");
    const steps = runtimeStage(dockerfile);
    expect(steps.map((s) => s.op)).toEqual([
      "ARG",
      "ARG",
      "LABEL",
      "ENV",
      "WORKDIR",
      "COPY",
      "COPY",
      "RUN",
      "COPY",
      "COPY",
      "USER",
      "EXPOSE",
      "HEALTHCHECK",
      "CMD",
    ]);
    expect(steps.find((s) => s.op === "USER")?.args, "runs as a non-root user").toBe("node");
    expect(steps.find((s) => s.op === "RUN")?.args).toContain("npm install --omit=dev");

    // The build stage: `npm run build` (tsc) — emitted to a temp folder here.
    clean = await mkdtemp(path.join(os.tmpdir(), "image-"));
    const buildOut = path.join(clean, ".build");
    await exec(
      path.join(root, "node_modules", ".bin", "tsc"),
      ["-p", path.join(root, "tsconfig.build.json"), "--outDir", buildOut],
      { cwd: root },
    );

    // A trained model to bake in (what `npm run model:export` puts in docker/model).
    const model = uniqueName("image-model");
    const config = await loadTrainConfig(path.join(root, "configs", "credit-default.yaml"), [
      "data.limit=1500",
      `experiment=${model}`,
      `registry.modelName=${model}`,
      "training.candidates=[{kind: logistic, params: {epochs: 2}}]",
    ]);
    const workDir = path.join(clean, ".work");
    await trainPipeline({ client, logger: silentLogger() }, config, {
      ...(mirror ? { mirror } : {}),
      workDir,
    });

    const app = path.join(clean, "app");
    await mkdir(app, { recursive: true });
    const env: Record<string, string> = {};
    let cmd: string[] = [];
    for (const step of steps) {
      if (step.op === "ENV") {
        // Image paths map into the clean folder: /app → app/, /tmp → tmp/.
        for (const m of step.args.matchAll(/(\w+)=(\S+)/g)) {
          const value = m[2]!;
          env[m[1]!] = value.startsWith("/app")
            ? app + value.slice(4)
            : value.startsWith("/tmp")
              ? path.join(clean, "tmp") + value.slice(4)
              : value;
        }
      } else if (step.op === "COPY") {
        const parts = step.args.split(" ");
        const dest = path.join(app, parts.at(-1)!);
        if (parts[0] === "--from=build")
          await cp(path.join(buildOut), path.join(app, "dist"), { recursive: true });
        else
          for (const source of parts.slice(0, -1))
            await cp(
              path.join(root, source),
              parts.length > 2 ? path.join(dest, path.basename(source)) : dest,
              { recursive: true },
            );
      } else if (step.op === "RUN") {
        // A throwaway npm cache: the step ends with `npm cache clean`, which must not empty the developer's cache.
        await exec("sh", ["-c", step.args], {
          cwd: app,
          env: { ...process.env, NODE_ENV: "production", npm_config_cache: path.join(clean, "npm-cache") },
          maxBuffer: 1 << 24,
          timeout: 300_000,
        });
      } else if (step.op === "CMD") {
        cmd = JSON.parse(step.args) as string[];
      }
    }
    await cp(path.join(workDir, "model"), path.join(app, "model"), { recursive: true });

    // Production closure: no development tool made it in.
    for (const dev of [
      "tsx",
      "vitest",
      "typescript",
      "tslab",
      "@biomejs/biome",
      "danfojs-node",
      "autocannon",
    ]) {
      expect(existsSync(path.join(app, "node_modules", dev)), `${dev} must not be in the image`).toBe(false);
    }
    expect(existsSync(path.join(app, "node_modules", "fastify"))).toBe(true);

    const port = await freePort();
    const command = cmd.map((part) => part.replace("--port 8080", `--port ${port}`));
    const child = spawn(command[0]!, command.slice(1), {
      cwd: app,
      env: { PATH: process.env.PATH ?? "", HOME: app, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d) => {
      output += d;
    });
    child.stderr.on("data", (d) => {
      output += d;
    });
    try {
      const deadline = Date.now() + 60_000;
      let healthy = false;
      while (!healthy && Date.now() < deadline && child.exitCode === null) {
        healthy = await fetch(`http://127.0.0.1:${port}/health`).then(
          (r) => r.ok,
          () => false,
        );
        if (!healthy) await new Promise((r) => setTimeout(r, 200));
      }
      expect(
        healthy,
        `the service never became healthy (${JSON.stringify(command)}, exit ${child.exitCode} ${child.signalCode}):\n${output}`,
      ).toBe(true);
      const row = {
        LIMIT_BAL: 50000,
        SEX: 1,
        EDUCATION: 2,
        MARRIAGE: 2,
        AGE: 35,
        PAY_0: 0,
        PAY_2: 0,
        PAY_3: 0,
        PAY_4: 0,
        PAY_5: 0,
        PAY_6: 0,
        BILL_AMT1: 1000,
        BILL_AMT2: 1000,
        BILL_AMT3: 1000,
        BILL_AMT4: 1000,
        BILL_AMT5: 1000,
        BILL_AMT6: 1000,
        PAY_AMT1: 500,
        PAY_AMT2: 500,
        PAY_AMT3: 500,
        PAY_AMT4: 500,
        PAY_AMT5: 500,
        PAY_AMT6: 500,
      };
      const response = await fetch(`http://127.0.0.1:${port}/invocations`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ dataframe_records: [row] }),
      });
      expect(response.status).toBe(200);
      expect(((await response.json()) as { predictions: unknown[] }).predictions.length).toBe(1);
      expect(output).toContain(`serving ${model}`);
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
        child.kill("SIGTERM");
        expect(await exited, "graceful exit on SIGTERM").toBe(0);
      }
    }
  }, 600_000);
});
