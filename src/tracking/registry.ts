import { z } from "zod";
import { isNotFound, ModelNotFoundError, TrackingError } from "../shared/errors.js";
import type { HttpTransport } from "./http.js";
import { paginate } from "./paginate.js";
import type { ModelVersion, Page, RegisteredModel, StringMap } from "./types.js";
import { emptySchema, modelVersionSchema, pageSchema, registeredModelSchema, toKeyValues } from "./wire.js";

const API = "/api/2.0/mlflow";

export interface RegistrySearch {
  /** e.g. "name = 'credit-default'" or "tags.team = 'risk'" */
  filter?: string;
  orderBy?: readonly string[];
  pageSize?: number;
  limit?: number;
}

export interface CreateModelVersionOptions {
  name: string;
  /** `models:/<model_id>` for an MLflow 3 logged model, or an artifact URI such as `runs:/<run>/model`. */
  source: string;
  runId?: string;
  modelId?: string;
  tags?: StringMap;
  description?: string;
  runLink?: string;
}

const registeredModelResponse = z.object({ registered_model: registeredModelSchema });
const modelVersionResponse = z.object({ model_version: modelVersionSchema });

/** MLflow answers a missing alias with INVALID_PARAMETER_VALUE "Registered model alias X not found." */
function isMissingAlias(error: unknown): boolean {
  return (
    error instanceof TrackingError &&
    error.mlflowErrorCode === "INVALID_PARAMETER_VALUE" &&
    /alias .* not found/i.test(error.message)
  );
}

async function orNotFound<T>(what: string, request: Promise<T>): Promise<T> {
  try {
    return await request;
  } catch (error) {
    if (isNotFound(error) || isMissingAlias(error)) {
      throw new ModelNotFoundError(`${what} does not exist in the model registry.`, { cause: error });
    }
    throw error;
  }
}

/** The model registry: registered models, versions, tags and aliases. */
export class RegistryApi {
  constructor(
    private readonly http: HttpTransport,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {}

  async createModel(
    name: string,
    options: { tags?: StringMap; description?: string } = {},
  ): Promise<RegisteredModel> {
    const res = await this.http.json({
      method: "POST",
      path: `${API}/registered-models/create`,
      body: { name, tags: toKeyValues(options.tags), description: options.description },
      schema: registeredModelResponse,
    });
    return res.registered_model;
  }

  /** Returns the registered model, creating it when it does not exist yet. */
  async getOrCreateModel(name: string, options: { tags?: StringMap; description?: string } = {}) {
    try {
      return await this.getModel(name);
    } catch (error) {
      if (!(error instanceof ModelNotFoundError)) throw error;
    }
    try {
      return await this.createModel(name, options);
    } catch (error) {
      if (error instanceof TrackingError && error.mlflowErrorCode === "RESOURCE_ALREADY_EXISTS")
        return this.getModel(name);
      throw error;
    }
  }

  getModel(name: string): Promise<RegisteredModel> {
    return orNotFound(
      `Registered model '${name}'`,
      this.http
        .json({
          method: "GET",
          path: `${API}/registered-models/get`,
          query: { name },
          schema: registeredModelResponse,
        })
        .then((res) => res.registered_model),
    );
  }

  async searchModelsPage(query: RegistrySearch = {}, pageToken?: string): Promise<Page<RegisteredModel>> {
    return this.http.json({
      method: "GET",
      path: `${API}/registered-models/search`,
      query: {
        filter: query.filter,
        order_by: query.orderBy,
        max_results: query.pageSize ?? 100,
        page_token: pageToken,
      },
      schema: pageSchema("registered_models", registeredModelSchema),
    });
  }

  searchModels(query: RegistrySearch = {}): AsyncGenerator<RegisteredModel, void, undefined> {
    return paginate((token) => this.searchModelsPage(query, token), query.limit);
  }

  async renameModel(name: string, newName: string): Promise<RegisteredModel> {
    const res = await orNotFound(
      `Registered model '${name}'`,
      this.http.json({
        method: "POST",
        path: `${API}/registered-models/rename`,
        body: { name, new_name: newName },
        schema: registeredModelResponse,
      }),
    );
    return res.registered_model;
  }

  async updateModel(name: string, changes: { description: string }): Promise<RegisteredModel> {
    const res = await orNotFound(
      `Registered model '${name}'`,
      this.http.json({
        method: "PATCH",
        path: `${API}/registered-models/update`,
        body: { name, description: changes.description },
        schema: registeredModelResponse,
      }),
    );
    return res.registered_model;
  }

  async deleteModel(name: string): Promise<void> {
    await orNotFound(
      `Registered model '${name}'`,
      this.http.json({
        method: "DELETE",
        path: `${API}/registered-models/delete`,
        body: { name },
        schema: emptySchema,
      }),
    );
  }

  async setModelTag(name: string, key: string, value: string): Promise<void> {
    await this.http.json({
      method: "POST",
      path: `${API}/registered-models/set-tag`,
      body: { name, key, value },
      schema: emptySchema,
    });
  }

  async deleteModelTag(name: string, key: string): Promise<void> {
    await this.http.json({
      method: "DELETE",
      path: `${API}/registered-models/delete-tag`,
      body: { name, key },
      schema: emptySchema,
    });
  }

  /** Creates a version and waits until the registry reports it READY (or failed). */
  async createVersion(options: CreateModelVersionOptions, waitMs = 300_000): Promise<ModelVersion> {
    const res = await this.http.json({
      method: "POST",
      path: `${API}/model-versions/create`,
      body: {
        name: options.name,
        source: options.source,
        run_id: options.runId,
        model_id: options.modelId,
        tags: toKeyValues(options.tags),
        description: options.description,
        run_link: options.runLink,
      },
      schema: modelVersionResponse,
    });
    return this.waitUntilReady(res.model_version, waitMs);
  }

  private async waitUntilReady(version: ModelVersion, waitMs: number): Promise<ModelVersion> {
    const deadline = Date.now() + waitMs;
    let current = version;
    while (current.status === "PENDING_REGISTRATION" && Date.now() < deadline) {
      await this.sleep(500);
      current = await this.getVersion(current.name, current.version);
    }
    if (current.status !== "READY") {
      throw new TrackingError(
        "MODEL_VERSION_NOT_READY",
        `Model version ${current.name}/${current.version} is ${current.status}${
          current.statusMessage ? `: ${current.statusMessage}` : ""
        }.`,
        { details: { name: current.name, version: current.version, status: current.status } },
      );
    }
    return current;
  }

  getVersion(name: string, version: string): Promise<ModelVersion> {
    return orNotFound(
      `Model version '${name}' version ${version}`,
      this.http
        .json({
          method: "GET",
          path: `${API}/model-versions/get`,
          query: { name, version },
          schema: modelVersionResponse,
        })
        .then((res) => res.model_version),
    );
  }

  async searchVersionsPage(query: RegistrySearch = {}, pageToken?: string): Promise<Page<ModelVersion>> {
    return this.http.json({
      method: "GET",
      path: `${API}/model-versions/search`,
      query: {
        filter: query.filter,
        order_by: query.orderBy,
        max_results: query.pageSize ?? 200,
        page_token: pageToken,
      },
      schema: pageSchema("model_versions", modelVersionSchema),
    });
  }

  searchVersions(query: RegistrySearch = {}): AsyncGenerator<ModelVersion, void, undefined> {
    return paginate((token) => this.searchVersionsPage(query, token), query.limit);
  }

  async updateVersion(
    name: string,
    version: string,
    changes: { description: string },
  ): Promise<ModelVersion> {
    const res = await orNotFound(
      `Model version '${name}' version ${version}`,
      this.http.json({
        method: "PATCH",
        path: `${API}/model-versions/update`,
        body: { name, version, description: changes.description },
        schema: modelVersionResponse,
      }),
    );
    return res.model_version;
  }

  async deleteVersion(name: string, version: string): Promise<void> {
    await orNotFound(
      `Model version '${name}' version ${version}`,
      this.http.json({
        method: "DELETE",
        path: `${API}/model-versions/delete`,
        body: { name, version },
        schema: emptySchema,
      }),
    );
  }

  async setVersionTag(name: string, version: string, key: string, value: string): Promise<void> {
    await this.http.json({
      method: "POST",
      path: `${API}/model-versions/set-tag`,
      body: { name, version, key, value },
      schema: emptySchema,
    });
  }

  async deleteVersionTag(name: string, version: string, key: string): Promise<void> {
    await this.http.json({
      method: "DELETE",
      path: `${API}/model-versions/delete-tag`,
      body: { name, version, key },
      schema: emptySchema,
    });
  }

  /** Where the version's files live (an artifact URI the artifacts API can download from). */
  async getVersionDownloadUri(name: string, version: string): Promise<string> {
    const res = await orNotFound(
      `Model version '${name}' version ${version}`,
      this.http.json({
        method: "GET",
        path: `${API}/model-versions/get-download-uri`,
        query: { name, version },
        schema: z.object({ artifact_uri: z.string() }),
      }),
    );
    return res.artifact_uri;
  }

  /** Points `alias` (e.g. "champion") at `version`, moving it if it pointed elsewhere. */
  async setAlias(name: string, alias: string, version: string): Promise<void> {
    await orNotFound(
      `Model version '${name}' version ${version}`,
      this.http.json({
        method: "POST",
        path: `${API}/registered-models/alias`,
        body: { name, alias, version },
        schema: emptySchema,
      }),
    );
  }

  async deleteAlias(name: string, alias: string): Promise<void> {
    await this.http.json({
      method: "DELETE",
      path: `${API}/registered-models/alias`,
      body: { name, alias },
      schema: emptySchema,
    });
  }

  /** The version behind `models:/<name>@<alias>`. */
  getVersionByAlias(name: string, alias: string): Promise<ModelVersion> {
    return orNotFound(
      `models:/${name}@${alias}`,
      this.http
        .json({
          method: "GET",
          path: `${API}/registered-models/alias`,
          query: { name, alias },
          schema: modelVersionResponse,
        })
        .then((res) => res.model_version),
    );
  }
}
