// The committed WebAssembly module (quickscorer-wasm.ts) must be quickscorer.wat compiled by `npm run build:wasm`:
// an edit of the .wat without a rebuild (or a hand-edited module) fails here.
import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { compileWat, MODULE_FILE, moduleText, WAT_FILE } from "../../../../scripts/build-wasm.js";

describe("quickscorer.wat", () => {
  it("the committed module holds the bytes npm run build:wasm makes of it", async () => {
    const bytes = await compileWat(await readFile(WAT_FILE, "utf8"));
    expect(bytes.subarray(0, 4)).toEqual(Buffer.from([0x00, 0x61, 0x73, 0x6d]));
    expect(await readFile(MODULE_FILE, "utf8")).toBe(moduleText(bytes));
  });
});
