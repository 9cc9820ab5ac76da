import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { parse } from "yaml";
import { parseModelUri } from "../../../src/serving/model-source.js";
import { projectRoot, venvExecutable } from "../../../src/shared/project.js";
import { freePort, MLFLOW_SERVER_ENV, mlflowServerArgs } from "../../../src/tracking/local-server.js";

// Docker cannot run here, so deploy/compose.yaml is checked piece by piece: its structure and wiring, and every
// command in it against what the tests run (the mlflow server arguments, the serving image's CMD, the mlflow
// healthcheck against a real server, the Prometheus configuration with promtool and a real prometheus).
const exec = promisify(execFile);
const root = projectRoot();
const deploy = path.join(root, "deploy");

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }> | string[];
  deploy?: { replicas?: number };
  volumes?: string[];
  ports?: string[];
}
interface Compose {
  services: Record<string, Service>;
  configs: Record<string, { content?: string }>;
  volumes: Record<string, unknown>;
}

let compose: Compose;
let svc: (name: string) => Service;
beforeAll(async () => {
  compose = parse(await readFile(path.join(deploy, "compose.yaml"), "utf8")) as Compose;
  svc = (name) => {
    const s = compose.services[name];
    if (s === undefined) throw new Error(`compose.yaml has no service '${name}'`);
    return s;
  };
});

/** The variable a `${NAME:?…}` / `${NAME:-…}` value reads. */
const variable = (value: string | undefined) => /^\$\{([A-Z0-9_]+)(?::[?-][^}]*)?\}$/.exec(value ?? "")?.[1];

function onPath(command: string): boolean {
  return (process.env.PATH ?? "").split(path.delimiter).some((dir) => existsSync(path.join(dir, command)));
}

describe("deploy/compose.yaml", () => {
  it("has MLflow, PostgreSQL, an S3 store, the serving replicas and Prometheus, each with an image or a build that exists", () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      ["create-bucket", "grafana", "mlflow", "postgres", "prometheus", "s3", "serving"].sort(),
    );
    for (const [name, s] of Object.entries(compose.services)) {
      expect(s.image ?? s.build, `${name} has an image or a build`).toBeDefined();
      if (s.image && !s.build) expect(s.image, `${name}'s image is pinned`).toMatch(/:[\w.-]+$/);
      if (s.build)
        expect(
          existsSync(path.resolve(deploy, s.build.context, s.build.dockerfile)),
          `${name}: ${s.build.dockerfile}`,
        ).toBe(true);
    }
    for (const name of ["postgres", "s3", "mlflow", "prometheus", "grafana"])
      expect(svc(name).healthcheck?.test.length, `${name} has a healthcheck`).toBeGreaterThan(1);
  });

  it("runs mlflow server with the arguments and environment src/tracking/local-server.ts uses, on PostgreSQL and S3", async () => {
    const mlflow = svc("mlflow");
    const backendStoreUri = "postgresql://mlflow@postgres:5432/mlflow";
    expect(mlflow.command).toEqual(
      mlflowServerArgs({
        host: "0.0.0.0",
        port: 5000,
        backendStoreUri,
        artifactsDestination: "s3://mlflow-artifacts",
        workers: 1,
      }),
    );
    const env = mlflow.environment ?? {};
    expect(env).toMatchObject(MLFLOW_SERVER_ENV);
    // The same URI shape the harness gives the server under `npm run test:postgres`: no secret, PGPASSWORD.
    const pg = svc("postgres").environment ?? {};
    expect(backendStoreUri).toBe(`postgresql://${pg.POSTGRES_USER}@postgres:5432/${pg.POSTGRES_DB}`);
    expect(variable(env.PGPASSWORD)).toBe(variable(pg.POSTGRES_PASSWORD));
    expect(variable(env.PGPASSWORD), "the password comes from deploy/.env").toBe("POSTGRES_PASSWORD");
    expect(mlflow.depends_on).toMatchObject({
      postgres: { condition: "service_healthy" },
      "create-bucket": { condition: "service_completed_successfully" },
    });
    // S3: the endpoint is the s3 service's port, the keys are the identity s3 accepts, the bucket is created.
    expect(svc("s3").command).toContain("-s3.port=8333");
    expect(env.MLFLOW_S3_ENDPOINT_URL).toBe("http://s3:8333");
    const identities = compose.configs["s3-identities"]?.content ?? "";
    for (const key of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]) {
      const name = variable(env[key]);
      expect(name, key).toBeDefined();
      expect(identities).toContain(`\${${name}:?`);
      expect(variable(svc("create-bucket").environment?.[key])).toBe(name);
    }
    expect(svc("create-bucket").entrypoint?.join("\n")).toContain('create_bucket(Bucket="mlflow-artifacts")');
    // The image holds the versions the tests run.
    const requirements = await readFile(path.join(root, "requirements.txt"), "utf8");
    const dockerfile = await readFile(path.join(deploy, "mlflow", "Dockerfile"), "utf8");
    for (const pin of ["mlflow==", "psycopg[binary]=="]) {
      const line = requirements.split("\n").find((l) => l.startsWith(pin));
      expect(line, `requirements.txt pins ${pin}`).toBeDefined();
      expect(dockerfile, `deploy/mlflow/Dockerfile installs ${line}`).toContain(line);
    }
  });

  it("the mlflow healthcheck command passes against a real server", async () => {
    const test = svc("mlflow").healthcheck?.test ?? [];
    expect(test.slice(0, 3)).toEqual(["CMD", "python", "-c"]);
    const script = test[3]!.replace("http://127.0.0.1:5000", inject("mlflowUri"));
    expect(script).not.toBe(test[3]);
    await expect(exec(venvExecutable("python"), ["-c", script])).resolves.toBeDefined();
  });

  it("the serving replicas run the Dockerfile's CMD and HEALTHCHECK, follow @champion, and reach MLflow by a host it accepts", async () => {
    const serving = svc("serving");
    expect(serving.build).toEqual({ context: "..", dockerfile: "Dockerfile" });
    expect(serving.command, "the CMD is the Dockerfile's").toBeUndefined();
    expect(serving.entrypoint).toBeUndefined();
    expect(serving.healthcheck, "the HEALTHCHECK is the Dockerfile's").toBeUndefined();
    const dockerfile = await readFile(path.join(root, "Dockerfile"), "utf8");
    expect(dockerfile).toMatch(/^CMD .*serve\.js --model \\"\$MODEL_URI\\" --host 0\.0\.0\.0 --port 8080/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*127\.0\.0\.1:8080\/health/m);
    expect(dockerfile).toMatch(/^EXPOSE 8080$/m);
    expect(serving.deploy?.replicas, "more than one replica").toBeGreaterThanOrEqual(2);
    expect(serving.volumes, "replicas are stateless").toBeUndefined();
    expect(serving.depends_on).toMatchObject({ mlflow: { condition: "service_healthy" } });
    const env = serving.environment ?? {};
    expect(parseModelUri(env.MODEL_URI ?? "")).toMatchObject({ kind: "alias", alias: "champion" });
    expect(env.MLFLOW_TRACKING_URI).toBe("http://mlflow:5000");
    expect(
      Object.keys(env).some((k) => k.startsWith("AWS_")),
      "artifacts come through the MLflow proxy",
    ).toBe(false);

    // MLflow 3 answers 403 to a Host header it does not allow; ask its own check about mlflow:5000.
    const allowed = svc("mlflow").environment?.MLFLOW_SERVER_ALLOWED_HOSTS ?? "";
    const check = [
      "import sys",
      "from mlflow.server.security_utils import get_default_allowed_hosts, is_allowed_host_header",
      "allowed = [h.strip() for h in sys.argv[1].split(',')]",
      "print(is_allowed_host_header(allowed, sys.argv[2]), is_allowed_host_header(get_default_allowed_hosts(), sys.argv[2]))",
    ].join("\n");
    const { stdout } = await exec(venvExecutable("python"), [
      "-c",
      check,
      allowed,
      new URL(env.MLFLOW_TRACKING_URI!).host,
    ]);
    expect(stdout.trim(), "allowed by the compose setting, refused by MLflow's default").toBe("True False");
  });

  it("keeps state only in PostgreSQL, the object store and Prometheus (named volumes)", () => {
    const stateful = Object.entries(compose.services)
      .filter(([, s]) =>
        (s.volumes ?? []).some((v) => Object.keys(compose.volumes).includes(v.split(":")[0]!)),
      )
      .map(([name]) => name)
      .sort();
    expect(stateful).toEqual(["postgres", "prometheus", "s3"]);
    expect(
      svc("postgres").healthcheck?.test.slice(0, 2),
      "pg_isready, as the test harness waits for it",
    ).toEqual(["CMD", "pg_isready"]);
  });
});

describe("deploy/prometheus", () => {
  const promtool = onPath("promtool");
  const prometheus = onPath("prometheus");
  const tmp: string[] = [];
  afterAll(async () => {
    await Promise.all(tmp.map((d) => rm(d, { recursive: true, force: true })));
  });

  it("the files compose mounts exist, and scrape /metrics of every serving replica on the Dockerfile's port", async () => {
    const mounts = (svc("prometheus").volumes ?? []).filter((v) => v.startsWith("./"));
    expect(mounts.length).toBe(2);
    for (const mount of mounts) expect(existsSync(path.join(deploy, mount.split(":")[0]!)), mount).toBe(true);
    const config = parse(await readFile(path.join(deploy, "prometheus", "prometheus.yml"), "utf8")) as {
      scrape_configs: {
        job_name: string;
        metrics_path?: string;
        dns_sd_configs?: { names: string[]; port: number }[];
      }[];
    };
    const job = config.scrape_configs.find((c) => c.job_name === "serving");
    expect(job).toMatchObject({
      metrics_path: "/metrics",
      dns_sd_configs: [{ names: ["serving"], port: 8080 }],
    });
  });

  it.skipIf(!promtool)(
    "promtool: the configuration is valid and the alert rules pass their unit tests",
    async () => {
      const dir = path.join(deploy, "prometheus");
      const config = await exec("promtool", ["check", "config", "prometheus.yml"], { cwd: dir });
      expect(config.stdout).toContain("SUCCESS");
      const rules = await exec("promtool", ["test", "rules", "alerts.test.yml"], { cwd: dir });
      expect(rules.stdout).toContain("SUCCESS");
    },
  );

  it.skipIf(!prometheus)(
    "prometheus starts with the compose command's flags and reports healthy with the alert rules loaded",
    async () => {
      const storage = await mkdtemp(path.join(os.tmpdir(), "prometheus-"));
      tmp.push(storage);
      const port = await freePort();
      const flags = (svc("prometheus").command ?? []).map((flag) =>
        flag
          .replace("/etc/prometheus/prometheus.yml", path.join(deploy, "prometheus", "prometheus.yml"))
          .replace("=/prometheus", `=${storage}`),
      );
      const child = spawn("prometheus", [...flags, `--web.listen-address=127.0.0.1:${port}`], {
        stdio: "ignore",
      });
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      try {
        const deadline = Date.now() + 30_000;
        let healthy = false;
        while (!healthy && Date.now() < deadline) {
          healthy = await fetch(`http://127.0.0.1:${port}/-/healthy`).then(
            (r) => r.ok,
            () => false,
          );
          if (!healthy) await new Promise((resolve) => setTimeout(resolve, 200));
        }
        expect(healthy, "GET /-/healthy (the compose healthcheck)").toBe(true);
        const rules = (await (await fetch(`http://127.0.0.1:${port}/api/v1/rules`)).json()) as {
          data: { groups: { rules: { name: string }[] }[] };
        };
        expect(rules.data.groups.flatMap((g) => g.rules.map((r) => r.name)).sort()).toEqual([
          "ServingDataQuality",
          "ServingDatasetDrift",
          "ServingErrors",
          "ServingFeatureDrift",
          "ServingHighLatencyP99",
          "ServingOutOfRange",
          "ServingReplicaDown",
          "ServingReplicasDisagree",
          "ServingShadowDisagreement",
        ]);
      } finally {
        child.kill("SIGTERM");
        await exited;
      }
    },
  );
});

describe("deploy/grafana", () => {
  it("provisions the compose Prometheus as its data source and the workbench dashboard from the mounted file", async () => {
    const grafana = svc("grafana");
    const mounts = new Map(
      (grafana.volumes ?? []).map((v) => {
        const [source, target] = v.split(":");
        return [target!, source!] as const;
      }),
    );
    for (const source of mounts.values()) expect(existsSync(path.join(deploy, source)), source).toBe(true);
    expect(mounts.get("/etc/grafana/provisioning")).toBe("./grafana/provisioning");
    const provisioning = path.join(deploy, "grafana", "provisioning");
    const datasources = parse(
      await readFile(path.join(provisioning, "datasources", "prometheus.yml"), "utf8"),
    ) as {
      datasources: { type: string; url: string; isDefault?: boolean }[];
    };
    // The data source is the prometheus service on the port its healthcheck and `ports` use.
    const prometheus = svc("prometheus");
    expect(prometheus.ports).toContain("9090:9090");
    expect(datasources.datasources).toEqual([
      expect.objectContaining({ type: "prometheus", url: "http://prometheus:9090", isDefault: true }),
    ]);
    const providers = parse(
      await readFile(path.join(provisioning, "dashboards", "workbench.yml"), "utf8"),
    ) as {
      providers: { type: string; options: { path: string } }[];
    };
    const folder = providers.providers[0]?.options.path ?? "";
    const dashboards = [...mounts].filter(([target]) => path.posix.dirname(target) === folder);
    expect(dashboards.map(([, source]) => source)).toEqual(["./grafana/workbench-dashboard.json"]);
    // The home dashboard is the mounted file, and it is a dashboard Grafana can import.
    expect(grafana.environment?.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH).toBe(dashboards[0]?.[0]);
    const dashboard = JSON.parse(
      await readFile(path.join(deploy, "grafana", "workbench-dashboard.json"), "utf8"),
    ) as {
      uid: string;
      schemaVersion: number;
    };
    expect(dashboard.uid).toBe("workbench-serving");
    expect(grafana.depends_on).toMatchObject({ prometheus: { condition: "service_healthy" } });
    expect(variable(grafana.environment?.GF_SECURITY_ADMIN_PASSWORD)).toBe("GRAFANA_ADMIN_PASSWORD");
  });

  it("deploy/.env.example names every variable compose.yaml requires", async () => {
    const text = await readFile(path.join(deploy, "compose.yaml"), "utf8");
    const required = [...new Set([...text.matchAll(/\$\{([A-Z0-9_]+):\?/g)].map((m) => m[1]!))].sort();
    const example = await readFile(path.join(deploy, ".env.example"), "utf8");
    const named = example
      .split("\n")
      .map((line) => /^([A-Z0-9_]+)=/.exec(line)?.[1])
      .filter((name): name is string => name !== undefined);
    expect(required.length).toBeGreaterThan(3);
    for (const name of required) expect(named, name).toContain(name);
  });
});
