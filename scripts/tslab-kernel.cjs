#!/usr/bin/env node
// Starts tslab's Jupyter kernel with this project's type-checking rules and import.meta support:
//   node scripts/tslab-kernel.cjs kernel --config-path <connection file>   (cwd must be the project root)
// tslab 1.0.x compiles cells and the .ts files they import with its bundled TypeScript 5.0 and fixed
// options (not strict; ESNext then CommonJS), and never reads tsconfig.json. Two wrappers fix that:
//  1. createWatchCompilerHost: add the project's strictness options (zod's z.infer types need strictNullChecks);
//  2. transpileModule (tslab's ESM -> CommonJS step): import.meta is a syntax error in CommonJS, so
//     import.meta becomes a variable with url/filename/dirname computed from __filename.
"use strict";
const path = require("node:path");
const { createRequire } = require("node:module");

const root = process.cwd();
const tslabRequire = createRequire(require.resolve("tslab/package.json", { paths: [root] }));
const tsPath = tslabRequire.resolve("@tslab/typescript-for-tslab");
const ts = tslabRequire(tsPath);

const FROM_TSCONFIG = [
  "strict",
  "noImplicitAny",
  "strictNullChecks",
  "strictFunctionTypes",
  "strictBindCallApply",
  "strictPropertyInitialization",
  "noImplicitThis",
  "useUnknownInCatchVariables",
  "noUncheckedIndexedAccess",
  "noImplicitOverride",
  "noFallthroughCasesInSwitch",
  "exactOptionalPropertyTypes",
  "forceConsistentCasingInFileNames",
  "types",
];
function projectOptions() {
  const file = path.join(root, "tsconfig.json");
  const { config, error } = ts.readConfigFile(file, ts.sys.readFile);
  if (error) return {};
  const { options } = ts.parseJsonConfigFileContent(config, ts.sys, root, undefined, file);
  const out = { lib: ["lib.es2023.d.ts"] }; // tslab's default is es2022
  for (const key of FROM_TSCONFIG) if (options[key] !== undefined) out[key] = options[key];
  return out;
}
const extraOptions = projectOptions();

const META = "__tslabImportMeta";
// One line, so line numbers in stack traces stay right. Cells run without __filename: use <cwd>/__tslab__.ts.
const META_DECL =
  `var ${META} = (() => { const f = typeof __filename === "string" ? __filename : ` +
  `require("node:path").join(process.cwd(), "__tslab__.ts"); return { url: require("node:url").pathToFileURL(f).href, ` +
  `filename: f, dirname: require("node:path").dirname(f) }; })(); `;
function importMetaToVariable(context) {
  const visit = (node) =>
    ts.isMetaProperty(node) && node.keywordToken === ts.SyntaxKind.ImportKeyword
      ? context.factory.createIdentifier(META)
      : ts.visitEachChild(node, visit, context);
  return (sourceFile) => ts.visitNode(sourceFile, visit);
}

const wrapped = { ...ts };
wrapped.createWatchCompilerHost = (rootFiles, options, ...rest) =>
  ts.createWatchCompilerHost(rootFiles, { ...options, ...extraOptions }, ...rest);
wrapped.transpileModule = (input, opts) => {
  if (opts?.compilerOptions?.module !== ts.ModuleKind.CommonJS || !input.includes("import.meta")) {
    return ts.transpileModule(input, opts);
  }
  const before = [...(opts.transformers?.before ?? []), importMetaToVariable];
  const out = ts.transpileModule(input, { ...opts, transformers: { ...opts.transformers, before } });
  return { ...out, outputText: META_DECL + out.outputText };
};
require.cache[tsPath].exports = wrapped; // tslab's own require of TypeScript now gets the wrapped module

tslabRequire("./dist/main.js").main();
