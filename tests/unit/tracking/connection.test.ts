import { describe, expect, it } from "vitest";
import { ConfigError } from "../../../src/shared/errors.js";
import {
  blankTrackingUriWarning,
  DEFAULT_RETRY,
  parseTrackingUri,
  resolveConnection,
  trackingUriFromEnv,
} from "../../../src/tracking/connection.js";
import { thrownBy } from "../../helpers/expect-error.js";

const configError = (fn: () => unknown) => thrownBy(fn, ConfigError);

describe("parseTrackingUri", () => {
  it("given an http URL with a trailing slash, when parsed, then it is normalised", () => {
    expect(parseTrackingUri("http://127.0.0.1:5000/")).toBe("http://127.0.0.1:5000");
    expect(parseTrackingUri(" https://mlflow.example.com/prefix/ ")).toBe(
      "https://mlflow.example.com/prefix",
    );
  });

  it.each([
    ["localhost:5000", "scheme"],
    ["not a uri", "not a valid URL"],
    ["file:///tmp/mlruns", "'file' scheme"],
    ["sqlite:///mlflow.db", "'sqlite' scheme"],
    ["databricks", "not a valid URL"],
    ["", "is empty"],
    ["http://host:5000/?x=1", "query string"],
    ["http://user:pw@host:5000", "must not embed credentials"],
  ])("given the malformed URI %j, then a TRACKING_URI_INVALID error explains it", (raw, fragment) => {
    const error = configError(() => parseTrackingUri(raw));
    expect(error.code).toBe("TRACKING_URI_INVALID");
    expect(error.message).toContain(fragment);
  });
});

describe("resolveConnection", () => {
  it("given no environment, then MLflow's defaults apply and a missing URI is a clear error", () => {
    const error = configError(() => resolveConnection({ env: {} }));
    expect(error.code).toBe("TRACKING_URI_MISSING");
    expect(error.message).toContain("MLFLOW_TRACKING_URI");
    const connection = resolveConnection({ env: { MLFLOW_TRACKING_URI: "http://127.0.0.1:5000" } });
    expect(connection.retry).toEqual(DEFAULT_RETRY);
    expect(connection.timeoutMs).toBe(120_000);
    expect(connection.auth).toEqual({ kind: "none" });
  });

  it("given MLflow's HTTP env vars, then retries, backoff and timeout follow them", () => {
    const connection = resolveConnection({
      env: {
        MLFLOW_TRACKING_URI: "http://h:1",
        MLFLOW_HTTP_REQUEST_MAX_RETRIES: "3",
        MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR: "0.5",
        MLFLOW_HTTP_REQUEST_BACKOFF_JITTER: "0",
        MLFLOW_HTTP_REQUEST_TIMEOUT: "7",
      },
    });
    expect(connection.retry).toMatchObject({ maxRetries: 3, backoffFactor: 0.5, backoffJitter: 0 });
    expect(connection.timeoutMs).toBe(7000);
  });

  it.each([
    ["MLFLOW_HTTP_REQUEST_MAX_RETRIES", "lots"],
    ["MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1.5"],
    ["MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "-1"],
    ["MLFLOW_HTTP_REQUEST_TIMEOUT", "0"],
    ["MLFLOW_TRACKING_INSECURE_TLS", "maybe"],
  ])("given %s=%j, then TRACKING_ENV_INVALID names the variable", (name, value) => {
    const error = configError(() =>
      resolveConnection({ env: { MLFLOW_TRACKING_URI: "http://h:1", [name]: value } }),
    );
    expect(error.code).toBe("TRACKING_ENV_INVALID");
    expect(error.message).toContain(name);
  });

  it("given a token or a username/password pair, then bearer or basic auth is chosen", () => {
    expect(
      resolveConnection({ env: { MLFLOW_TRACKING_URI: "http://h:1", MLFLOW_TRACKING_TOKEN: "t0k" } }).auth,
    ).toEqual({
      kind: "bearer",
      token: "t0k",
    });
    expect(
      resolveConnection({
        env: {
          MLFLOW_TRACKING_URI: "http://h:1",
          MLFLOW_TRACKING_USERNAME: "ann",
          MLFLOW_TRACKING_PASSWORD: "pw",
        },
      }).auth,
    ).toEqual({ kind: "basic", username: "ann", password: "pw" });
  });

  it("given a token and empty username/password (unset secrets in GitHub Actions), then bearer auth is chosen", () => {
    const env = {
      MLFLOW_TRACKING_URI: "http://h:1",
      MLFLOW_TRACKING_TOKEN: "t0k",
      MLFLOW_TRACKING_USERNAME: "",
      MLFLOW_TRACKING_PASSWORD: "",
    };
    expect(resolveConnection({ env }).auth, "empty variables count as unset").toEqual({
      kind: "bearer",
      token: "t0k",
    });
    expect(resolveConnection({ env: { ...env, MLFLOW_TRACKING_TOKEN: "" } }).auth).toEqual({ kind: "none" });
  });

  it("given a username without a password, then the error says to set both", () => {
    const error = configError(() =>
      resolveConnection({ env: { MLFLOW_TRACKING_URI: "http://h:1", MLFLOW_TRACKING_USERNAME: "ann" } }),
    );
    expect(error.code).toBe("TRACKING_ENV_INVALID");
    expect(error.message).toContain("MLFLOW_TRACKING_PASSWORD");
  });

  it("given an unreadable certificate path, then the error names it", () => {
    const error = configError(() =>
      resolveConnection({
        env: { MLFLOW_TRACKING_URI: "https://h:1", MLFLOW_TRACKING_SERVER_CERT_PATH: "/no/such.pem" },
      }),
    );
    expect(error.message).toContain("/no/such.pem");
  });
});

describe("trackingUriFromEnv", () => {
  it.each([
    [{}, { uri: undefined, blank: false }],
    [{ MLFLOW_TRACKING_URI: "" }, { uri: undefined, blank: true }],
    [{ MLFLOW_TRACKING_URI: " \t" }, { uri: undefined, blank: true }],
    [{ MLFLOW_TRACKING_URI: "http://h:1" }, { uri: "http://h:1", blank: false }],
  ])(
    "given %j, then the configured URI is %j (blank counts as unset, flagged for a warning)",
    (env, expected) => {
      expect(trackingUriFromEnv(env)).toEqual(expected);
    },
  );

  it("the warning for a blank value names the fallback and the two ways out", () => {
    const text = blankTrackingUriWarning("runs go to the local MLflow server at http://127.0.0.1:5000");
    expect(text).toContain("MLFLOW_TRACKING_URI is set but empty");
    expect(text).toContain("http://127.0.0.1:5000");
    expect(text).toContain("Unset it");
    expect(text).toContain("set it to your tracking server's URL");
  });
});
