import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { TrackingError } from "../../../src/shared/errors.js";
import { resolveConnection } from "../../../src/tracking/connection.js";
import { HttpTransport } from "../../../src/tracking/http.js";
import { freePort } from "../../../src/tracking/local-server.js";

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, hit: number) => void;

interface Fake {
  uri: string;
  hits: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[];
  close(): Promise<void>;
}

const servers: Fake[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** A tiny local HTTP server whose behaviour per request number is scripted by the test. */
async function fake(handler: Handler): Promise<Fake> {
  const hits: Fake["hits"] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => {
      body += chunk;
    });
    req.on("end", () => {
      hits.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
      handler(req, res, hits.length);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const f: Fake = {
    uri: `http://127.0.0.1:${port}`,
    hits,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  servers.push(f);
  return f;
}

function transport(
  uri: string,
  env: Record<string, string> = {},
  maxRetries = 3,
): { t: HttpTransport; waits: number[] } {
  const waits: number[] = [];
  const connection = resolveConnection({
    env: { MLFLOW_TRACKING_URI: uri, ...env },
    retry: { maxRetries, backoffFactor: 0.01, backoffJitter: 0 },
    timeoutMs: 2000,
  });
  const t = new HttpTransport(connection, {
    sleep: async (ms) => {
      waits.push(ms);
    },
  });
  return { t, waits };
}

const ok = z.object({ ok: z.boolean() });

function json(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { "Content-Type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

async function failure(promise: Promise<unknown>): Promise<TrackingError> {
  try {
    await promise;
  } catch (error) {
    expect(error, "expected a TrackingError").toBeInstanceOf(TrackingError);
    return error as TrackingError;
  }
  throw new Error("expected the request to fail");
}

describe("HttpTransport retries", () => {
  it("given 503 for the first two requests, when a request is sent, then it succeeds on the third with backoff", async () => {
    const server = await fake((_req, res, hit) =>
      hit <= 2
        ? json(res, 503, { error_code: "TEMPORARILY_UNAVAILABLE", message: "busy" })
        : json(res, 200, { ok: true }),
    );
    const { t, waits } = transport(server.uri);
    await expect(t.json({ method: "GET", path: "/x", schema: ok })).resolves.toEqual({ ok: true });
    expect(server.hits.length, "two retries").toBe(3);
    expect(waits, "exponential: 0.01 s then 0.02 s").toEqual([10, 20]);
    t.close();
  });

  it("given connection resets for the first two requests, then the request is retried and succeeds", async () => {
    const server = await fake((req, res, hit) =>
      hit <= 2 ? req.socket.destroy() : json(res, 200, { ok: true }),
    );
    const { t } = transport(server.uri);
    await expect(t.json({ method: "POST", path: "/x", body: { a: 1 }, schema: ok })).resolves.toEqual({
      ok: true,
    });
    expect(server.hits.length).toBe(3);
    expect(server.hits[2]?.body, "the body is resent whole").toBe('{"a":1}');
    t.close();
  });

  it("given 429 with Retry-After, then the wait honours it", async () => {
    const server = await fake((_req, res, hit) =>
      hit === 1
        ? json(res, 429, { error_code: "REQUEST_LIMIT_EXCEEDED" }, { "Retry-After": "2" })
        : json(res, 200, { ok: true }),
    );
    const { t, waits } = transport(server.uri);
    await t.json({ method: "GET", path: "/x", schema: ok });
    expect(waits).toEqual([2000]);
    t.close();
  });

  it("given a 400 with an MLflow error body, then it is not retried and the typed error carries code, status and message", async () => {
    const server = await fake((_req, res) =>
      json(res, 400, {
        error_code: "INVALID_PARAMETER_VALUE",
        message: "Changing param values is not allowed.",
      }),
    );
    const { t } = transport(server.uri);
    const error = await failure(
      t.json({ method: "POST", path: "/api/2.0/mlflow/runs/log-parameter", body: {}, schema: ok }),
    );
    expect(server.hits.length, "4xx is never retried").toBe(1);
    expect(error.code).toBe("INVALID_PARAMETER_VALUE");
    expect(error.mlflowErrorCode).toBe("INVALID_PARAMETER_VALUE");
    expect(error.status).toBe(400);
    expect(error.attempts).toBe(1);
    expect(error.message).toBe(
      "INVALID_PARAMETER_VALUE: Changing param values is not allowed. (HTTP 400, POST /api/2.0/mlflow/runs/log-parameter)",
    );
    t.close();
  });

  it("given 503 on every attempt, then the error reports the status and all attempts", async () => {
    const server = await fake((_req, res) =>
      json(res, 503, { error_code: "TEMPORARILY_UNAVAILABLE", message: "down" }),
    );
    const { t } = transport(server.uri, {}, 2);
    const error = await failure(t.json({ method: "GET", path: "/x", schema: ok }));
    expect(server.hits.length).toBe(3);
    expect(error.status).toBe(503);
    expect(error.attempts).toBe(3);
    t.close();
  });

  it("given nothing listening, then one TRACKING_UNREACHABLE error names the URI and the attempts", async () => {
    const port = await freePort();
    const uri = `http://127.0.0.1:${port}`;
    const { t, waits } = transport(uri, {}, 3);
    const error = await failure(
      t.json({ method: "GET", path: "/api/2.0/mlflow/experiments/get", schema: ok }),
    );
    expect(error.code).toBe("TRACKING_UNREACHABLE");
    expect(error.attempts).toBe(4);
    expect(waits.length).toBe(3);
    expect(error.message).toContain(`Could not reach the MLflow tracking server at ${uri} after 4 attempts`);
    expect(error.message).toContain("ECONNREFUSED");
    expect(error.trackingUri).toBe(uri);
    t.close();
  });

  it("given a server that never answers, then TRACKING_TIMEOUT says how long it waited", async () => {
    const server = await fake(() => {
      /* never respond */
    });
    const connection = resolveConnection({
      env: { MLFLOW_TRACKING_URI: server.uri },
      retry: { maxRetries: 1, backoffFactor: 0, backoffJitter: 0 },
      timeoutMs: 200,
    });
    const t = new HttpTransport(connection, { sleep: async () => {} });
    const error = await failure(t.json({ method: "GET", path: "/slow", schema: ok }));
    expect(error.code).toBe("TRACKING_TIMEOUT");
    expect(error.attempts).toBe(2);
    expect(error.message).toContain("timeout 200 ms");
    t.close();
  });
});

describe("HttpTransport error mapping", () => {
  it("given an HTML 404, then the error suggests checking the URI", async () => {
    const server = await fake((_req, res) => {
      res.writeHead(404, { "Content-Type": "text/html" });
      res.end("<html><body>Not Found</body></html>");
    });
    const { t } = transport(server.uri);
    const error = await failure(t.json({ method: "GET", path: "/api/2.0/mlflow/x", schema: ok }));
    expect(error.code).toBe("TRACKING_HTTP_ERROR");
    expect(error.status).toBe(404);
    expect(error.message).toContain(`is ${server.uri} an MLflow 3 tracking server`);
    t.close();
  });

  it("given 401 and 403 without an MLflow body, then the errors say what to set", async () => {
    const server = await fake((_req, res, hit) => {
      res.writeHead(hit === 1 ? 401 : 403);
      res.end();
    });
    const { t } = transport(server.uri);
    const unauthenticated = await failure(t.json({ method: "GET", path: "/x", schema: ok }));
    expect(unauthenticated.code).toBe("TRACKING_UNAUTHENTICATED");
    expect(unauthenticated.message).toContain("MLFLOW_TRACKING_TOKEN");
    const forbidden = await failure(t.json({ method: "GET", path: "/x", schema: ok }));
    expect(forbidden.code).toBe("TRACKING_FORBIDDEN");
    expect(forbidden.message).toContain("--allowed-hosts");
    t.close();
  });

  it("given a 200 whose body does not match the expected shape, then TRACKING_BAD_RESPONSE names the field", async () => {
    const server = await fake((_req, res, hit) =>
      hit === 1 ? json(res, 200, { ok: "yes" }) : res.end("not json"),
    );
    const { t } = transport(server.uri);
    const shape = await failure(t.json({ method: "GET", path: "/x", schema: ok }));
    expect(shape.code).toBe("TRACKING_BAD_RESPONSE");
    expect(shape.message).toContain("ok: Expected boolean, received string");
    const text = await failure(t.json({ method: "GET", path: "/x", schema: ok }));
    expect(text.code).toBe("TRACKING_BAD_RESPONSE");
    expect(text.message).toContain("the body is not JSON: not json");
    t.close();
  });
});

describe("HttpTransport requests", () => {
  it("sends bearer and basic credentials the way MLflow's client does", async () => {
    const server = await fake((_req, res) => json(res, 200, { ok: true }));
    const bearer = transport(server.uri, { MLFLOW_TRACKING_TOKEN: "s3cret" }).t;
    await bearer.json({ method: "GET", path: "/x", schema: ok });
    const basic = transport(server.uri, {
      MLFLOW_TRACKING_USERNAME: "ann",
      MLFLOW_TRACKING_PASSWORD: "pw",
    }).t;
    await basic.json({ method: "GET", path: "/x", schema: ok });
    expect(server.hits[0]?.headers.authorization).toBe("Bearer s3cret");
    expect(server.hits[1]?.headers.authorization).toBe(`Basic ${Buffer.from("ann:pw").toString("base64")}`);
    bearer.close();
    basic.close();
  });

  it("encodes repeated query parameters as MLflow reads them and reuses the connection", async () => {
    const server = await fake((_req, res) => json(res, 200, { ok: true }));
    const { t } = transport(server.uri);
    await t.json({
      method: "GET",
      path: "/s",
      query: { order_by: ["a DESC", "b"], filter: "name = 'x'", skip: undefined },
      schema: ok,
    });
    await t.json({ method: "GET", path: "/s", schema: ok });
    expect(server.hits[0]?.url).toBe("/s?order_by=a+DESC&order_by=b&filter=name+%3D+%27x%27");
    expect(server.hits[0]?.headers.connection, "keep-alive sockets").toBe("keep-alive");
    t.close();
  });

  it("given a freshly reserved free port, then freePort returns a bindable port", async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
  });
});
