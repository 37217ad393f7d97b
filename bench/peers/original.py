"""micrograd 0.1.0 (from PyPI, in its own virtual environment): the moons demo as its notebook wrote it.

    bench/.venv-micrograd-0.1.0/bin/python bench/peers/original.py moons SETUP.json

The model is 0.1.0's own ``MLP`` with its weights replaced by the shared initial ones; the loop is the
original notebook's (hinge loss, 1e-4 L2, SGD), with the learning rates listed in the setup file. The
README expression, the random graph and the chain run through bench/engine_workloads.py instead.
"""

import sys
import time

from common import binary_accuracy, emit, load_setup, progress, step_seconds

from micrograd.engine import Value
from micrograd.nn import MLP


def load_model(saved: dict) -> MLP:
    """0.1.0's MLP with the weights of this project's ``MLP.to_dict()``."""
    if saved["activation"] != "relu" or saved["output_activation"] is not None:
        raise SystemExit("micrograd 0.1.0's MLP has ReLU hidden layers and a linear output only")
    model = MLP(saved["nin"], saved["nouts"])
    for layer, weights in zip(model.layers, saved["weights"]):
        for neuron, row, bias in zip(layer.neurons, weights["w"], weights["b"]):
            for w, x in zip(neuron.w, row):
                w.data = x
            neuron.b.data = bias
    return model


def scores_of(model: MLP, X: list) -> list:
    return [model(list(map(Value, row))) for row in X]


def moons(setup: dict) -> dict:
    model = load_model(setup["model"])
    X, targets = setup["train"]["X"], [2 * y - 1 for y in setup["train"]["y"]]
    losses, accuracies, ended = [], [], []
    started = time.perf_counter()
    for k, learning_rate in enumerate(setup["lrs"]):
        # the original notebook's loss(): max-margin loss, its mean, plus alpha * the sum of squares
        scores = scores_of(model, X)
        data_loss = sum((1 + -yi * si).relu() for yi, si in zip(targets, scores)) * (1.0 / len(scores))
        total_loss = data_loss + setup["l2"] * sum(p * p for p in model.parameters())
        model.zero_grad()
        total_loss.backward()
        for p in model.parameters():
            p.data -= learning_rate * p.grad
        losses.append(total_loss.data)
        accuracies.append(binary_accuracy([s.data for s in scores], targets))
        progress(f"step {k + 1}/{len(setup['lrs'])}  loss {total_loss.data:.4f}")
        ended.append(time.perf_counter() - started)
    test_scores = [s.data for s in scores_of(model, setup["test"]["X"])]
    return {
        "step_seconds": step_seconds(ended),
        "loss": losses[-1],
        "accuracy": accuracies[-1],
        "test_accuracy": binary_accuracy(test_scores, [2 * y - 1 for y in setup["test"]["y"]]),
    }


if __name__ == "__main__":
    workload, setup_path = sys.argv[1:3]
    if workload != "moons":
        raise SystemExit(f"micrograd 0.1.0's peer runs the moons demo only, not {workload!r}")
    emit(moons(load_setup(setup_path, "moons")))
