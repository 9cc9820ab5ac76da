import { z } from "zod";
import type { HttpTransport } from "./http.js";
import { paginate } from "./paginate.js";
import type { LoggedModel, Page, StringMap } from "./types.js";
import { emptySchema, loggedModelSchema, pageSchema, toKeyValues } from "./wire.js";

const API = "/api/2.0/mlflow/logged-models";

export interface CreateLoggedModelOptions {
  experimentId: string;
  name: string;
  modelType?: string;
  /** The run that produced the model. */
  sourceRunId?: string;
  params?: StringMap;
  tags?: StringMap;
}

export interface LoggedModelSearch {
  experimentIds: readonly string[];
  /** e.g. "name = 'credit-mlp' AND metrics.roc_auc > 0.7" */
  filter?: string;
  orderBy?: readonly { fieldName: string; ascending?: boolean }[];
  pageSize?: number;
  limit?: number;
}

const modelResponse = z.object({ model: loggedModelSchema });

/** MLflow 3 logged models: the first-class model entity that registry versions point at. */
export class LoggedModelsApi {
  constructor(private readonly http: HttpTransport) {}

  /** Creates a PENDING logged model; upload its files to `artifactUri`, then finalize it. */
  async create(options: CreateLoggedModelOptions): Promise<LoggedModel> {
    const res = await this.http.json({
      method: "POST",
      path: API,
      body: {
        experiment_id: options.experimentId,
        name: options.name,
        model_type: options.modelType,
        source_run_id: options.sourceRunId,
        params: toKeyValues(options.params),
        tags: toKeyValues(options.tags),
      },
      schema: modelResponse,
    });
    return res.model;
  }

  async get(modelId: string): Promise<LoggedModel> {
    const res = await this.http.json({
      method: "GET",
      path: `${API}/${encodeURIComponent(modelId)}`,
      schema: modelResponse,
    });
    return res.model;
  }

  /** Marks the upload complete (READY) or failed. */
  async finalize(modelId: string, status: "READY" | "FAILED" = "READY"): Promise<LoggedModel> {
    const res = await this.http.json({
      method: "PATCH",
      path: `${API}/${encodeURIComponent(modelId)}`,
      body: {
        model_id: modelId,
        status: status === "READY" ? "LOGGED_MODEL_READY" : "LOGGED_MODEL_UPLOAD_FAILED",
      },
      schema: modelResponse,
    });
    return res.model;
  }

  async delete(modelId: string): Promise<void> {
    await this.http.json({
      method: "DELETE",
      path: `${API}/${encodeURIComponent(modelId)}`,
      schema: emptySchema,
    });
  }

  async searchPage(query: LoggedModelSearch, pageToken?: string): Promise<Page<LoggedModel>> {
    return this.http.json({
      method: "POST",
      path: `${API}/search`,
      body: {
        experiment_ids: query.experimentIds,
        filter: query.filter,
        order_by: query.orderBy?.map((o) => ({ field_name: o.fieldName, ascending: o.ascending ?? true })),
        max_results: query.pageSize ?? 100,
        page_token: pageToken,
      },
      schema: pageSchema("models", loggedModelSchema),
    });
  }

  search(query: LoggedModelSearch): AsyncGenerator<LoggedModel, void, undefined> {
    return paginate((token) => this.searchPage(query, token), query.limit);
  }

  async logParams(modelId: string, params: StringMap): Promise<void> {
    await this.http.json({
      method: "POST",
      path: `${API}/${encodeURIComponent(modelId)}/params`,
      body: { model_id: modelId, params: toKeyValues(params) },
      schema: emptySchema,
    });
  }

  async setTags(modelId: string, tags: StringMap): Promise<void> {
    await this.http.json({
      method: "PATCH",
      path: `${API}/${encodeURIComponent(modelId)}/tags`,
      body: { model_id: modelId, tags: toKeyValues(tags) },
      schema: emptySchema,
    });
  }

  async deleteTag(modelId: string, key: string): Promise<void> {
    await this.http.json({
      method: "DELETE",
      path: `${API}/${encodeURIComponent(modelId)}/tags/${encodeURIComponent(key)}`,
      schema: emptySchema,
    });
  }
}
