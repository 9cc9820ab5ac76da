import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chown, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { freePort } from "../../src/tracking/local-server.js";

const exec = promisify(execFile);

/** A throwaway PostgreSQL cluster: its own data folder, port and database, gone after stop(). */
export interface TestPostgres {
  /** SQLAlchemy/libpq URI of the database, without the password: postgresql://workbench@127.0.0.1:5433/mlflow. */
  uri: string;
  /** The user's password, for clients as PGPASSWORD (as deploy/compose.yaml gives it to MLflow). */
  password: string;
  port: number;
  database: string;
  user: string;
  /** Folder holding the cluster (data/). */
  dir: string;
  /** Runs `psql -At -c sql` against the database and returns its output. */
  query(sql: string): Promise<string>;
  stop(): Promise<void>;
}

const INSTALL_HINT =
  "PostgreSQL's server binaries were not found. Install Debian's package (apt-get install -y postgresql; " +
  ".ci/run does it on CI) or point WORKBENCH_PG_BIN at the folder holding initdb and postgres.";

/** The folder with initdb, postgres, pg_isready and psql: WORKBENCH_PG_BIN, else Debian's newest /usr/lib/postgresql/<v>/bin, else PATH. */
export async function postgresBinDir(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const has = (dir: string) =>
    ["initdb", "postgres", "pg_isready", "psql"].every((b) => existsSync(path.join(dir, b)));
  if (env.WORKBENCH_PG_BIN) {
    if (has(env.WORKBENCH_PG_BIN)) return env.WORKBENCH_PG_BIN;
    throw new Error(`WORKBENCH_PG_BIN=${env.WORKBENCH_PG_BIN} lacks initdb, postgres, pg_isready or psql.`);
  }
  // Debian puts the server binaries outside PATH (only wrappers such as psql are in /usr/bin).
  const debian = "/usr/lib/postgresql";
  const versions = existsSync(debian)
    ? (await readdir(debian)).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a))
    : [];
  const candidates = [
    ...versions.map((v) => path.join(debian, v, "bin")),
    ...(env.PATH ?? "").split(path.delimiter).filter(Boolean),
  ];
  const found = candidates.find(has);
  if (found === undefined) throw new Error(INSTALL_HINT);
  return found;
}

/** PostgreSQL refuses to run as root: then the cluster belongs to the `postgres` system user (Debian's package creates it). */
async function runAs(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const uid = Number((await exec("id", ["-u", "postgres"])).stdout.trim());
    const gid = Number((await exec("id", ["-g", "postgres"])).stdout.trim());
    return { uid, gid };
  } catch {
    throw new Error(
      "Running as root, and PostgreSQL refuses root: the `postgres` system user is missing. Install Debian's postgresql package, which creates it.",
    );
  }
}

/**
 * Starts a throwaway PostgreSQL cluster on a free loopback port, in a temp folder, with a database for
 * MLflow. TCP connections need the password (scram-sha-256), so clients are wired the way a deployment is:
 * a URI without the secret plus PGPASSWORD. initdb and postgres run as the `postgres` user when this process
 * is root. Durability is off (fsync, synchronous_commit, full_page_writes): the cluster lives for one run.
 */
export async function startTestPostgres(
  options: { database?: string; user?: string; readyTimeoutMs?: number } = {},
): Promise<TestPostgres> {
  const bin = await postgresBinDir();
  const owner = await runAs();
  const database = options.database ?? "mlflow";
  const user = options.user ?? "workbench";
  const dir = await mkdtemp(path.join(os.tmpdir(), "workbench-pg-"));
  const dataDir = path.join(dir, "data");
  const password = randomBytes(18).toString("base64url");
  const pwfile = path.join(dir, "pwfile");
  await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
  if (owner) {
    await chown(dir, owner.uid, owner.gid);
    await chown(pwfile, owner.uid, owner.gid);
  }
  const asOwner = owner ? { uid: owner.uid, gid: owner.gid } : {};
  // HOME and the locale: the postgres user's home may be unreadable, and initdb needs a locale that exists.
  const env = { ...process.env, HOME: dir, LC_ALL: "C.UTF-8", LANG: "C.UTF-8" };
  await exec(
    path.join(bin, "initdb"),
    [
      "-D",
      dataDir,
      "-U",
      user,
      `--pwfile=${pwfile}`,
      "--auth-host=scram-sha-256",
      "--auth-local=trust",
      "--encoding=UTF8",
      "--locale=C.UTF-8",
      "--no-sync",
    ],
    { ...asOwner, env, cwd: dir },
  );
  await rm(pwfile);
  const port = await freePort();
  let child: ChildProcess | undefined = spawn(
    path.join(bin, "postgres"),
    [
      "-D",
      dataDir,
      "-p",
      String(port),
      "-c",
      "listen_addresses=127.0.0.1",
      // No Unix socket: /var/run/postgresql is not ours to use, and everything connects over TCP.
      "-c",
      "unix_socket_directories=",
      "-c",
      "fsync=off",
      "-c",
      "synchronous_commit=off",
      "-c",
      "full_page_writes=off",
      "-c",
      "logging_collector=off",
    ],
    { ...asOwner, env, cwd: dir, stdio: ["ignore", "pipe", "pipe"] },
  );
  const output: string[] = [];
  const keep = (chunk: Buffer) => {
    output.push(chunk.toString("utf8"));
    output.splice(0, Math.max(0, output.length - 50));
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<void>((resolve) => child?.once("exit", () => resolve()));
  let gone = false;
  void exited.then(() => {
    gone = true;
  });

  const stop = async () => {
    if (child && !gone) {
      // SIGINT is PostgreSQL's "fast" shutdown: active sessions are ended, then it exits.
      child.kill("SIGINT");
      const timer = setTimeout(() => child?.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    }
    child = undefined;
    await rm(dir, { recursive: true, force: true });
  };
  const fail = async (what: string) => {
    const tail = output.join("").trim().split("\n").slice(-20).join("\n");
    await stop();
    return new Error(`${what}. PostgreSQL said:\n${tail}`);
  };

  // Ready when pg_isready says so (the same check deploy/compose.yaml's postgres healthcheck runs).
  const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
  for (;;) {
    if (gone) throw await fail(`postgres exited before accepting connections on port ${port}`);
    const ready = await exec(path.join(bin, "pg_isready"), [
      "-h",
      "127.0.0.1",
      "-p",
      String(port),
      "-U",
      user,
    ])
      .then(() => true)
      .catch(() => false);
    if (ready) break;
    if (Date.now() > deadline)
      throw await fail(`postgres did not accept connections on port ${port} in time`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  const psql = (db: string, sql: string) =>
    exec(
      path.join(bin, "psql"),
      [
        "-h",
        "127.0.0.1",
        "-p",
        String(port),
        "-U",
        user,
        "-d",
        db,
        "-v",
        "ON_ERROR_STOP=1",
        "-At",
        "-c",
        sql,
      ],
      {
        env: { ...env, PGPASSWORD: password },
      },
    ).then((r) => r.stdout.trim());
  try {
    await psql("postgres", `CREATE DATABASE "${database}"`);
  } catch (error) {
    throw await fail(`creating database ${database} failed: ${(error as Error).message}`);
  }
  return {
    uri: `postgresql://${user}@127.0.0.1:${port}/${database}`,
    password,
    port,
    database,
    user,
    dir,
    query: (sql) => psql(database, sql),
    stop,
  };
}
