"""``python -m benchmarks [name ...]``: run the benchmarks, print a table, save JSON."""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import math
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

from . import BENCHMARKS

RESULTS_DIR = Path(__file__).resolve().parent / "results"
HEADERS = ("benchmark", "metric", "nbsup", "supervisord", "ratio", "target", "physical limit")


def _fmt(value: Any, unit: str = "") -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if isinstance(value, int | float):
        text = f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"
        return f"{text} {unit}".strip()
    return str(value)


def table(rows: list[dict[str, Any]]) -> str:
    """The rows as a Markdown table."""
    cells = [
        (
            r["benchmark"],
            r["metric"],
            _fmt(r["nbsup"], r["unit"]),
            _fmt(r["supervisord"], r["unit"]),
            _fmt(r["ratio"]) + ("x" if isinstance(r["ratio"], int | float) else ""),
            r["target"],
            _fmt(r["limit"], r["unit"]),
        )
        for r in rows
    ]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(HEADERS)]
    lines = [
        "| " + " | ".join(h.ljust(w) for h, w in zip(HEADERS, widths, strict=True)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    lines += [
        "| " + " | ".join(c.ljust(w) for c, w in zip(cell, widths, strict=True)) + " |"
        for cell in cells
    ]
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    return {
        "nproc": os.cpu_count(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "names", nargs="*", metavar="name", help=f"any of {', '.join(BENCHMARKS)} (default: all)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small sizes (seconds per benchmark) where a benchmark has a quick mode; a smoke "
        "test, not a measurement",
    )
    parser.add_argument(
        "--output",
        type=Path,
        metavar="FILE",
        help="write the JSON here instead of benchmarks/results/<timestamp>[-quick].json",
    )
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {BENCHMARKS}")
    names = args.names or list(BENCHMARKS)
    rows: list[dict[str, Any]] = []
    timings: dict[str, float] = {}
    for name in names:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        module = importlib.import_module(f"benchmarks.{name}")
        kwargs: dict[str, Any] = {}
        if args.quick:
            if "quick" in inspect.signature(module.run).parameters:
                kwargs["quick"] = True
            else:
                print(f"  {name} has no quick mode: full run", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        rows.extend(module.run(**kwargs))
        timings[name] = time.perf_counter() - t0
        print(f"  {name}: {timings[name]:.1f} s", file=sys.stderr, flush=True)
    info = machine()
    print(
        f"\nnproc {info['nproc']}, kernel {info['kernel']}, Python {info['python']}\n",
    )
    print(table(rows))
    stamp = time.strftime("%Y%m%dT%H%M%S")
    suffix = "-quick" if args.quick else ""
    out = args.output if args.output is not None else RESULTS_DIR / f"{stamp}{suffix}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "timestamp": stamp,
        "machine": info,
        "quick": args.quick,
        "seconds": timings,
        "results": rows,
    }
    out.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    print(f"\nresults written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
