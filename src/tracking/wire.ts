/**
 * zod schemas of MLflow's REST responses (snake_case, proto3 JSON), each converting to a domain type.
 * proto3 omits empty fields, int64 may arrive as a number or a string, and doubles may be "NaN".
 */
import { z } from "zod";
import type {
  Dataset,
  Experiment,
  FileInfo,
  LoggedModel,
  LoggedModelStatus,
  Metric,
  ModelVersion,
  RegisteredModel,
  Run,
  RunInfo,
  StringMap,
} from "./types.js";

const int64 = z.union([
  z.number(),
  z
    .string()
    .regex(/^-?\d+$/)
    .transform(Number),
]);
const optInt64 = int64.optional();
const double = z.union([
  z.number(),
  z.enum(["NaN", "Infinity", "-Infinity"]).transform((text) => Number(text)),
]);

const keyValues = z
  .array(z.object({ key: z.string(), value: z.string().optional() }))
  .optional()
  .transform(
    (list): StringMap => Object.fromEntries((list ?? []).map((entry) => [entry.key, entry.value ?? ""])),
  );

export const metricSchema = z
  .object({
    key: z.string(),
    value: double.optional(),
    timestamp: optInt64,
    step: optInt64,
    dataset_name: z.string().optional(),
    dataset_digest: z.string().optional(),
    model_id: z.string().optional(),
    run_id: z.string().optional(),
  })
  .transform(
    (m): Metric => ({
      key: m.key,
      value: m.value ?? 0,
      timestamp: m.timestamp ?? 0,
      step: m.step ?? 0,
      datasetName: m.dataset_name,
      datasetDigest: m.dataset_digest,
      modelId: m.model_id,
      runId: m.run_id,
    }),
  );

const lifecycle = z.enum(["active", "deleted"]).default("active");

export const experimentSchema = z
  .object({
    experiment_id: z.string(),
    name: z.string(),
    artifact_location: z.string().default(""),
    lifecycle_stage: lifecycle,
    creation_time: optInt64,
    last_update_time: optInt64,
    tags: keyValues,
  })
  .transform(
    (e): Experiment => ({
      experimentId: e.experiment_id,
      name: e.name,
      artifactLocation: e.artifact_location,
      lifecycleStage: e.lifecycle_stage,
      creationTime: e.creation_time,
      lastUpdateTime: e.last_update_time,
      tags: e.tags,
    }),
  );

export const runInfoSchema = z
  .object({
    run_id: z.string().optional(),
    run_uuid: z.string().optional(),
    run_name: z.string().default(""),
    experiment_id: z.string(),
    user_id: z.string().default(""),
    status: z.enum(["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"]).default("RUNNING"),
    start_time: optInt64,
    end_time: optInt64,
    artifact_uri: z.string().default(""),
    lifecycle_stage: lifecycle,
  })
  .refine((info) => (info.run_id ?? info.run_uuid) !== undefined, { message: "run_id is missing" })
  .transform(
    (i): RunInfo => ({
      runId: (i.run_id ?? i.run_uuid) as string,
      runName: i.run_name,
      experimentId: i.experiment_id,
      userId: i.user_id,
      status: i.status,
      startTime: i.start_time,
      endTime: i.end_time,
      artifactUri: i.artifact_uri,
      lifecycleStage: i.lifecycle_stage,
    }),
  );

export const datasetSchema = z
  .object({
    name: z.string(),
    digest: z.string(),
    source_type: z.string().default(""),
    source: z.string().default(""),
    schema: z.string().optional(),
    profile: z.string().optional(),
  })
  .transform(
    (d): Dataset => ({
      name: d.name,
      digest: d.digest,
      sourceType: d.source_type,
      source: d.source,
      schema: d.schema,
      profile: d.profile,
    }),
  );

export const runSchema = z
  .object({
    info: runInfoSchema,
    data: z
      .object({ metrics: z.array(metricSchema).default([]), params: keyValues, tags: keyValues })
      .default({}),
    inputs: z
      .object({
        dataset_inputs: z.array(z.object({ tags: keyValues, dataset: datasetSchema })).default([]),
        model_inputs: z.array(z.object({ model_id: z.string() })).default([]),
      })
      .default({}),
    outputs: z
      .object({ model_outputs: z.array(z.object({ model_id: z.string(), step: optInt64 })).default([]) })
      .default({}),
  })
  .transform(
    (r): Run => ({
      info: r.info,
      data: r.data,
      inputs: {
        datasetInputs: r.inputs.dataset_inputs,
        modelInputs: r.inputs.model_inputs.map((m) => ({ modelId: m.model_id })),
      },
      outputs: {
        modelOutputs: r.outputs.model_outputs.map((m) => ({ modelId: m.model_id, step: m.step ?? 0 })),
      },
    }),
  );

export const fileInfoSchema = z
  .object({ path: z.string(), is_dir: z.boolean().default(false), file_size: optInt64 })
  .transform((f): FileInfo => ({ path: f.path, isDir: f.is_dir, fileSize: f.file_size }));

const loggedModelStatus = z
  .string()
  .default("LOGGED_MODEL_STATUS_UNSPECIFIED")
  .transform((s): LoggedModelStatus => {
    if (s === "LOGGED_MODEL_READY") return "READY";
    if (s === "LOGGED_MODEL_PENDING") return "PENDING";
    if (s === "LOGGED_MODEL_UPLOAD_FAILED") return "FAILED";
    return "UNSPECIFIED";
  });

export const loggedModelSchema = z
  .object({
    info: z.object({
      model_id: z.string(),
      experiment_id: z.string(),
      name: z.string().default(""),
      creation_timestamp_ms: optInt64,
      last_updated_timestamp_ms: optInt64,
      artifact_uri: z.string().default(""),
      status: loggedModelStatus,
      model_type: z.string().optional(),
      source_run_id: z.string().optional(),
      status_message: z.string().optional(),
      tags: keyValues,
      registrations: z.array(z.object({ name: z.string(), version: z.string() })).default([]),
    }),
    data: z.object({ params: keyValues, metrics: z.array(metricSchema).default([]) }).default({}),
  })
  .transform(
    ({ info, data }): LoggedModel => ({
      modelId: info.model_id,
      experimentId: info.experiment_id,
      name: info.name,
      artifactUri: info.artifact_uri,
      status: info.status,
      statusMessage: info.status_message,
      creationTimestampMs: info.creation_timestamp_ms,
      lastUpdatedTimestampMs: info.last_updated_timestamp_ms,
      modelType: info.model_type,
      sourceRunId: info.source_run_id,
      tags: info.tags,
      params: data.params,
      metrics: data.metrics,
      registrations: info.registrations,
    }),
  );

export const modelVersionSchema = z
  .object({
    name: z.string(),
    version: z.union([z.string(), z.number().transform(String)]),
    creation_timestamp: optInt64,
    last_updated_timestamp: optInt64,
    user_id: z.string().optional(),
    description: z.string().optional(),
    source: z.string().default(""),
    run_id: z.string().optional(),
    run_link: z.string().optional(),
    model_id: z.string().optional(),
    status: z.enum(["PENDING_REGISTRATION", "FAILED_REGISTRATION", "READY"]).default("READY"),
    status_message: z.string().optional(),
    tags: keyValues,
    aliases: z.array(z.string()).default([]),
  })
  .transform(
    (v): ModelVersion => ({
      name: v.name,
      version: v.version,
      creationTimestamp: v.creation_timestamp,
      lastUpdatedTimestamp: v.last_updated_timestamp,
      userId: v.user_id,
      description: v.description,
      source: v.source,
      runId: v.run_id === "" ? undefined : v.run_id,
      runLink: v.run_link,
      // The SQL registry does not echo model_id; a logged model's source is `models:/<model_id>`.
      modelId: v.model_id || /^models:\/(m-[0-9a-f]+)$/.exec(v.source)?.[1] || undefined,
      status: v.status,
      statusMessage: v.status_message,
      tags: v.tags,
      aliases: v.aliases,
    }),
  );

export const registeredModelSchema = z
  .object({
    name: z.string(),
    creation_timestamp: optInt64,
    last_updated_timestamp: optInt64,
    description: z.string().optional(),
    latest_versions: z.array(modelVersionSchema).default([]),
    tags: keyValues,
    aliases: z
      .array(z.object({ alias: z.string(), version: z.union([z.string(), z.number().transform(String)]) }))
      .default([]),
  })
  .transform(
    (m): RegisteredModel => ({
      name: m.name,
      creationTimestamp: m.creation_timestamp,
      lastUpdatedTimestamp: m.last_updated_timestamp,
      description: m.description,
      latestVersions: m.latest_versions,
      tags: m.tags,
      aliases: Object.fromEntries(m.aliases.map((a) => [a.alias, a.version])),
    }),
  );

/** Responses that carry nothing we use. */
export const emptySchema = z.unknown().transform(() => undefined);

/** `{ next_page_token?: string }` plus a list under `key`. */
export function pageSchema<T>(key: string, item: z.ZodType<T, z.ZodTypeDef, unknown>) {
  return z
    .object({ [key]: z.array(item).default([]), next_page_token: z.string().optional() })
    .transform((page) => ({
      items: page[key] as T[],
      nextPageToken: page.next_page_token === "" ? undefined : (page.next_page_token as string | undefined),
    }));
}

/** Converts a tag record to MLflow's `[{key, value}]`. */
export function toKeyValues(map: Readonly<StringMap> | undefined): { key: string; value: string }[] {
  return Object.entries(map ?? {}).map(([key, value]) => ({ key, value }));
}

/** Encodes a double the way proto3 JSON spells non-finite values. */
export function encodeDouble(value: number): number | string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "Infinity";
  if (value === Number.NEGATIVE_INFINITY) return "-Infinity";
  return value;
}
