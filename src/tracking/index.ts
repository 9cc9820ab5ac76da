export { ArtifactsApi, proxyPathOf } from "./artifacts.js";
export type { BatchInput, MetricPoint } from "./batch.js";
export { chunkBatch } from "./batch.js";
export { MlflowClient, type MlflowClientOptions } from "./client.js";
export {
  DEFAULT_RETRY,
  parseTrackingUri,
  type RetryPolicy,
  resolveConnection,
  type TrackingAuth,
  type TrackingConnection,
} from "./connection.js";
export { type ExperimentSearch, ExperimentsApi } from "./experiments.js";
export { HttpTransport } from "./http.js";
export { type CreateLoggedModelOptions, type LoggedModelSearch, LoggedModelsApi } from "./logged-models.js";
export { collect, paginate } from "./paginate.js";
export { type CreateModelVersionOptions, RegistryApi, type RegistrySearch } from "./registry.js";
export { type CreateRunOptions, type RunSearch, RunsApi } from "./runs.js";
export { MLFLOW_TAGS, readGitState, type SourceType, standardRunTags } from "./source-tags.js";
export type * from "./types.js";
export { LIMITS, type NonFiniteMetricPolicy } from "./validation.js";
export { ActiveRun, type WithRunOptions, withRun } from "./with-run.js";
