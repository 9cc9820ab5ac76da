import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { downloadCurrent } from "../../../src/pipelines/ct-monitor.js";
import { rejectionOf } from "../../helpers/expect-error.js";

const LOG = '{"time":"2026-12-01T00:00:00Z","inputs":[{"a":1}],"outputs":[]}\n';
let server: Server;
let base: string;
let dir: string;
const seen: (string | undefined)[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "ct-download-"));
  server = createServer((req, res) => {
    seen.push(req.headers.authorization);
    if (req.url === "/logs/predictions.jsonl") res.end(LOG);
    else if (req.url === "/private") {
      res.statusCode = 403;
      res.end("no");
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

describe("downloadCurrent (ct --current <url>)", () => {
  it("streams the file into the monitor folder, with the bearer token when set", async () => {
    const file = await downloadCurrent(`${base}/logs/predictions.jsonl`, dir, {
      WORKBENCH_PREDICTION_LOG_TOKEN: "s3cret",
    });
    expect(path.basename(file)).toBe("downloaded-predictions.jsonl");
    expect(await readFile(file, "utf8")).toBe(LOG);
    expect(seen.at(-1)).toBe("Bearer s3cret");
    await downloadCurrent(`${base}/logs/predictions.jsonl`, dir, {});
    expect(seen.at(-1), "no token: no header").toBeUndefined();
  });

  it("an HTTP error names the status (and the token variable for 401/403)", async () => {
    {
      const error = await rejectionOf(downloadCurrent(`${base}/private`, dir, {}));
      expect(error.code).toBe("MONITOR_INPUT_UNREADABLE");
      expect(error.message).toMatch(/answered HTTP 403 \(set WORKBENCH_PREDICTION_LOG_TOKEN\?\)/);
    }
    {
      const error = await rejectionOf(downloadCurrent(`${base}/gone.csv`, dir, {}));
      expect(error.code).toBe("MONITOR_INPUT_UNREADABLE");
      expect(error.message).toMatch(/answered HTTP 404\.$/);
    }
  });

  it("an unreachable host or a malformed URL is a named error", async () => {
    {
      const error = await rejectionOf(downloadCurrent("http://127.0.0.1:1/x.jsonl", dir, {}));
      expect(error.code).toBe("MONITOR_INPUT_UNREADABLE");
      expect(error.message).toMatch(
        /Could not download the current data from http:\/\/127\.0\.0\.1:1\/x\.jsonl/,
      );
    }
    {
      const error = await rejectionOf(downloadCurrent("http://[bad", dir, {}));
      expect(error.code).toBe("MONITOR_INPUT_INVALID");
      expect(error.message).toMatch(/is not a valid URL/);
    }
  });
});
