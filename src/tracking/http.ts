import http from "node:http";
import https from "node:https";
import type { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import axios, { type AxiosInstance, type AxiosResponse, isAxiosError } from "axios";
import type { z } from "zod";
import { TrackingError } from "../shared/errors.js";
import type { Logger } from "../shared/logger.js";
import { silentLogger } from "../shared/logger.js";
import type { TrackingConnection } from "./connection.js";
import { backoffSeconds, isRetryableNetworkCode, isRetryableStatus, parseRetryAfter } from "./retry.js";

export type HttpMethod = "GET" | "POST" | "PATCH" | "DELETE" | "PUT";
export type QueryValue = string | number | boolean | readonly string[] | undefined;

export interface JsonRequest<T> {
  method: HttpMethod;
  path: string;
  query?: Readonly<Record<string, QueryValue>>;
  body?: unknown;
  /** Validates (and converts) the response body. */
  schema: z.ZodType<T, z.ZodTypeDef, unknown>;
}

export interface TransportOptions {
  logger?: Logger;
  /** Injected for tests; defaults to a timer. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

interface Attempted<T> {
  response: AxiosResponse<T>;
  attempts: number;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Builds `a=1&b=x&b=y` the way MLflow's server reads repeated parameters. */
export function encodeQuery(query: Readonly<Record<string, QueryValue>> | undefined): string {
  if (query === undefined) return "";
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const item of value) params.append(key, String(item));
    else params.append(key, String(value));
  }
  const text = params.toString();
  return text === "" ? "" : `?${text}`;
}

function snippet(text: string, max = 300): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

/**
 * HTTP transport for the MLflow REST API: keep-alive sockets, auth, retries with exponential backoff and
 * jitter on network errors / 429 / 5xx (never other 4xx), and one typed error for every failure.
 */
export class HttpTransport {
  readonly connection: TrackingConnection;
  private readonly axios: AxiosInstance;
  private readonly agents: { http: http.Agent; https: https.Agent };
  private readonly logger: Logger;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(connection: TrackingConnection, options: TransportOptions = {}) {
    this.connection = connection;
    this.logger = options.logger ?? silentLogger();
    this.sleep = options.sleep ?? defaultSleep;
    this.random = options.random ?? Math.random;
    this.agents = {
      // Idle sockets close after 4 s, before uvicorn (the MLflow server) drops them at 5 s: no resets on reuse.
      http: new http.Agent({ keepAlive: true, maxSockets: 16, timeout: 4000 }),
      https: new https.Agent({
        keepAlive: true,
        maxSockets: 16,
        timeout: 4000,
        rejectUnauthorized: !connection.insecureTls,
        ...(connection.caCert === undefined ? {} : { ca: connection.caCert }),
      }),
    };
    const headers: Record<string, string> = { "User-Agent": "tfjs-mlops-workbench" };
    const auth = connection.auth;
    if (auth.kind === "bearer") headers.Authorization = `Bearer ${auth.token}`;
    if (auth.kind === "basic") {
      headers.Authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString("base64")}`;
    }
    this.axios = axios.create({
      baseURL: connection.trackingUri,
      timeout: connection.timeoutMs,
      httpAgent: this.agents.http,
      httpsAgent: this.agents.https,
      headers,
      maxBodyLength: Number.POSITIVE_INFINITY,
      maxContentLength: Number.POSITIVE_INFINITY,
      maxRedirects: 5,
      validateStatus: () => true,
      transitional: { clarifyTimeoutError: true, silentJSONParsing: true, forcedJSONParsing: false },
      proxy: false,
    });
  }

  /** Sends a JSON request and returns the validated response body. */
  async json<T>(request: JsonRequest<T>): Promise<T> {
    const url = `${request.path}${encodeQuery(request.query)}`;
    const data = request.body === undefined ? undefined : JSON.stringify(request.body);
    const { response, attempts } = await this.send<string>(request.method, request.path, () =>
      this.axios.request<string>({
        method: request.method,
        url,
        data,
        responseType: "text",
        headers: data === undefined ? {} : { "Content-Type": "application/json" },
      }),
    );
    const text = typeof response.data === "string" ? response.data : "";
    if (response.status < 200 || response.status >= 300) {
      throw this.httpError(request.method, request.path, response.status, text, attempts);
    }
    let body: unknown = {};
    if (text.trim() !== "") {
      try {
        body = JSON.parse(text);
      } catch (cause) {
        throw this.badResponse(request, `the body is not JSON: ${snippet(text)}`, attempts, cause);
      }
    }
    const parsed = request.schema.safeParse(body);
    if (!parsed.success) {
      const issues = parsed.error.issues.map(
        (issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`,
      );
      throw this.badResponse(request, issues.join("; "), attempts, parsed.error);
    }
    return parsed.data;
  }

  /** Streams a body to the server with PUT; `open` is called once per attempt so retries resend it whole. */
  async upload(path: string, open: () => Readable, size: number, contentType: string): Promise<void> {
    const { response, attempts } = await this.send<string>("PUT", path, () =>
      this.axios.request<string>({
        method: "PUT",
        url: path,
        data: open(),
        responseType: "text",
        // follow-redirects keeps a copy of the body to replay it on a redirect: no redirects, no copy.
        maxRedirects: 0,
        headers: { "Content-Type": contentType, "Content-Length": String(size) },
      }),
    );
    if (response.status < 200 || response.status >= 300) {
      throw this.httpError("PUT", path, response.status, String(response.data ?? ""), attempts);
    }
  }

  /** Streams a response body into `destination()` without holding it in memory. */
  async download(
    path: string,
    query: Readonly<Record<string, QueryValue>>,
    destination: () => Writable,
  ): Promise<void> {
    const { response, attempts } = await this.send<Readable>("GET", path, () =>
      this.axios.request<Readable>({
        method: "GET",
        url: `${path}${encodeQuery(query)}`,
        responseType: "stream",
      }),
    );
    if (response.status < 200 || response.status >= 300) {
      const chunks: Buffer[] = [];
      for await (const chunk of response.data) chunks.push(Buffer.from(chunk as Buffer));
      throw this.httpError("GET", path, response.status, Buffer.concat(chunks).toString("utf8"), attempts);
    }
    await pipeline(response.data, destination());
  }

  /** Closes idle keep-alive sockets so the process can exit. */
  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  private async send<T>(
    method: string,
    path: string,
    attempt: () => Promise<AxiosResponse<T>>,
  ): Promise<Attempted<T>> {
    const { maxRetries } = this.connection.retry;
    for (let attempts = 1; ; attempts++) {
      let response: AxiosResponse<T>;
      try {
        response = await attempt();
      } catch (error) {
        const code = isAxiosError(error) ? error.code : (error as NodeJS.ErrnoException).code;
        const timedOut = code === "ETIMEDOUT" || code === "ECONNABORTED";
        if (!isRetryableNetworkCode(code) && !timedOut) {
          throw new TrackingError(
            "TRACKING_REQUEST_FAILED",
            `Request ${method} ${path} to ${this.connection.trackingUri} failed: ${(error as Error).message}`,
            { cause: error, method, path, trackingUri: this.connection.trackingUri, attempts },
          );
        }
        if (attempts <= maxRetries) {
          await this.wait(attempts, method, path, code ?? "network error");
          continue;
        }
        throw new TrackingError(
          timedOut ? "TRACKING_TIMEOUT" : "TRACKING_UNREACHABLE",
          `Could not reach the MLflow tracking server at ${this.connection.trackingUri} after ${attempts} attempt${
            attempts === 1 ? "" : "s"
          } (${method} ${path}: ${code}${timedOut ? `, timeout ${this.connection.timeoutMs} ms` : ""}). ` +
            "Check that the server is running (`npm run mlflow` starts the local one) and that MLFLOW_TRACKING_URI points at it.",
          { cause: error, method, path, trackingUri: this.connection.trackingUri, attempts },
        );
      }
      if (isRetryableStatus(response.status) && attempts <= maxRetries) {
        if (typeof response.data === "object" && response.data !== null && "destroy" in response.data) {
          (response.data as unknown as Readable).destroy();
        }
        await this.wait(
          attempts,
          method,
          path,
          `HTTP ${response.status}`,
          parseRetryAfter(response.headers["retry-after"]),
        );
        continue;
      }
      return { response, attempts };
    }
  }

  private async wait(
    retry: number,
    method: string,
    path: string,
    reason: string,
    retryAfter?: number,
  ): Promise<void> {
    const seconds = backoffSeconds(this.connection.retry, retry, this.random, retryAfter);
    this.logger.warn(
      { method, path, reason, retry, waitSeconds: Number(seconds.toFixed(3)) },
      "mlflow request retry",
    );
    await this.sleep(seconds * 1000);
  }

  private httpError(
    method: string,
    path: string,
    status: number,
    text: string,
    attempts: number,
  ): TrackingError {
    const base = { status, method, path, trackingUri: this.connection.trackingUri, attempts };
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch {
      payload = undefined;
    }
    if (typeof payload === "object" && payload !== null && "error_code" in payload) {
      const { error_code: errorCode, message } = payload as { error_code: unknown; message?: unknown };
      const code = String(errorCode);
      return new TrackingError(
        code,
        `${code}: ${String(message ?? "(no message)")} (HTTP ${status}, ${method} ${path})`,
        {
          ...base,
          mlflowErrorCode: code,
          details: { response: payload },
        },
      );
    }
    const hints: Record<number, string> = {
      401: "The server wants credentials: set MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD.",
      403: "The server refused the request: check the credentials, and the server's --allowed-hosts if it guards the Host header.",
      404: `No such endpoint: is ${this.connection.trackingUri} an MLflow 3 tracking server (and is the path prefix right)?`,
    };
    const hint = hints[status] ?? (status >= 500 ? "The server failed; its log says why." : "");
    return new TrackingError(
      status === 401
        ? "TRACKING_UNAUTHENTICATED"
        : status === 403
          ? "TRACKING_FORBIDDEN"
          : "TRACKING_HTTP_ERROR",
      `HTTP ${status} from ${method} ${path}${text.trim() === "" ? "" : `: ${snippet(text)}`}. ${hint}`.trim(),
      { ...base, details: { body: snippet(text, 2000) } },
    );
  }

  private badResponse(
    request: JsonRequest<unknown>,
    reason: string,
    attempts: number,
    cause: unknown,
  ): TrackingError {
    return new TrackingError(
      "TRACKING_BAD_RESPONSE",
      `Unexpected response from ${request.method} ${request.path} at ${this.connection.trackingUri}: ${reason}`,
      {
        cause,
        method: request.method,
        path: request.path,
        trackingUri: this.connection.trackingUri,
        attempts,
      },
    );
  }
}
