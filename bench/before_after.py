"""The eager engine before and after a change, side by side in one run.

    python bench/before_after.py /path/to/before-venv/bin/python            # full sizes, best of 5 rounds
    python bench/before_after.py /path/to/before-venv/bin/python --quick    # a smaller random graph

"before" is another Python with an earlier micrograd installed (for instance the commit before a change:
``git archive COMMIT | tar -x -C DIR`` and ``pip install DIR`` into a fresh virtual environment); "after" is
this Python with this checkout's src/. Three workloads, each in a fresh process, the two engines taking turns
round after round; each keeps its fastest round, and the table shows after / before as a ratio. The first two
are timed in CPU time (time.process_time), which other processes on a shared machine disturb less:

- the README expression, build + backward;
- one eager training step of the original demo: MLP(2, [16, 16, 1]) on 100 points, hinge loss + l2;
- bench/engine_workloads.py's random graph of 1,000,000 ops (100,000 with --quick), build + backward.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORKLOADS = HERE / "engine_workloads.py"


def moons_step(steps: int) -> dict:
    """The demo's eager step, timed: forward over 100 points, hinge + l2, backward, SGD update."""
    from micrograd.losses import hinge, l2_penalty
    from micrograd.nn import MLP

    rng = random.Random(0)
    X = [[rng.uniform(-1.5, 2.5), rng.uniform(-1.0, 1.5)] for _ in range(100)]
    y = [1.0 if a + b > 0.5 else -1.0 for a, b in X]
    model = MLP(2, [16, 16, 1], seed=1337)
    params = model.parameters()
    best = float("inf")
    for _ in range(steps):
        start = time.process_time()
        loss = hinge([model(x) for x in X], y) + l2_penalty(params, 1e-4)
        model.zero_grad()
        loss.backward()
        for p in params:
            p.data -= 0.1 * p.grad
        best = min(best, time.process_time() - start)
    return {"ms_per_step": best * 1e3, "check": [loss.data, params[0].grad]}


def readme(repetitions: int) -> dict:
    """The README expression, build + backward, microseconds per repetition (best of 5 runs)."""
    sys.path.insert(0, str(HERE / "peers"))
    from common import README_POINT, readme_graph

    from micrograd.engine import Value

    best = float("inf")
    for _ in range(5):
        start = time.process_time()
        for _ in range(repetitions):
            a, b = Value(README_POINT[0]), Value(README_POINT[1])
            g = readme_graph(a, b)
            g.backward()
        best = min(best, time.process_time() - start)
    return {"us_per_rep": best / repetitions * 1e6, "check": [g.data, a.grad, b.grad]}


def run(python: str, env: dict, workload: str, n: int) -> dict:
    if workload in ("moons", "readme"):
        command = [python, str(Path(__file__)), "--worker", workload, str(n)]
    else:
        command = [python, str(WORKLOADS), workload, str(n)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"{workload} under {python} failed:\n{done.stderr}")
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before", nargs="?", help="the Python whose installed micrograd is 'before'")
    parser.add_argument("--quick", action="store_true", help="a random graph of 100,000 ops, not 1,000,000")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per workload; the fastest counts")
    parser.add_argument("--only", choices=["readme", "moons", "random"], action="append", help="run only these")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker = moons_step if args.worker[0] == "moons" else readme
        print(json.dumps(worker(int(args.worker[1]))))
        return
    clean = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    engines = {
        "before": (args.before, clean),
        "after": (sys.executable, {**clean, "PYTHONPATH": str(ROOT / "src")}),
    }
    workloads = [
        ("readme", 2_000, "us_per_rep", "README expression, build + backward (us)"),
        ("moons", 5, "ms_per_step", "moons step, MLP(2, [16, 16, 1]) x 100 points (ms)"),
        ("random", 100_000 if args.quick else 1_000_000, "seconds", "random graph, build + backward (s)"),
    ]
    lines = ["| workload | before | after | after / before |", "|---|---:|---:|---:|"]
    for workload, n, key, title in workloads:
        if args.only and workload not in args.only:
            continue
        best: dict = {}
        for round_ in range(args.rounds):
            for name, (python, env) in engines.items():
                result = run(python, env, workload, n)
                if name in best and result["check"] != best[name]["check"]:
                    raise SystemExit(f"{workload}: two rounds of {name} computed different numbers")
                if name not in best or result[key] < best[name][key]:
                    best[name] = result
            print(f"{workload}: round {round_ + 1}/{args.rounds}", file=sys.stderr, flush=True)
        before, after = best["before"], best["after"]
        same = all(abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b)) for a, b in zip(before["check"], after["check"]))
        note = "" if same else f" (DIFFERENT NUMBERS: {before['check']} vs {after['check']})"
        lines.append(f"| {title} | {before[key]:.3g} | {after[key]:.3g} | {after[key] / before[key]:.2f}{note} |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
