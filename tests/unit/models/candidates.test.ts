import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type CandidateSpec, parseTrainConfig } from "../../../src/config/train-config.js";
import {
  expandCandidates,
  planCandidates,
  roundRangeValue,
  sampleSpace,
  type Trial,
} from "../../../src/models/candidates.js";
import { ConfigError } from "../../../src/shared/errors.js";
import { createRng } from "../../../src/shared/random.js";
import { thrownBy } from "../../helpers/expect-error.js";

// Trials that the previous expandCandidates (commit b3ee74c) made; written by
// tests/fixtures/candidates/generate-expansions.mjs from a checkout of that commit.
interface ExpansionCase {
  name: string;
  seed: number;
  candidates: CandidateSpec[];
  trials: { id: string; kind: string; params: Record<string, unknown> }[];
}
const fixture = JSON.parse(
  readFileSync(new URL("../../fixtures/candidates/expansions.json", import.meta.url), "utf8"),
) as { commit: string; cases: ExpansionCase[] };

const range = (min: number, max: number, log = false, integer = false) => ({ min, max, log, integer });

describe("candidates → trials", () => {
  it("the fixture covers both configs, grid and random search", () => {
    expect(fixture.cases.map((c) => c.name)).toEqual(
      expect.arrayContaining(["configs/credit-default.yaml", "configs/hpc.yaml"]),
    );
    expect(fixture.cases.some((c) => c.candidates.some((s) => s.random !== undefined))).toBe(true);
    expect(fixture.cases.some((c) => c.candidates.some((s) => s.grid !== undefined))).toBe(true);
  });

  for (const c of fixture.cases) {
    it(`${c.name}: the same trials (ids, kinds, resolved params) as before the rewrite`, () => {
      const trials = expandCandidates(c.candidates, c.seed);
      expect(trials.map(({ id, kind, params }) => ({ id, kind, params }))).toEqual(c.trials);
      // Each trial names the candidate it came from.
      const perCandidate = planCandidates(c.candidates, c.seed).map((p) => p.trials.length);
      const expected = perCandidate.flatMap((n, i) => new Array<number>(n).fill(i));
      expect(trials.map((t) => t.candidate)).toEqual(expected);
    });
  }

  it("every fixture case read through today's config schema expands to the same trials (written key order kept)", () => {
    for (const c of fixture.cases) {
      const config = parseTrainConfig({
        name: "t",
        dataset: "d",
        experiment: "e",
        seed: c.seed,
        training: { candidates: c.candidates },
        registry: { modelName: "m" },
      });
      const trials = expandCandidates(config.training.candidates, config.seed);
      expect(trials.map(({ id, kind, params }) => ({ id, kind, params }))).toEqual(c.trials);
    }
  });

  it("ids count each kind across candidates; a TPE candidate reserves its trial ids where it stands", () => {
    const candidates: CandidateSpec[] = [
      { kind: "mlp", params: {}, grid: { dropout: [0.1, 0.2] } },
      {
        kind: "mlp",
        params: {},
        tpe: {
          trials: 3,
          startup: 2,
          batch: 2,
          gamma: 0.25,
          candidates: 24,
          prune: false,
          space: { dropout: range(0, 0.5) },
        },
      },
      { kind: "logistic", params: {} },
      { kind: "mlp", params: {}, random: { samples: 1, space: { l2: range(1e-5, 1e-2, true) } } },
    ];
    const plans = planCandidates(candidates, 1);
    expect(plans.map((p) => [p.method, p.ids])).toEqual([
      ["grid", ["mlp-1", "mlp-2"]],
      ["tpe", ["mlp-3", "mlp-4", "mlp-5"]],
      ["fixed", ["logistic-1"]],
      ["random", ["mlp-6"]],
    ]);
    expect(plans[1]!.trials).toEqual([]);
    const trials = expandCandidates(candidates, 1);
    expect(trials.map((t: Trial) => [t.id, t.candidate])).toEqual([
      ["mlp-1", 0],
      ["mlp-2", 0],
      ["logistic-1", 2],
      ["mlp-6", 3],
    ]);
    // Defaults of the kind are applied.
    expect(trials[2]!.params).toEqual({ learningRate: 0.01, l2: 0, epochs: 50, batchSize: 512 });
  });

  it("invalid merged hyperparameters: CONFIG_INVALID naming the candidate, the trial and the field", () => {
    const error = thrownBy(
      () =>
        expandCandidates(
          [
            { kind: "logistic", params: {} },
            { kind: "mlp", params: { epochs: 2 }, grid: { dropout: [0.1, 1.5] } },
          ],
          1,
        ),
      ConfigError,
    );
    expect(error.code).toBe("CONFIG_INVALID");
    expect(error.message).toContain("training.candidates.1 (mlp), trial 2: invalid hyperparameters");
    expect(error.message).toContain("dropout:");
  });

  it("random draws: integers rounded, other values to 4 significant digits, lists by index", () => {
    const rng = createRng(9);
    const space = {
      a: range(1e-5, 1, true),
      b: range(1, 100, false, true),
      c: ["x", "y", "z"],
    };
    for (let i = 0; i < 50; i++) {
      const s = sampleSpace(space, rng);
      expect(Number((s.a as number).toPrecision(4))).toBe(s.a);
      expect(s.a as number).toBeGreaterThanOrEqual(1e-5);
      expect(s.a as number).toBeLessThanOrEqual(1);
      expect(Number.isInteger(s.b)).toBe(true);
      expect(["x", "y", "z"]).toContain(s.c);
    }
    expect(roundRangeValue(0.123456, range(0, 1))).toBe(0.1235);
    expect(roundRangeValue(7.5, range(0, 10, false, true))).toBe(8);
  });
});
