"""What every peer of bench/run.py shares. Standard library only: micrograd 0.1.0's virtual environment
imports this too, and so must not import this project's micrograd (it has the same name).

A peer is a script run in a fresh process as ``python bench/peers/<peer>.py WORKLOAD [ARGS]``; it
prints one JSON object on stdout and its progress on stderr (lines that start with ``progress``).
The initial weights and the data come from the setup file that bench/run.py writes, so that every
peer starts from the same numbers.
"""

import json
import sys


def readme_graph(a, b):
    """The README's expression of ``a`` and ``b`` (the lesson's first example), without the backward pass.

    Written with operators and ``.relu()`` only, so it builds a graph of micrograd 0.1.0 Values, of this
    engine's Values, a trace for ``micrograd.compile``, or PyTorch tensors (a whole batch at once).
    At a = -4, b = 2: g = 24.7041, dg/da = 138.8338, dg/db = 645.5773.
    """
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    return g


README_POINT = (-4.0, 2.0)  # the lesson's a and b


def load_setup(path: str, workload: str) -> dict:
    """The part of bench/run.py's setup file for ``workload``: initial weights, data, hyperparameters."""
    with open(path, encoding="utf-8") as file:
        return json.load(file)[workload]


def training_data(setup: dict):
    """``(train, test)`` Datasets of a training setup: its own numbers, or for MNIST (``"dataset"`` in
    the setup) ``micrograd.data.load``'s seeded split. Only this project's peers call it."""
    from micrograd.data import Dataset, load

    if "dataset" in setup:
        splits = load(setup["dataset"], seed=setup["seed"])
        return splits.train, splits.test
    classes = setup["num_classes"]
    return (Dataset(setup[part]["X"], setup[part]["y"], classes, name=part) for part in ("train", "test"))


def emit(result: dict) -> None:
    """Hand the result to bench/run.py: one JSON line on stdout."""
    print(json.dumps(result), flush=True)


def progress(text: str) -> None:
    """One line of progress for bench/run.py to show while it waits."""
    print("progress " + text, file=sys.stderr, flush=True)


def fastest(runs: list, key: str) -> dict:
    """The fastest of several training runs from the same start (on a shared, noisy machine it is the
    least disturbed); they must all have ended with the same loss and accuracy."""
    for number, run in enumerate(runs[1:], 2):
        if (run["loss"], run["accuracy"]) != (runs[0]["loss"], runs[0]["accuracy"]):
            raise SystemExit(f"run {number} ended with a different loss or accuracy than run 1")
    return dict(min(runs, key=lambda run: run[key]))


def step_seconds(ended: list[float]) -> float:
    """A step's time, from the times at which a run's steps ended (counted from its start): the mean of
    the steps after the first (the first alone if there is only one). The first is each peer's warm-up
    (a compiled program's one-time graph check, PyTorch's first allocations): it counts in the epochs."""
    return (ended[-1] - ended[0]) / (len(ended) - 1) if len(ended) > 1 else ended[0]


def binary_accuracy(scores, targets) -> float:
    """Fraction of scores whose sign matches a target of +1/-1 (or a class of 1/0): the demo's accuracy."""
    return sum((s > 0) == (t > 0) for s, t in zip(scores, targets)) / len(scores)
