"""This engine, eager (plain Values) or compiled (``micrograd.compile``), through the library's own API.

    python bench/peers/ours.py readme compiled N REPEATS
    python bench/peers/ours.py moons eager|compiled SETUP.json REPEATS
    python bench/peers/ours.py digits eager|compiled SETUP.json REPEATS
    python bench/peers/ours.py mnist|mnist_deep eager|compiled SETUP.json REPEATS [STEPS]
    python bench/peers/ours.py moons_hvp eager SETUP.json REPEATS

Training runs ``micrograd.train.fit`` from the shared initial weights, REPEATS times (the best time
counts; every run must give the same numbers), for the setup's steps or only the first STEPS. The eager README expression runs through
bench/engine_workloads.py, as micrograd 0.1.0's does.
"""

from __future__ import annotations

import sys
import time

from common import README_POINT, emit, fastest, load_setup, progress, readme_graph, step_seconds, training_data

from micrograd.engine import Value, dot
from micrograd.gradients import grad
from micrograd.losses import hinge, l2_penalty
from micrograd.nn import MLP
from micrograd.optim import OPTIMIZERS, LinearDecay
from micrograd.train import evaluate, fit


def readme_compiled(n: int, repeats: int) -> dict:
    """The README expression x ``n`` as one batch: a and b are the program's parameters, so one call
    runs the ``n`` evaluations and leaves the mean of their gradients in ``a.grad`` and ``b.grad``.
    The time includes tracing and compiling."""
    import numpy as np

    from micrograd.compile import compile

    best = None
    for _ in range(repeats):
        started = time.perf_counter()
        a, b = Value(README_POINT[0]), Value(README_POINT[1])
        # the per-sample input is unused: it only says how many evaluations the batch holds
        program = compile(lambda _, a=a, b=b: readme_graph(a, b), [a, b], example=(0.0,))
        compiled = time.perf_counter()
        g = program(np.zeros(n))
        done = time.perf_counter()
        if best is None or done - started < best["seconds"]:
            best = {"seconds": done - started, "compile_seconds": compiled - started, "check": [g, a.grad, b.grad]}
    return best


def train(setup: dict, mode: str, repeats: int, steps: int | None = None) -> dict:
    """``fit`` as the demo calls it, from the setup's initial weights, for the setup's steps (or the
    first ``steps``); best of ``repeats`` runs. The test accuracy is measured after a whole run only."""
    train_set, test_set = training_data(setup)
    lrs = setup["lrs"][:steps]
    runs = []
    for repeat in range(repeats):
        model = MLP.from_dict(setup["model"])
        optimizer = OPTIMIZERS[setup["optimizer"]](model.parameters(), lr=setup["lr"][0])
        schedule = LinearDecay(optimizer, setup["lr"][0], setup["lr"][1], setup["lr"][2])
        progress(f"{mode} run {repeat + 1}/{repeats}: {len(lrs)} steps")
        started = time.perf_counter()
        history = fit(
            model,
            train_set,
            loss=setup["loss"],
            optimizer=optimizer,
            steps=len(lrs),
            batch_size=setup["batch_size"],
            schedule=schedule,
            l2=setup["l2"],
            seed=setup["seed"],
            progress=False,
            compiled=mode == "compiled",
        )
        seconds = time.perf_counter() - started
        if history.lr != lrs:
            raise SystemExit("fit's learning rates differ from the setup's")
        runs.append({
            "seconds": seconds,  # the whole fit call, compiling included
            "step_seconds": step_seconds(history.elapsed),
            "first_step_seconds": history.elapsed[0],  # a compiled program's one-time graph check among it
            "loss": history.loss[-1],
            "accuracy": history.accuracy[-1],
            "losses": history.loss,
            "accuracies": history.accuracy,
        })  # fmt: skip
    best = fastest(runs, "step_seconds")
    if steps is None:
        best["test_accuracy"] = evaluate(model, test_set, setup["loss"], compiled=mode == "compiled")[1]
    return best


def moons_hvp(setup: dict, repeats: int) -> dict:
    """The moons demo's loss (hinge + l2) on its training set at the initial weights, and its Hessian
    times a vector of ones, by ``grad`` twice; best of ``repeats``."""
    best = None
    for repeat in range(repeats):
        progress(f"run {repeat + 1}/{repeats}")
        model = MLP.from_dict(setup["model"])
        params = model.parameters()
        started = time.perf_counter()
        scores = [model(x) for x in setup["train"]["X"]]
        loss = hinge(scores, [2.0 * t - 1.0 for t in setup["train"]["y"]]) + l2_penalty(params, setup["l2"])
        gradient = grad(loss, params, create_graph=True)
        product = grad(dot(gradient, [1.0] * len(params)), params)
        seconds = time.perf_counter() - started
        if best is None or seconds < best["seconds"]:
            best = {"seconds": seconds, "check": [loss.data, sum(h.data for h in product)]}
    return best


if __name__ == "__main__":
    workload, mode = sys.argv[1:3]
    if workload == "readme" and mode == "compiled":
        emit(readme_compiled(int(sys.argv[3]), int(sys.argv[4])))
    elif workload in ("moons", "digits", "mnist", "mnist_deep") and mode in ("eager", "compiled"):
        steps = int(sys.argv[5]) if len(sys.argv) > 5 else None
        emit(train(load_setup(sys.argv[3], workload), mode, int(sys.argv[4]), steps))
    elif workload == "moons_hvp" and mode == "eager":
        emit(moons_hvp(load_setup(sys.argv[3], "moons"), int(sys.argv[4])))
    else:
        raise SystemExit(f"unknown workload {workload!r} {mode!r}")
