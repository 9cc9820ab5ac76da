import { randomUUID } from "node:crypto";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from "fastify";
import type { Logger } from "../shared/logger.js";
import type { DriftGauge } from "./drift-gauge.js";
import { clipName, missingTextColumns, rowsToTable, type SchemaEnforcement } from "./input.js";
import { createMetrics, type ServiceMetrics } from "./metrics.js";
import type { ModelHolder } from "./model-holder.js";
import {
  type BodyBounds,
  CsvBodyScan,
  JsonBodyScan,
  type ParsedPayload,
  PayloadError,
  parseJsonBody,
  parseScoringPayload,
  readBody,
} from "./payload.js";
import { invalidInput, predictPayload, textColumnMissing } from "./predict-payload.js";
import type { PredictionLog } from "./prediction-log.js";
import { InputValidationError, type Prediction, type Predictor } from "./predictor.js";
import { warningsHeader } from "./schema-warnings.js";
import { ServiceMonitor, type ServiceMonitorOptions } from "./service-monitor.js";
import type { Shadow } from "./shadow.js";

export interface ServeOptions {
  /** Bearer token required on prediction and admin routes; open when undefined. */
  authToken?: string;
  /**
   * Refuse (422) what MLflow's scoring server adjusts and accepts: extra columns, integer or numeric strings,
   * booleans for numbers, 24.5 for a long, nulls in a required double or string column. Off by default: the
   * service then matches MLflow and reports each adjustment in the x-schema-warnings header, the log and
   * /metrics (workbench_schema_warnings_total).
   */
  strict?: boolean;
  /** Largest batch accepted (rows). */
  maxBatchRows?: number;
  /** Largest body accepted (bytes). */
  bodyLimit?: number;
  predictionLog?: PredictionLog;
  /** Structured request logs (request id bound); none when undefined. */
  logger?: Logger;
  version?: string;
  /** The drift gauge (see ServiceMonitorOptions; default every 300 s once 200 rows are in). */
  drift?: ServiceMonitorOptions["drift"];
  /** Shadow (A/B) mode: a challenger scores a share of the requests after the answer (see ServiceMonitorOptions). */
  shadow?: ServiceMonitorOptions["shadow"];
}

export interface ServiceApp {
  app: FastifyInstance;
  metrics: ServiceMetrics;
  drift: DriftGauge;
  shadow: Shadow | undefined;
  /**
   * Resolves once the work queued so far is done: after the answers sent (shadow scoring, the drift window) and
   * reading a hot-swapped model's reference profile.
   */
  settled(): Promise<void>;
}

const errorBody = {
  type: "object",
  properties: { error_code: { type: "string" }, message: { type: "string" }, errors: { type: "array" } },
};
const recordsBody = {
  type: "object",
  description:
    "Rows to score: `records` (column → value), or, for a model whose only input is one text column, `texts` (one string per row).",
  properties: {
    records: { type: "array", items: { type: "object", additionalProperties: true } },
    // Untyped here (checked by the handler): Fastify's schema coercion would make "a text" a list of one.
    texts: { description: "A list of strings, one per row." },
  },
};

/** Problems listed in one 422 answer (all are counted): a body of a million bad fields answers in kilobytes. */
const MAX_LISTED_PROBLEMS = 1000;

/**
 * The prediction service: MLflow's scoring protocol on /invocations, a friendly /predict, health, model
 * metadata, Prometheus metrics and OpenAPI docs. Every error is mapped to a status here, in one place.
 */
export async function createApp(holder: ModelHolder, options: ServeOptions = {}): Promise<ServiceApp> {
  const maxRows = options.maxBatchRows ?? 10_000;
  const bodyLimit = options.bodyLimit ?? 10 * 1024 * 1024;
  const enforcement: SchemaEnforcement = options.strict ? "strict" : "mlflow";
  const metrics = createMetrics();
  let monitor: ServiceMonitor;
  try {
    monitor = await ServiceMonitor.create(holder, metrics, {
      ...(options.predictionLog ? { predictionLog: options.predictionLog } : {}),
      ...(options.drift ? { drift: options.drift } : {}),
      ...(options.shadow ? { shadow: options.shadow } : {}),
      ...(options.logger ? { logger: options.logger } : {}),
    });
  } catch (error) {
    metrics.close();
    throw error;
  }
  /** Every error answer: {error_code, message[, errors]}, counted by route and code. */
  const fail = (
    reply: FastifyReply,
    status: number,
    errorCode: string,
    message: string,
    errors?: unknown[],
  ) => {
    metrics.errors.inc({ route: reply.request.routeOptions.url ?? "unmatched", error_code: errorCode });
    return reply
      .code(status)
      .type("application/json; charset=utf-8")
      .send({ error_code: errorCode, message, ...(errors ? { errors } : {}) });
  };
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger as FastifyBaseLogger } : { logger: false }),
    bodyLimit,
    genReqId: (req) => {
      const given = req.headers["x-request-id"];
      return typeof given === "string" && /^[\w.-]{1,128}$/.test(given) ? given : randomUUID();
    },
    return503OnClosing: true,
    // Close idle keep-alive sockets at once on close(); requests in flight still finish (graceful drain).
    forceCloseConnections: "idle",
  });
  // MLflow's scoring server takes JSON and CSV only; anything else (text/plain included) gets 415.
  // Both are read through a scan that counts rows and values as the bytes arrive: a body of millions of tiny
  // rows is refused without being materialised (memory per request stays near its size), and the event loop
  // never spends more than one chunk's scan on it at a time.
  const bounds = (): BodyBounds => ({
    maxBytes: bodyLimit,
    maxRows,
    // Room for every row to carry each signature column plus as many unknown ones, twice over.
    maxValues: (maxRows + 1) * (holder.current.model.meta.inputs.length + 2) * 2,
  });
  app.removeContentTypeParser(["text/plain", "application/json"]);
  app.addContentTypeParser("application/json", (req, payload, done) => {
    readBody(payload, new JsonBodyScan(bounds()), bodyLimit, req.headers["content-length"])
      .then(parseJsonBody)
      .then(
        (body) => done(null, body),
        (error: Error) => done(error, undefined),
      );
  });
  app.addContentTypeParser("text/csv", (req, payload, done) => {
    readBody(payload, new CsvBodyScan(bounds()), bodyLimit, req.headers["content-length"]).then(
      (text) => done(null, text),
      (error: Error) => done(error, undefined),
    );
  });

  const setInfo = (p: Predictor) => {
    metrics.modelInfo.reset();
    metrics.modelInfo.set(
      {
        name: p.origin.name,
        version: p.origin.version ?? "local",
        alias: p.origin.alias ?? "",
        run_id: p.origin.runId ?? "",
      },
      1,
    );
  };
  setInfo(holder.current);

  holder.onSwap = (next) => {
    setInfo(next);
    metrics.swaps.inc();
    monitor.swapped(next);
  };
  // Work that waits for the answer to be sent (the drift window, the shadow challenger).
  const afterAnswer = (req: FastifyRequest) => {
    try {
      monitor.afterAnswer(req);
    } catch (error) {
      req.log.error({ err: error }, "work after the answer failed");
    }
  };

  // While closing, answers in flight end their keep-alive connection, so close() waits for them and not
  // for the clients' idle sockets to time out (72 s).
  let closing = false;
  app.addHook("preClose", async () => {
    closing = true;
  });
  app.addHook("onClose", async () => {
    monitor.close();
    metrics.close();
  });
  app.addHook("onSend", async (_req, reply) => {
    if (closing) reply.header("connection", "close");
  });
  app.addHook("onRequest", async (req, reply) => {
    reply.header("x-request-id", req.id);
  });
  app.addHook("onResponse", async (req, reply) => {
    const route = req.routeOptions.url ?? "unmatched";
    const status = String(reply.statusCode);
    metrics.requests.inc({ route, method: req.method, status });
    metrics.latency.observe({ route, status }, reply.elapsedTime / 1000);
    afterAnswer(req);
  });
  app.addHook("onRequestAbort", async (req) => afterAnswer(req));
  const guarded = new Set(["/invocations", "/predict", "/admin/reload"]);
  app.addHook("preHandler", async (req, reply) => {
    const route = req.routeOptions.url ?? "";
    if (route.startsWith("/admin/") && options.authToken === undefined) {
      return fail(
        reply,
        403,
        "ADMIN_DISABLED",
        "Admin routes need a token: start the service with WORKBENCH_SERVE_TOKEN set.",
      );
    }
    if (options.authToken === undefined || !guarded.has(route)) return;
    if (req.headers.authorization !== `Bearer ${options.authToken}`) {
      reply.header("www-authenticate", "Bearer");
      return fail(
        reply,
        401,
        "UNAUTHENTICATED",
        "A valid bearer token is required (Authorization: Bearer <token>).",
      );
    }
  });

  app.setNotFoundHandler((req, reply) =>
    fail(
      reply,
      404,
      "ENDPOINT_NOT_FOUND",
      `No route ${req.method} ${clipName(req.url)}: the routes are listed at /docs.`,
    ),
  );
  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, req, reply) => {
    if (error instanceof PayloadError)
      return fail(reply, error.status, error.errorCode, error.message, error.errors);
    if (error instanceof InputValidationError)
      return fail(reply, 422, "INVALID_INPUT", error.message, error.problems);
    if (error.code === "FST_ERR_CTP_BODY_TOO_LARGE")
      return fail(
        reply,
        413,
        "PAYLOAD_TOO_LARGE",
        `The body exceeds the limit of ${app.initialConfig.bodyLimit} bytes.`,
      );
    if (error.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") {
      return fail(
        reply,
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        `Content type '${clipName(req.headers["content-type"] ?? "")}' is not supported: use application/json or text/csv.`,
      );
    }
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      return fail(reply, error.statusCode, "BAD_REQUEST", error.message.slice(0, 500));
    }
    req.log.error({ err: error }, "request failed");
    return fail(
      reply,
      500,
      "INTERNAL_ERROR",
      "The request failed on the server; the request id is in the x-request-id header.",
    );
  });

  await app.register(swagger, {
    openapi: {
      info: {
        title: "tfjs-mlops-workbench prediction service",
        version: options.version ?? "0.1.0",
        description: "Scores rows with the served model; MLflow scoring protocol on /invocations.",
      },
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
    },
  });
  await app.register(swaggerUi, { routePrefix: "/docs" });

  const score = (
    req: FastifyRequest,
    reply: FastifyReply,
    payload: ParsedPayload,
  ): { predictor: Predictor; predictions: Prediction[] } => {
    if (payload.rows.length === 0)
      throw new PayloadError(400, "BAD_REQUEST", "The batch is empty: send at least one row.");
    if (payload.rows.length > maxRows)
      throw new PayloadError(
        413,
        "BATCH_TOO_LARGE",
        `The batch has ${payload.rows.length} rows; the limit is ${maxRows}.`,
      );
    const predictor = holder.current;
    const signals = monitor.signals(predictor);
    const { inputs } = predictor.model.meta;
    const absent = missingTextColumns(payload.rows, inputs, predictor.model.preprocessor);
    if (absent.length > 0) throw textColumnMissing(predictor, absent);
    const requestEnforcement = payload.format === "texts" ? "strict" : enforcement;
    const { table, problems, problemCount, warnings } = rowsToTable(
      payload.rows,
      inputs,
      predictor.model.preprocessor,
      payload.mode,
      { maxProblems: MAX_LISTED_PROBLEMS, enforcement: requestEnforcement },
    );
    if (problemCount > 0) {
      signals.countProblems(problems);
      throw invalidInput(problems, problemCount);
    }
    if (warnings.length > 0) {
      signals.countWarnings(warnings);
      // As MLflow's scoring server does (a logged warning), and where the client sees it.
      for (const w of warnings) metrics.schemaWarnings.inc({ kind: w.kind }, w.count);
      reply.header("x-schema-warnings", warningsHeader(warnings));
      req.log.warn({ schemaWarnings: warnings.slice(0, 50) }, "input adjusted to the model's signature");
    }
    const predictions = predictor.score(table);
    const version = predictor.origin.version ?? "local";
    metrics.rows.observe(payload.rows.length);
    const perClass = new Map<string, number>();
    for (const p of predictions) perClass.set(p.label, (perClass.get(p.label) ?? 0) + 1);
    for (const [label, count] of perClass) metrics.predictions.inc({ class: label, version }, count);
    monitor.scored(req, {
      requestId: String(req.id),
      predictor,
      rows: payload.rows,
      mode: payload.mode,
      enforcement: requestEnforcement,
      table,
      predictions,
    });
    return { predictor, predictions };
  };

  const contentKind = (req: FastifyRequest): "json" | "csv" =>
    (req.headers["content-type"] ?? "").startsWith("text/csv") ? "csv" : "json";

  app.post(
    "/invocations",
    {
      schema: {
        description:
          "MLflow scoring protocol: JSON with exactly one of dataframe_split, dataframe_records, instances, inputs; or text/csv.",
        consumes: ["application/json", "text/csv"],
        response: {
          200: { type: "object", properties: { predictions: { type: "array" } } },
          400: errorBody,
          413: errorBody,
          415: errorBody,
          422: errorBody,
        },
        security: [{ bearer: [] }],
      },
    },
    async (req, reply) => {
      const { predictor, predictions } = score(
        req,
        reply,
        parseScoringPayload(req.body, contentKind(req), maxRows),
      );
      const classes = predictor.classes;
      const keys = classes.map((c) => `probability_${c}`);
      const rows = new Array(predictions.length);
      for (let i = 0; i < predictions.length; i++) {
        const p = predictions[i]!;
        const row: Record<string, unknown> = { label: p.label };
        for (let c = 0; c < classes.length; c++) row[keys[c]!] = p.probabilities[classes[c]!];
        rows[i] = row;
      }
      return { predictions: rows };
    },
  );

  app.post(
    "/predict",
    {
      schema: {
        description:
          "Friendly batch scoring: records in; for each the label, the class probabilities and the threshold used; the model version answering.",
        body: recordsBody,
        response: { 400: errorBody, 413: errorBody, 415: errorBody, 422: errorBody },
        security: [{ bearer: [] }],
      },
    },
    async (req, reply) => {
      const { predictor, predictions } = score(req, reply, predictPayload(req.body, holder.current));
      return {
        model: {
          name: predictor.origin.name,
          version: predictor.origin.version,
          alias: predictor.origin.alias,
        },
        threshold: predictor.threshold ?? null,
        predictions: predictions.map((p) => ({ label: p.label, probabilities: p.probabilities })),
      };
    },
  );

  app.get(
    "/ping",
    { schema: { description: "Liveness (MLflow's scoring server answers the same)." } },
    async (_req, reply) => reply.type("text/plain").send("\n"),
  );
  app.get("/health", { schema: { description: "Readiness: 200 once the model is loaded." } }, async () => ({
    status: "ok",
    model: { name: holder.current.origin.name, version: holder.current.origin.version },
    ...(monitor.shadow ? { shadow: monitor.shadow.summary } : {}),
  }));
  app.get("/version", async () => ({
    service: options.version ?? "0.1.0",
    model: {
      name: holder.current.origin.name,
      version: holder.current.origin.version,
      alias: holder.current.origin.alias,
    },
  }));
  app.get(
    "/model",
    { schema: { description: "Metadata, metrics and params of the served model." } },
    async () => {
      const p = holder.current;
      const meta = p.model.meta;
      return {
        name: p.origin.name,
        version: p.origin.version,
        alias: p.origin.alias,
        uri: p.origin.uri,
        runId: p.origin.runId,
        modelId: p.origin.modelId,
        kind: meta.kind,
        params: meta.params,
        metrics: meta.metrics,
        classes: meta.classes,
        threshold: meta.threshold ?? null,
        schemaEnforcement: enforcement,
        signature: {
          inputs: meta.inputs,
          outputs: [
            { name: "label", type: "string" },
            ...meta.classes.map((c) => ({ name: `probability_${c}`, type: "double" })),
          ],
        },
        trainingData: { fingerprint: meta.dataFingerprint },
        backend: meta.backend,
        trainedAt: meta.trainedAt,
        monitoring: monitor.info(p),
        ...(monitor.shadow ? { shadow: monitor.shadow.info } : {}),
      };
    },
  );
  app.get("/metrics", async (_req, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
  app.post(
    "/admin/reload",
    { schema: { description: "Reloads the model when its alias moved.", security: [{ bearer: [] }] } },
    async () => {
      const swapped = await holder.reload();
      return { swapped, model: { name: holder.current.origin.name, version: holder.current.origin.version } };
    },
  );
  return {
    app,
    metrics,
    drift: monitor.drift,
    shadow: monitor.shadow,
    settled: () => monitor.settled(),
  };
}
