import { z } from "zod";
import { isNotFound, TrackingError } from "../shared/errors.js";
import type { HttpTransport } from "./http.js";
import { paginate } from "./paginate.js";
import type { Experiment, Page, StringMap, ViewType } from "./types.js";
import { emptySchema, experimentSchema, pageSchema, toKeyValues } from "./wire.js";

const API = "/api/2.0/mlflow/experiments";

export interface ExperimentSearch {
  /** MLflow filter syntax, e.g. "name LIKE 'credit%'" or "tags.team = 'risk'". */
  filter?: string;
  orderBy?: readonly string[];
  viewType?: ViewType;
  /** Items per request (server default 1000). */
  pageSize?: number;
  /** Stop after this many items. */
  limit?: number;
}

/** Experiments: create, get, get-by-name, search, update, delete, restore, tags. */
export class ExperimentsApi {
  constructor(private readonly http: HttpTransport) {}

  /** Creates an experiment and returns its id. */
  async create(name: string, options: { artifactLocation?: string; tags?: StringMap } = {}): Promise<string> {
    const res = await this.http.json({
      method: "POST",
      path: `${API}/create`,
      body: { name, artifact_location: options.artifactLocation, tags: toKeyValues(options.tags) },
      schema: z.object({ experiment_id: z.string() }),
    });
    return res.experiment_id;
  }

  async get(experimentId: string): Promise<Experiment> {
    const res = await this.http.json({
      method: "GET",
      path: `${API}/get`,
      query: { experiment_id: experimentId },
      schema: z.object({ experiment: experimentSchema }),
    });
    return res.experiment;
  }

  /** The experiment with this name, or undefined when there is none. */
  async getByName(name: string): Promise<Experiment | undefined> {
    try {
      const res = await this.http.json({
        method: "GET",
        path: `${API}/get-by-name`,
        query: { experiment_name: name },
        schema: z.object({ experiment: experimentSchema }),
      });
      return res.experiment;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** Returns the id of the named experiment, creating it if needed (safe against a concurrent creator). */
  async getOrCreate(
    name: string,
    options: { artifactLocation?: string; tags?: StringMap } = {},
  ): Promise<string> {
    const existing = await this.getByName(name);
    if (existing !== undefined) {
      if (existing.lifecycleStage === "deleted") {
        throw new TrackingError(
          "EXPERIMENT_DELETED",
          `Experiment '${name}' (id ${existing.experimentId}) is deleted. Restore it (client.experiments.restore) or use another name.`,
          { details: { experimentId: existing.experimentId } },
        );
      }
      return existing.experimentId;
    }
    try {
      return await this.create(name, options);
    } catch (error) {
      if (error instanceof TrackingError && error.mlflowErrorCode === "RESOURCE_ALREADY_EXISTS") {
        const created = await this.getByName(name);
        if (created !== undefined) return created.experimentId;
      }
      throw error;
    }
  }

  async searchPage(query: ExperimentSearch = {}, pageToken?: string): Promise<Page<Experiment>> {
    return this.http.json({
      method: "POST",
      path: `${API}/search`,
      body: {
        filter: query.filter,
        order_by: query.orderBy,
        view_type: query.viewType,
        max_results: query.pageSize ?? 1000,
        page_token: pageToken,
      },
      schema: pageSchema("experiments", experimentSchema),
    });
  }

  /** Every matching experiment, fetched page by page. */
  search(query: ExperimentSearch = {}): AsyncGenerator<Experiment, void, undefined> {
    return paginate((token) => this.searchPage(query, token), query.limit);
  }

  async rename(experimentId: string, newName: string): Promise<void> {
    await this.http.json({
      method: "POST",
      path: `${API}/update`,
      body: { experiment_id: experimentId, new_name: newName },
      schema: emptySchema,
    });
  }

  async delete(experimentId: string): Promise<void> {
    await this.http.json({
      method: "POST",
      path: `${API}/delete`,
      body: { experiment_id: experimentId },
      schema: emptySchema,
    });
  }

  async restore(experimentId: string): Promise<void> {
    await this.http.json({
      method: "POST",
      path: `${API}/restore`,
      body: { experiment_id: experimentId },
      schema: emptySchema,
    });
  }

  async setTag(experimentId: string, key: string, value: string): Promise<void> {
    await this.http.json({
      method: "POST",
      path: `${API}/set-experiment-tag`,
      body: { experiment_id: experimentId, key, value },
      schema: emptySchema,
    });
  }

  async deleteTag(experimentId: string, key: string): Promise<void> {
    await this.http.json({
      method: "POST",
      path: `${API}/delete-experiment-tag`,
      body: { experiment_id: experimentId, key },
      schema: emptySchema,
    });
  }
}
