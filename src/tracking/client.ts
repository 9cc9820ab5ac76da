import type { Logger } from "../shared/logger.js";
import { ArtifactsApi } from "./artifacts.js";
import { type ResolveConnectionOptions, resolveConnection, type TrackingConnection } from "./connection.js";
import { ExperimentsApi } from "./experiments.js";
import { HttpTransport } from "./http.js";
import { LoggedModelsApi } from "./logged-models.js";
import { RegistryApi } from "./registry.js";
import { RunsApi } from "./runs.js";
import type { NonFiniteMetricPolicy } from "./validation.js";

export interface MlflowClientOptions extends ResolveConnectionOptions {
  /** A ready connection; when given, the environment is not read. */
  connection?: TrackingConnection;
  logger?: Logger;
  /** NaN/±Infinity metrics: "reject" (default) throws INVALID_PARAMETER_VALUE, "record" stores them as MLflow does. */
  nonFiniteMetrics?: NonFiniteMetricPolicy;
  /** Parallel requests for multi-chunk log-batch calls and directory transfers (default 4). */
  concurrency?: number;
  /** Injected clock, milliseconds since the epoch. */
  now?: () => number;
  /** Injected for tests. */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Typed client of an MLflow 3 tracking server, grouped like MLflow's REST API.
 *
 * @example
 * const client = MlflowClient.fromEnv(); // reads MLFLOW_TRACKING_URI and friends
 * const experimentId = await client.experiments.getOrCreate("credit-default");
 * const run = await client.runs.create({ experimentId, runName: "baseline" });
 * await client.runs.logBatch(run.info.runId, { params: { lr: 0.01 }, metrics: [{ key: "auc", value: 0.77 }] });
 */
export class MlflowClient {
  readonly connection: TrackingConnection;
  readonly experiments: ExperimentsApi;
  readonly runs: RunsApi;
  readonly artifacts: ArtifactsApi;
  readonly loggedModels: LoggedModelsApi;
  readonly registry: RegistryApi;
  readonly http: HttpTransport;

  constructor(options: MlflowClientOptions = {}) {
    this.connection = options.connection ?? resolveConnection(options);
    const concurrency = options.concurrency ?? 4;
    this.http = new HttpTransport(this.connection, {
      ...(options.logger === undefined ? {} : { logger: options.logger }),
      ...(options.sleep === undefined ? {} : { sleep: options.sleep }),
    });
    this.experiments = new ExperimentsApi(this.http);
    this.runs = new RunsApi(this.http, {
      nonFiniteMetrics: options.nonFiniteMetrics ?? "reject",
      batchConcurrency: concurrency,
      now: options.now ?? Date.now,
    });
    this.artifacts = new ArtifactsApi(this.http, concurrency);
    this.loggedModels = new LoggedModelsApi(this.http);
    this.registry = new RegistryApi(this.http, options.sleep);
  }

  /** A client configured from MLflow's environment variables (read now, not at import). */
  static fromEnv(options: Omit<MlflowClientOptions, "connection"> = {}): MlflowClient {
    return new MlflowClient(options);
  }

  get trackingUri(): string {
    return this.connection.trackingUri;
  }

  /** The MLflow UI page of a run. */
  runUrl(experimentId: string, runId: string): string {
    return `${this.trackingUri}/#/experiments/${experimentId}/runs/${runId}`;
  }

  /** The MLflow UI page of a registered model version. */
  modelVersionUrl(name: string, version: string): string {
    return `${this.trackingUri}/#/models/${encodeURIComponent(name)}/versions/${version}`;
  }

  /** Releases keep-alive sockets. */
  close(): void {
    this.http.close();
  }
}
