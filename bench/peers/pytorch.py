"""PyTorch with batched float64 tensors: the same workloads, written as a PyTorch user would.

    python bench/peers/pytorch.py readme N REPEATS
    python bench/peers/pytorch.py moons SETUP.json REPEATS
    python bench/peers/pytorch.py digits SETUP.json REPEATS
    python bench/peers/pytorch.py mnist|mnist_deep SETUP.json REPEATS
    python bench/peers/pytorch.py moons_hvp SETUP.json REPEATS

The network is ``micrograd.export.to_torch`` of the shared initial weights; the data, the mini-batches
(``Dataset.batch_indices`` with the same seed) and the learning rates are the ones this engine trains
on. The training set becomes one tensor before the loop, and each batch is drawn from it by index.
Each step does what ``micrograd.train.fit`` does: forward, loss, zero the grads, backward, update, and
record the loss and the accuracy. PyTorch keeps its default threads.
"""

from __future__ import annotations

import random
import sys
import time

import torch
import torch.nn.functional as F
from common import README_POINT, emit, fastest, load_setup, progress, readme_graph, step_seconds, training_data

from micrograd.export import to_torch
from micrograd.nn import MLP


def readme(n: int, repeats: int) -> dict:
    """The README expression on tensors of ``n`` (a, b) pairs; ``g.sum().backward()`` gives every
    evaluation its own gradient."""
    best = None
    for _ in range(repeats):
        started = time.perf_counter()
        a = torch.full((n,), README_POINT[0], dtype=torch.float64, requires_grad=True)
        b = torch.full((n,), README_POINT[1], dtype=torch.float64, requires_grad=True)
        g = readme_graph(a, b)
        g.sum().backward()
        seconds = time.perf_counter() - started
        if best is None or seconds < best["seconds"]:
            best = {"seconds": seconds, "check": [g[0].item(), a.grad[0].item(), b.grad[0].item()]}
    return best


def hinge_objective(scores, targets, params, l2):
    """The moons demo's objective: mean of relu(1 - y * score) plus ``l2`` times the sum of squares."""
    objective = torch.relu(1 - targets * scores).mean()
    if l2:
        objective = objective + l2 * sum((p * p).sum() for p in params)
    return objective


def accuracy(scores, labels) -> float:
    """``micrograd.losses.accuracy``: class 1 where a single score is above 0, else the argmax."""
    predicted = (scores > 0).long() if scores.dim() == 1 else scores.argmax(dim=1)
    return (predicted == labels).double().mean().item()


def tensors(X: list, y: list):
    return torch.tensor(X, dtype=torch.float64), torch.tensor(y)


def train(setup: dict, repeats: int) -> dict:
    """The setup's training run, ``repeats`` times from the same initial weights; best time counts."""
    lrs, l2, batch_size = setup["lrs"], setup["l2"], setup["batch_size"]
    train_set, test_set = training_data(setup)
    test_X, test_y = tensors(test_set.X, test_set.y)
    runs = []
    for repeat in range(repeats):
        net = to_torch(MLP.from_dict(setup["model"]))
        params = list(net.parameters())
        optimizer = (
            torch.optim.SGD(params, lr=lrs[0]) if setup["optimizer"] == "sgd" else torch.optim.Adam(params, lr=lrs[0])
        )
        progress(f"run {repeat + 1}/{repeats}: {len(lrs)} steps")
        # From here on, as fit's time counts: the data as tensors, the mini-batches and the whole loop.
        started = time.perf_counter()
        all_X, all_y = tensors(train_set.X, train_set.y)
        if batch_size is None:
            batches = [None] * len(lrs)
        else:  # fit's order: Dataset.batch_indices with random.Random(seed), epoch after epoch
            rng = random.Random(setup["seed"])
            batches = []
            while len(batches) < len(lrs):
                batches.extend(torch.tensor(indices) for indices in train_set.batch_indices(batch_size, rng))
        losses, accuracies, ended = [], [], []
        loop_started = time.perf_counter()
        for k, lr in enumerate(lrs):
            X, y = (all_X, all_y) if batches[k] is None else (all_X[batches[k]], all_y[batches[k]])
            for group in optimizer.param_groups:
                group["lr"] = lr
            scores = net(X)
            if setup["loss"] == "hinge":
                scores = scores.squeeze(1)
                objective = hinge_objective(scores, 2.0 * y - 1.0, params, l2)
            else:
                objective = F.cross_entropy(scores, y)
            optimizer.zero_grad()
            objective.backward()
            optimizer.step()
            losses.append(objective.item())
            accuracies.append(accuracy(scores.detach(), y))
            ended.append(time.perf_counter() - loop_started)
        done = time.perf_counter()
        runs.append({"step_seconds": step_seconds(ended), "seconds": done - started, "loss": losses[-1],
                     "accuracy": accuracies[-1], "losses": losses, "accuracies": accuracies})  # fmt: skip
    best = fastest(runs, "step_seconds")
    with torch.no_grad():
        scores = net(test_X)
    best["test_accuracy"] = accuracy(scores.squeeze(1) if scores.shape[1] == 1 else scores, test_y)
    return best


def moons_hvp(setup: dict, repeats: int) -> dict:
    """The moons demo's loss at the initial weights and its Hessian times a vector of ones, by
    ``torch.autograd.grad`` twice (the first with ``create_graph=True``); best of ``repeats``."""
    X, y = tensors(setup["train"]["X"], setup["train"]["y"])
    best = None
    for repeat in range(repeats):
        progress(f"run {repeat + 1}/{repeats}")
        net = to_torch(MLP.from_dict(setup["model"]))
        params = list(net.parameters())
        started = time.perf_counter()
        objective = hinge_objective(net(X).squeeze(1), 2.0 * y - 1.0, params, setup["l2"])
        gradient = torch.autograd.grad(objective, params, create_graph=True)
        product = torch.autograd.grad(sum(g.sum() for g in gradient), params)
        seconds = time.perf_counter() - started
        if best is None or seconds < best["seconds"]:
            best = {"seconds": seconds, "check": [objective.item(), sum(h.sum().item() for h in product)]}
    return best


if __name__ == "__main__":
    workload = sys.argv[1]
    if workload == "readme":
        emit(readme(int(sys.argv[2]), int(sys.argv[3])))
    elif workload in ("moons", "digits", "mnist", "mnist_deep"):
        emit(train(load_setup(sys.argv[2], workload), int(sys.argv[3])))
    elif workload == "moons_hvp":
        emit(moons_hvp(load_setup(sys.argv[2], "moons"), int(sys.argv[3])))
    else:
        raise SystemExit(f"unknown workload {workload!r}")
