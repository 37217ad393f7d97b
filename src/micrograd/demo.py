"""``micrograd demo``: train a small net on a toy dataset, report it, and save pictures and the model.

The default, ``moons``, is the original micrograd demo exactly: its 100 points, its initialisation,
``MLP(2, [16, 16, 1])``, hinge loss plus 1e-4 L2, SGD with the learning rate falling linearly from
1.0 to 0.1 over 100 steps. It reproduces the original notebook's printed losses (step 99: loss
0.010978370135492717, 100% accuracy) and adds a held-out test set.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Sequence

from micrograd import data as datasets
from micrograd._validate import layer_widths, one_of
from micrograd._extras import require
from micrograd._files import output_folder
from micrograd.nn import MLP
from micrograd.optim import OPTIMIZERS, LinearDecay
from micrograd.train import History, evaluate, fit, output_count

__all__ = ["run_demo", "DemoResult", "DEFAULTS"]


@dataclass(frozen=True)
class DatasetDefaults:
    loss: str
    l2: float
    steps: int
    hidden: tuple[int, ...]
    optimizer: str
    lr: dict  # optimizer name -> starting learning rate; it decays linearly to a tenth of it
    batch_size: int | None
    init: str  # micrograd.nn's init: 'uniform' is the original demo's, 'fan_in' suits Adam and wide inputs
    image_side: int | None = None  # images of side x side pixels: the demo draws test images and predictions


DEFAULTS = {
    # The original demo, exactly.
    "moons": DatasetDefaults(
        loss="hinge",
        l2=1e-4,
        steps=100,
        hidden=(16, 16),
        optimizer="sgd",
        lr={"sgd": 1.0, "adam": 0.05, "adamw": 0.05},
        batch_size=None,
        init="uniform",
    ),
    # Mini-batches of 32: the eager engine takes ~8 s for 1000 of them; ~99% train, ~95% test accuracy.
    "yinyang": DatasetDefaults(
        loss="cross_entropy",
        l2=0.0,
        steps=1000,
        hidden=(16, 16),
        optimizer="adam",
        lr={"sgd": 1.0, "adam": 0.03, "adamw": 0.03},
        batch_size=32,
        init="fan_in",
    ),
    # 64 inputs make each sample several times the work of a 2-D one: ~30 s eager, ~97% test accuracy.
    "digits": DatasetDefaults(
        loss="cross_entropy",
        l2=0.0,
        steps=1000,
        hidden=(32,),
        optimizer="adam",
        lr={"sgd": 1.0, "adam": 0.01, "adamw": 0.01},
        batch_size=32,
        init="fan_in",
        image_side=8,
    ),
    # 784 inputs: compiled, 300 steps take a few seconds and reach ~92% test accuracy; eager, many minutes.
    "mnist": DatasetDefaults(
        loss="cross_entropy",
        l2=0.0,
        steps=300,
        hidden=(32,),
        optimizer="adam",
        lr={"sgd": 0.5, "adam": 0.005, "adamw": 0.005},
        batch_size=64,
        init="fan_in",
        image_side=28,
    ),
}

# Eager training expected to take longer than this is announced, with its estimate, before it starts.
ANNOUNCE_SECONDS = 60


@dataclass
class DemoResult:
    """What ``run_demo`` trained and measured, and the files it wrote."""

    model: MLP
    splits: datasets.Splits
    history: History
    train_accuracy: float
    val_accuracy: float | None
    test_accuracy: float
    files: list[str]


def run_demo(
    *,
    dataset: str = "moons",
    steps: int | None = None,
    hidden: Sequence[int] | None = None,
    activation: str = "relu",
    optimizer: str | None = None,
    lr: float | None = None,
    batch_size: int | None = None,
    seed: int = 1337,
    out: str | os.PathLike = "out",
    compiled: bool = False,
    progress: bool | str = True,
) -> DemoResult:
    """Train on ``dataset`` ('moons', 'yinyang', 'digits', 'mnist'), print a summary, and write into
    ``out``: ``decision_boundary.png`` (2-D datasets) or ``test_predictions.png`` (images),
    ``training_curves.png`` and ``model.json``. Eager training that will take more than a minute says
    so, with its estimate, before it starts.

    Options left as None take the dataset's ``DEFAULTS``. ``seed`` seeds the data, the weights and
    the order of mini-batches. The learning rate falls linearly from ``lr`` to ``lr / 10``. Needs
    the ``demo`` extra (``pip install 'micrograd-plus[demo]'``), checked before anything is done.
    """
    defaults = DEFAULTS[one_of(dataset, DEFAULTS, "dataset")]
    optimizer = defaults.optimizer if optimizer is None else optimizer
    one_of(optimizer, OPTIMIZERS, "optimizer")
    steps = defaults.steps if steps is None else steps
    hidden = layer_widths(defaults.hidden if hidden is None else hidden, "hidden")
    lr = defaults.lr[optimizer] if lr is None else lr
    batch_size = defaults.batch_size if batch_size is None else batch_size
    require("micrograd demo", "demo")
    from micrograd.plot import plot_decision_boundary, plot_predicted_images, plot_training_curves

    splits = datasets.load(dataset, seed=seed)
    out = output_folder(out, "the demo's pictures and model")
    train = splits.train
    outputs = output_count(defaults.loss, train.num_classes)
    model = MLP(train.num_features, hidden + [outputs], activation=activation, seed=seed, init=defaults.init)
    opt = OPTIMIZERS[optimizer](model.parameters(), lr=lr)
    schedule = LinearDecay(opt, lr, lr / 10, steps)

    full_batch = batch_size is None or batch_size >= len(train)  # fit's rule
    batches = "full batch" if full_batch else f"batches of {batch_size}"
    l2_text = f" + {defaults.l2:g} * L2" if defaults.l2 else ""
    parts = f"{len(train)} train" + (f" / {len(splits.val)} val" if splits.val else "") + f" / {len(splits.test)} test"
    print(f"micrograd demo: {dataset} ({parts} samples, seed {seed})")
    print(f"model: {model!r}, {model.num_parameters()} parameters")
    schedule_text = f"{type(opt).__name__} lr {lr:g} -> {lr / 10:g}"
    print(f"training: {defaults.loss} loss{l2_text}, {schedule_text}, {steps} steps, {batches}", flush=True)
    if not compiled:
        samples = len(train) if full_batch else batch_size
        step_seconds, sample_seconds = _eager_timings(model, train, defaults, batch_size, optimizer, lr)
        evaluated = len(train) + len(splits.test) + (len(splits.val) if splits.val else 0)  # after training
        seconds = step_seconds * steps + sample_seconds * evaluated
        if seconds > ANNOUNCE_SECONDS:
            print(
                f"eager mode: about {_duration(seconds)} ({samples} samples a step, each a graph of Values); "
                "--compiled runs whole batches through NumPy, many times faster",
                flush=True,
            )

    history = fit(
        model,
        train,
        loss=defaults.loss,
        optimizer=opt,
        steps=steps,
        batch_size=batch_size,
        schedule=schedule,
        l2=defaults.l2,
        seed=seed,
        progress=progress,
        compiled=compiled,
    )
    _, train_accuracy = evaluate(model, train, defaults.loss, compiled=compiled)
    val_accuracy = evaluate(model, splits.val, defaults.loss, compiled=compiled)[1] if splits.val else None
    _, test_accuracy = evaluate(model, splits.test, defaults.loss, compiled=compiled)

    files = []
    if train.num_features == 2:
        path = os.path.join(out, "decision_boundary.png")
        plot_decision_boundary(
            model,
            train,
            path,
            test=splits.test,
            title=f"{dataset}: MLP({model.nin}, {model.nouts}), {activation} hidden layers",
        )
        files.append(path)
    if defaults.image_side is not None:
        path = os.path.join(out, "test_predictions.png")
        plot_predicted_images(
            model, splits.test, path, side=defaults.image_side, title=f"{dataset}: test images, predicted classes"
        )
        files.append(path)
    path = os.path.join(out, "training_curves.png")
    plot_training_curves(history, path, title=f"{dataset}: {type(opt).__name__}, {batches}")
    files.append(path)
    path = os.path.join(out, "model.json")
    model.save(path)
    files.append(path)

    first_perfect = next((k for k, a in enumerate(history.accuracy) if a == 1.0), None)
    reached = f" (100% first at step {first_perfect})" if full_batch and first_perfect is not None else ""
    val_text = f" | val accuracy {val_accuracy:.1%}" if val_accuracy is not None else ""
    print(
        f"final loss {history.loss[-1]:.4f} | train accuracy {train_accuracy:.1%}{reached}{val_text} "
        f"| test accuracy {test_accuracy:.1%} | {history.seconds:.1f} s"
    )
    print("wrote " + ", ".join(files))
    return DemoResult(model, splits, history, train_accuracy, val_accuracy, test_accuracy, files)


def _eager_timings(model, train, defaults: DatasetDefaults, batch_size, optimizer: str, lr: float):
    """``(seconds of one eager training step, seconds to evaluate one sample)``, timed on a copy of
    ``model`` (the model itself is left as it is)."""
    twin = MLP.from_dict(model.to_dict())
    history = fit(twin, train, loss=defaults.loss, optimizer=OPTIMIZERS[optimizer](twin.parameters(), lr=lr),
                  steps=1, batch_size=batch_size, l2=defaults.l2, progress=False)  # fmt: skip
    sample = train.subset(list(range(min(64, len(train)))))
    started = time.perf_counter()
    evaluate(twin, sample, defaults.loss)
    return history.seconds, (time.perf_counter() - started) / len(sample)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} minutes"
    return f"{seconds / 3600:.1f} hours"
