"""Engine benchmark: this engine and micrograd 0.1.0 from PyPI, side by side in one run.

    python bench/engine.py            # full sizes, best of 3 rounds (about two minutes)
    python bench/engine.py --quick    # smaller graphs, for a quick look

micrograd 0.1.0 has the same import name, so it lives in a virtual environment of its own
(created on first use under bench/.venv-micrograd-0.1.0). Every workload runs in a fresh process, the
engines taking turns, and the tables compare them as ratios measured in this one run. On the random
graph a third engine runs too, the floor (bench/engine_workloads.py's FloorValue), and a second table
splits each engine's time into the garbage collector's and the rest. It prints Markdown tables and
writes them to bench/results/engine.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORKER = HERE / "engine_workloads.py"
ORIGINAL_ENV = HERE / ".venv-micrograd-0.1.0"


def original_python() -> Path:
    """The Python of a virtual environment with micrograd 0.1.0 installed from PyPI."""
    python = ORIGINAL_ENV / "bin" / "python"
    if not python.exists():
        print("setting up micrograd 0.1.0 in", ORIGINAL_ENV, file=sys.stderr)
        venv.create(ORIGINAL_ENV, with_pip=True)
        subprocess.run(
            [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "micrograd==0.1.0"], check=True
        )
    return python


def interpreter(engine: str) -> tuple[Path, dict]:
    """The Python and the environment variables to run an engine's process with: micrograd 0.1.0's
    virtual environment (without our PYTHONPATH), or this Python with this project's src/."""
    if engine == "0.1.0":
        return original_python(), {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return Path(sys.executable), {**os.environ, "PYTHONPATH": str(ROOT / "src")}


def run(engine: str, workload: str, n: int) -> dict:
    """One workload in a fresh process: engine '0.1.0', 'ours', or 'floor' (the random graph only)."""
    python, env = interpreter(engine)
    print(f"  {engine:>5} {workload} ({n:,}) ...", end="", flush=True, file=sys.stderr)
    if engine == "floor":  # the same random graph, built from bench/engine_workloads.py's FloorValue
        workload = f"{workload}-floor"
    done = subprocess.run(
        [str(python), str(WORKER), workload, str(n)], env=env, capture_output=True, text=True, cwd=ROOT
    )
    if done.returncode != 0:
        result = {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "crashed"}
    else:
        result = json.loads(done.stdout)
    print(" " + (result.get("error") or "done"), file=sys.stderr)
    return result


def ratio(theirs: float | None, ours: float | None) -> str:
    return f"{theirs / ours:.1f}x" if theirs and ours else "n/a"


def table(results: dict, sizes: dict) -> str:
    ours, orig = results["ours"], results["0.1.0"]

    def cell(result: dict, key: str, fmt: str) -> str:
        return result["error"] if "error" in result else format(result[key], fmt)

    rows = [
        ("README expression, build + backward (us per repetition)", "readme", "us_per_rep", ".1f"),
        ("random graph: build (ns per node)", "random", "build_ns_per_node", ".0f"),
        ("random graph: backward (ns per node)", "random", "backward_ns_per_node", ".0f"),
        ("random graph: build + backward (s)", "random", "seconds", ".2f"),
        ("random graph: memory (bytes per node)", "memory", "bytes_per_node", ".0f"),
        ("chain: build + backward (s)", "chain", "seconds", ".2f"),
    ]
    lines = [
        "| workload | micrograd 0.1.0 | this engine | speed-up |",
        "|---|---:|---:|---:|",
    ]
    for title, workload, key, fmt in rows:
        a, b = orig[workload], ours[workload]
        if "error" in b:
            speedup = "n/a"
        elif "error" in a:
            speedup = "done"  # only this engine finished
        elif key == "bytes_per_node":
            speedup = f"{a[key] / b[key]:.1f}x less"
        else:
            speedup = ratio(a[key], b[key])
        lines.append(f"| {title} | {cell(a, key, fmt)} | {cell(b, key, fmt)} | {speedup} |")
    lines.append("")
    lines.append(
        f"README expression x {sizes['readme']:,}; random graph of {sizes['random']:,} ops (+, *, relu on "
        f"operands drawn uniformly from all earlier results) over 1,000 leaves, the last 1,000 summed; chain of "
        f"{sizes['chain']:,} ops (* 1.0, + 0.5). Default garbage-collector settings for every engine. Each engine's "
        f"fastest of {sizes['rounds']} rounds, the engines taking turns, each in a fresh process. "
        f"Python {platform.python_version()}, {platform.machine()}."
    )
    return "\n".join(lines)


def garbage_collector_table(results: dict) -> str:
    """Where the random graph's time goes: inside CPython's cyclic garbage collector, and outside it."""
    engines = [("micrograd 0.1.0", results["0.1.0"]["random"]), ("this engine", results["ours"]["random"]),
               ("floor", results["floor"]["random"])]  # fmt: skip
    if any("error" in result for _, result in engines):
        return "(no garbage-collector table: a random-graph run failed)"
    original = engines[0][1]

    def row(title: str, cells) -> str:
        return f"| {title} | " + " | ".join(cells) + " |"

    lines = [
        row("random graph, build + backward", [name for name, _ in engines]),
        "|---|" + "---:|" * len(engines),
        row("total (s)", [f"{r['seconds']:.2f}" for _, r in engines]),
        row("in the garbage collector (s)", [f"{r['gc_seconds']:.2f}" for _, r in engines]),
        row("full collections", [str(r["full_collections"]) for _, r in engines]),
        row("outside the garbage collector (s)", [f"{r['seconds'] - r['gc_seconds']:.2f}" for _, r in engines]),
        row("speed-up over 0.1.0, total", [ratio(original["seconds"], r["seconds"]) for _, r in engines]),
        row(
            "speed-up over 0.1.0, outside the collector",
            [ratio(original["seconds"] - original["gc_seconds"], r["seconds"] - r["gc_seconds"]) for _, r in engines],
        ),
        "",
        (
            "floor: bench/engine_workloads.py's FloorValue, the least any engine that keeps its graph as Python "
            "objects does: one object per node holding its number, grad, op and inputs, arithmetic inline, no "
            "checks, no op table, no label. Same graph, same harness, same rounds."
        ),
    ]
    return "\n".join(lines)


RELATIVE_TOLERANCE = 1e-9  # float64 peers that sum in another order still agree far closer than this


def same_numbers(a, b) -> bool:
    """Two results' numbers (or lists of them) agree to ``RELATIVE_TOLERANCE``; NaN agrees with nothing."""
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(same_numbers(x, y) for x, y in zip(a, b))
    return abs(a - b) <= RELATIVE_TOLERANCE * max(1.0, abs(a), abs(b))


def keep_best(held: dict | None, result: dict, key: str, fields=("check",)) -> dict:
    """Of two rounds of one peer's workload, the one to keep: the faster by ``key``.

    A failed round is kept over any success (a crash must show, not hide behind a lucky round), and
    rounds that computed different ``fields`` become an error too. They are compared to rounding, not
    bit for bit: micrograd 0.1.0 orders its backward pass through a set of nodes, so its last digits
    change from one process to the next.
    """
    if held is None or "error" in held:
        return held or result
    if "error" in result:
        return result
    if not all(same_numbers(held[field], result[field]) for field in fields):
        return {"error": f"rounds computed different numbers: {held} and {result}"}
    return result if result[key] < held[key] else held


def check_same_results(results: dict) -> list[str]:
    """Speed is never bought with a different answer: every engine must compute 0.1.0's numbers."""
    problems = []
    pairs = [("readme", "ours"), ("random", "ours"), ("random", "floor")]
    for workload, engine in pairs:
        a, b = results["0.1.0"][workload], results[engine][workload]
        if "error" not in a and "error" not in b and not same_numbers(a["check"], b["check"]):
            problems.append(f"{workload}: 0.1.0 computed {a['check']}, {engine} {b['check']}")
    return problems


SPEED = {"readme": "us_per_rep", "random": "seconds", "memory": "bytes_per_node", "chain": "seconds"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per workload; the fastest counts")
    args = parser.parse_args()
    sizes = (
        {"readme": 2_000, "random": 100_000, "chain": 1_000_000}
        if args.quick
        else {"readme": 10_000, "random": 1_000_000, "chain": 1_000_000}
    )
    results: dict = {"ours": {}, "0.1.0": {}, "floor": {}}
    workloads = [("readme", sizes["readme"]), ("random", sizes["random"]), ("memory", sizes["random"]),
                 ("chain", sizes["chain"])]
    for workload, n in workloads:
        # The machine is shared: the engines take turns, and each keeps its fastest round.
        rounds = 1 if workload == "memory" else args.rounds  # tracemalloc counts bytes: no noise
        print(f"{workload}: {rounds} round(s)", file=sys.stderr)
        engines = ("0.1.0", "ours", "floor") if workload == "random" else ("0.1.0", "ours")
        fields = () if workload == "memory" else ("check",)
        for _ in range(rounds):
            for engine in engines:
                held = results[engine].get(workload)
                results[engine][workload] = keep_best(held, run(engine, workload, n), SPEED[workload], fields)
    text = table(results, {**sizes, "rounds": args.rounds}) + "\n\n" + garbage_collector_table(results)
    problems = check_same_results(results)
    print(text)
    for problem in problems:
        print("DIFFERENT RESULTS:", problem)
    out = HERE / "results" / ("engine-quick.md" if args.quick else "engine.md")
    out.parent.mkdir(exist_ok=True)
    out.write_text(text + "\n")
    print(f"\nwritten to {out.relative_to(ROOT)}", file=sys.stderr)
    if problems:
        sys.exit(1)


if __name__ == "__main__":
    main()
