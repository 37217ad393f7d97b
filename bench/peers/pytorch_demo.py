"""``micrograd demo`` (the moons defaults) written with PyTorch: bench/run.py times this whole process.

    python bench/peers/pytorch_demo.py --out FOLDER

It does the work ``python -m micrograd demo --no-progress`` does, in the same order: the same data
(``micrograd.data.load('moons')``), the same initial weights (``MLP(2, [16, 16, 1], seed=1337)`` moved
with ``to_torch``), 100 steps of SGD with the learning rate falling from 1.0 to 0.1, hinge loss plus
1e-4 L2, a loss and an accuracy recorded every step, train and test accuracy, the same summary lines,
the same two pictures (drawn by ``micrograd.plot`` from the trained weights) and ``model.json``.
Only the training runs in PyTorch (float64 tensors, whole batch).
"""

from __future__ import annotations

import argparse
import os
import time

import torch
from pytorch import accuracy, hinge_objective  # bench/peers/pytorch.py: the suite's PyTorch peer

from micrograd import data
from micrograd.demo import DEFAULTS
from micrograd.export import from_torch, to_torch
from micrograd.nn import MLP
from micrograd.train import History


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    settings, seed = DEFAULTS["moons"], 1337
    lr, steps = settings.lr["sgd"], settings.steps

    splits = data.load("moons", seed=seed)
    os.makedirs(args.out, exist_ok=True)
    train, test = splits.train, splits.test
    model = MLP(2, list(settings.hidden) + [1], seed=seed, init=settings.init)
    net = to_torch(model)
    params = list(net.parameters())
    optimizer = torch.optim.SGD(params, lr=lr)
    print(f"pytorch demo: moons ({len(train)} train / {len(test)} test samples, seed {seed})")
    print(f"model: Sequential({', '.join(map(str, net))}), {sum(p.numel() for p in params)} parameters")
    print(f"training: hinge loss + {settings.l2:g} * L2, SGD lr {lr:g} -> {lr / 10:g}, {steps} steps, full batch")

    X = torch.tensor(train.X, dtype=torch.float64)
    labels = torch.tensor(train.y)
    targets = 2.0 * labels.double() - 1.0
    history = History(batch_size=None)
    started = time.perf_counter()
    for k in range(steps):
        step_lr = lr + (lr / 10 - lr) * k / steps  # LinearDecay(optimizer, lr, lr / 10, steps)._lr(k)
        for group in optimizer.param_groups:
            group["lr"] = step_lr
        scores = net(X).squeeze(1)
        objective = hinge_objective(scores, targets, params, settings.l2)
        optimizer.zero_grad()
        objective.backward()
        optimizer.step()
        history.lr.append(step_lr)
        history.loss.append(objective.item())
        history.accuracy.append(accuracy(scores.detach(), labels))
        history.seconds = time.perf_counter() - started

    with torch.no_grad():
        train_accuracy = accuracy(net(X).squeeze(1), labels)
        test_accuracy = accuracy(net(torch.tensor(test.X, dtype=torch.float64)).squeeze(1), torch.tensor(test.y))

    from micrograd.plot import plot_decision_boundary, plot_training_curves

    trained = from_torch(net)
    files = [os.path.join(args.out, name) for name in ("decision_boundary.png", "training_curves.png", "model.json")]
    title = f"moons: MLP({trained.nin}, {trained.nouts}), relu hidden layers"
    plot_decision_boundary(trained, train, files[0], test=test, title=title)
    plot_training_curves(history, files[1], title="moons: SGD, full batch")
    trained.save(files[2])

    first_perfect = next((k for k, a in enumerate(history.accuracy) if a == 1.0), None)
    reached = f" (100% first at step {first_perfect})" if first_perfect is not None else ""
    print(
        f"final loss {history.loss[-1]:.4f} | train accuracy {train_accuracy:.1%}{reached} "
        f"| test accuracy {test_accuracy:.1%} | {history.seconds:.1f} s"
    )
    print("wrote " + ", ".join(files))


if __name__ == "__main__":
    main()
