// The python_function flavor is written only for the kinds the Python loader runs: the list in python-flavor.ts
// must be the loader's own (_load_kind), or a package would carry a flavor that fails at load.
import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { hasPythonLoader, PYFUNC_KINDS, pyfuncLoaderSource } from "../../../src/registry/python-flavor.js";

describe("the kinds the python_function flavor is written for", () => {
  it("given workbench_pyfunc.py's _load_kind, then PYFUNC_KINDS lists exactly the kinds it dispatches", async () => {
    const source = await readFile(pyfuncLoaderSource(), "utf8");
    const body = source.slice(
      source.indexOf("def _load_kind"),
      source.indexOf("raise WorkbenchModelError", source.indexOf("def _load_kind")),
    );
    const dispatched = [...body.matchAll(/"([a-z-]+)"/g)].map((m) => m[1]!);
    expect(dispatched.length, "the loader's dispatch was found").toBeGreaterThan(0);
    expect([...dispatched].sort()).toEqual([...PYFUNC_KINDS].sort());
  });

  it("given a text kind other than tfidf-linear, then it has no Python loader (its package carries no python_function flavor)", () => {
    expect(hasPythonLoader("text-embedding-bag")).toBe(false);
    expect(hasPythonLoader("tfidf-linear")).toBe(true);
    expect(hasPythonLoader("logistic")).toBe(true);
  });
});
