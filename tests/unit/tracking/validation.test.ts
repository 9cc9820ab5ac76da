import { describe, expect, it } from "vitest";
import { TrackingError } from "../../../src/shared/errors.js";
import { checkMetric, checkParam, checkTag, LIMITS } from "../../../src/tracking/validation.js";
import { thrownBy } from "../../helpers/expect-error.js";

const rejected = (fn: () => void) => thrownBy(fn, TrackingError);

describe("client-side checks mirror the server's limits", () => {
  it("given a NaN metric under the default policy, then INVALID_PARAMETER_VALUE names key and step", () => {
    const error = rejected(() => checkMetric("loss", Number.NaN, 7, "reject"));
    expect(error.code).toBe("INVALID_PARAMETER_VALUE");
    expect(error.message).toContain("'loss' at step 7 is NaN");
    expect(() => checkMetric("loss", Number.NaN, 7, "record")).not.toThrow();
  });

  it("given an over-long param or tag value, then the error gives length and limit", () => {
    const param = rejected(() => checkParam("config", "x".repeat(LIMITS.paramValueLength + 1)));
    expect(param.code).toBe("INVALID_PARAMETER_VALUE");
    expect(param.message).toContain(
      `${LIMITS.paramValueLength + 1} characters; MLflow allows ${LIMITS.paramValueLength}`,
    );
    const tag = rejected(() => checkTag("note", "x".repeat(LIMITS.tagValueLength + 1)));
    expect(tag.message).toContain(`MLflow allows ${LIMITS.tagValueLength}`);
    expect(() => checkParam("ok", "x".repeat(LIMITS.paramValueLength))).not.toThrow();
  });

  it("given an empty or over-long key, or a fractional step, then it is refused", () => {
    expect(rejected(() => checkParam("", "v")).message).toContain("must not be empty");
    expect(rejected(() => checkTag("k".repeat(251), "v")).message).toContain("MLflow allows 250");
    expect(rejected(() => checkMetric("m", 1, 1.5, "reject")).message).toContain("step must be an integer");
  });
});
