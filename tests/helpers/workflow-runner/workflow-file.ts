// A workflow file as the local runner reads it: the YAML's shape, the keys it can simulate, and the
// dispatch inputs resolved as GitHub resolves them (declared defaults, typed booleans, choices checked).
import { readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { projectRoot } from "../../../src/shared/project.js";
import { UnsupportedError } from "./actions.js";
import type { ExprValue } from "./expressions.js";

export type Event = "schedule" | "workflow_dispatch" | "push" | "pull_request";

export interface StepSpec {
  id?: string;
  name?: string;
  if?: unknown;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, unknown>;
  "working-directory"?: string;
  "timeout-minutes"?: number;
}

export interface JobSpec {
  "runs-on": string;
  needs?: string | string[];
  if?: unknown;
  env?: Record<string, unknown>;
  outputs?: Record<string, string>;
  permissions?: Record<string, string>;
  steps: StepSpec[];
  "timeout-minutes"?: number;
}

interface InputSpec {
  type?: "string" | "boolean" | "choice" | "number" | "environment";
  default?: unknown;
  required?: boolean;
  options?: string[];
}

/** A workflow file as parsed YAML (the parts the runner reads). */
export interface WorkflowDoc {
  on: Record<string, { inputs?: Record<string, InputSpec> } | null> & { schedule?: { cron: string }[] };
  env?: Record<string, unknown>;
  permissions?: Record<string, string>;
  concurrency?: { group: string; "cancel-in-progress"?: boolean };
  jobs: Record<string, JobSpec>;
}

const JOB_KEYS = [
  "name",
  "runs-on",
  "needs",
  "if",
  "permissions",
  "env",
  "outputs",
  "steps",
  "timeout-minutes",
];
/** Read by GitHub's scheduler, not by a runner: accepted and ignored. */
const JOB_KEYS_IGNORED = ["concurrency"];
const STEP_KEYS = ["id", "name", "if", "uses", "run", "with", "env", "working-directory", "timeout-minutes"];

/** Reads a workflow file (path relative to the project, or absolute). */
export function loadWorkflow(file: string): WorkflowDoc {
  return parse(readFileSync(path.resolve(projectRoot(), file), "utf8")) as WorkflowDoc;
}

/** Throws UnsupportedError for a job or step key the runner does not simulate (services, matrix…). */
export function checkJobShape(job: string, spec: JobSpec): void {
  const unknownKeys = Object.keys(spec).filter((k) => !JOB_KEYS.includes(k) && !JOB_KEYS_IGNORED.includes(k));
  if (unknownKeys.length > 0)
    throw new UnsupportedError(`job '${job}': ${unknownKeys.join(", ")} not simulated`);
  if (!/^ubuntu-/.test(spec["runs-on"])) throw new UnsupportedError(`runs-on '${spec["runs-on"]}'`);
  for (const [index, step] of spec.steps.entries()) {
    const badKeys = Object.keys(step).filter((k) => !STEP_KEYS.includes(k));
    if (badKeys.length > 0)
      throw new UnsupportedError(`job '${job}' step ${index + 1}: ${badKeys.join(", ")}`);
    if ((step.run === undefined) === (step.uses === undefined)) {
      throw new UnsupportedError(`job '${job}' step ${index + 1} needs exactly one of run: and uses:`);
    }
  }
}

/**
 * The `inputs` context: for workflow_dispatch the given values over the declared defaults (booleans as
 * booleans, choices checked, unknown names refused); for other events every declared input is null.
 */
export function resolveInputs(
  doc: WorkflowDoc,
  event: Event,
  given: Record<string, string | boolean | number> = {},
): Record<string, ExprValue> {
  const declared = doc.on.workflow_dispatch?.inputs ?? {};
  if (event !== "workflow_dispatch") {
    if (Object.keys(given).length > 0) throw new UnsupportedError(`A ${event} event has no inputs`);
    return Object.fromEntries(Object.keys(declared).map((k) => [k, null]));
  }
  const unknown = Object.keys(given).filter((k) => !(k in declared));
  if (unknown.length > 0) throw new UnsupportedError(`Unexpected inputs provided: ${unknown.join(", ")}`);
  const inputs: Record<string, ExprValue> = {};
  for (const [name, spec] of Object.entries(declared)) {
    const raw = name in given ? given[name] : spec.default;
    if (raw === undefined && spec.required)
      throw new UnsupportedError(`Required input '${name}' not provided`);
    if (spec.type === "boolean") {
      if (raw !== undefined && ![true, false, "true", "false"].includes(raw as string)) {
        throw new UnsupportedError(`Input '${name}' must be a boolean, got ${JSON.stringify(raw)}`);
      }
      inputs[name] = raw === true || raw === "true";
    } else if (spec.type === "choice" && raw !== undefined && !spec.options?.includes(String(raw))) {
      throw new UnsupportedError(`Input '${name}': '${raw}' is not one of ${spec.options?.join(", ")}`);
    } else if (spec.type === "number") {
      inputs[name] = raw === undefined ? null : Number(raw);
    } else {
      inputs[name] = raw === undefined ? "" : String(raw);
    }
  }
  return inputs;
}
