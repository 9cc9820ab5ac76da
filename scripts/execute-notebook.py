"""Executes one notebook headless with the project's tslab kernel and reports every problem as JSON.

usage: execute-notebook.py ROOT NOTEBOOK OUT [--param NAME=TS_LITERAL ...] [--timeout SECONDS]

A cell fails when it raises, writes to stderr (tslab reports TypeScript diagnostics and uncaught errors
there), ends with a non-ok status, or is tagged `expect-output` and produced nothing. Parameters are injected
as a cell after the one tagged `parameters` (papermill's convention). The executed copy is written to OUT.
Exit status: 0 when every cell passed, 1 otherwise; stdout is one JSON object.
"""

import argparse
import json
import os
import sys
import time

import nbformat
from jupyter_client.kernelspec import NoSuchKernel
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError


def configure_jupyter(root: str) -> None:
    prefix = os.path.join(root, ".jupyter")
    os.environ.update(
        JUPYTER_PATH=prefix,
        JUPYTER_DATA_DIR=prefix,
        JUPYTER_CONFIG_DIR=os.path.join(prefix, "config"),
        JUPYTER_RUNTIME_DIR=os.path.join(prefix, "runtime"),
    )


def inject(nb, params: list[str]) -> None:
    if not params:
        return
    lines = []
    for param in params:
        name, _, value = param.partition("=")
        lines.append(f"{name.strip()} = {value};")
    index = next((i for i, c in enumerate(nb.cells) if "parameters" in c.get("metadata", {}).get("tags", [])), -1)
    cell = nbformat.v4.new_code_cell("// Injected by the test runner\n" + "\n".join(lines))
    cell.metadata["tags"] = ["injected-parameters"]
    nb.cells.insert(index + 1, cell)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("root")
    parser.add_argument("notebook")
    parser.add_argument("out")
    parser.add_argument("--param", action="append", default=[])
    parser.add_argument("--timeout", type=int, default=900)
    args = parser.parse_args()
    configure_jupyter(args.root)
    nb = nbformat.read(args.notebook, as_version=4)
    inject(nb, args.param)
    statuses: dict[int, str] = {}

    def record(cell, cell_index, execute_reply):
        statuses[cell_index] = execute_reply.get("content", {}).get("status", "unknown")

    def pause_after_error(cell, cell_index, execute_reply):
        # tslab drops requests for 200 ms after a failed cell; without a pause every later cell looks empty.
        time.sleep(0.25)

    kernel = nb.metadata.get("kernelspec", {}).get("name", "tslab-workbench")
    client = NotebookClient(
        nb,
        kernel_name=kernel,
        timeout=args.timeout,
        allow_errors=True,
        on_cell_executed=record,
        on_cell_error=pause_after_error,
        resources={"metadata": {"path": args.root}},
    )
    failures = []
    started = time.time()
    try:
        client.execute()
    except NoSuchKernel:
        failures.append({"cell": None, "kind": "kernel", "text": f"kernel '{kernel}' is not installed (looked in {os.environ['JUPYTER_PATH']}); run `npm run setup`"})
    except (CellTimeoutError, DeadKernelError) as error:
        failures.append({"cell": None, "kind": "kernel", "text": f"{type(error).__name__}: {error}"})
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        outputs = cell.get("outputs", [])
        for output in outputs:
            if output.output_type == "error":
                failures.append({"cell": index, "kind": "error", "text": f"{output.ename}: {output.evalue}"})
            elif output.output_type == "stream" and output.name == "stderr":
                failures.append({"cell": index, "kind": "stderr", "text": output.text.strip()})
        status = statuses.get(index)
        if status not in (None, "ok") and not any(f["cell"] == index for f in failures):
            failures.append({"cell": index, "kind": "status", "text": f"execution status '{status}'"})
        if status is None and not failures:
            failures.append({"cell": index, "kind": "status", "text": "the cell was never executed"})
        tags = cell.get("metadata", {}).get("tags", [])
        shown = [o for o in outputs if o.output_type in ("display_data", "execute_result") or (o.output_type == "stream" and o.name == "stdout")]
        if "expect-output" in tags and not shown and status == "ok":
            failures.append({"cell": index, "kind": "empty", "text": "the cell is expected to display something and produced nothing"})
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    nbformat.write(nb, args.out)
    report = {
        "notebook": args.notebook,
        "executed": args.out,
        "ok": not failures,
        "cells": sum(1 for c in nb.cells if c.cell_type == "code"),
        "displays": sum(1 for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "display_data"),
        "failures": failures,
        "seconds": round(time.time() - started, 2),
    }
    print(json.dumps(report))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
