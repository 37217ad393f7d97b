"""Pictures of training: a model's decision regions over 2-D data, its predictions for images, and
loss and accuracy curves.

matplotlib (Agg backend, no display needed) and NumPy are imported inside the functions. Each PNG is
rendered in memory and then written atomically, so an existing picture is never left half-written.
"""

from __future__ import annotations

import io
import os
from typing import TYPE_CHECKING

from micrograd._validate import positive_int, sized, whole_number
from micrograd._files import write_atomically
from micrograd.data import Dataset, check_dataset
from micrograd.losses import predicted_classes

if TYPE_CHECKING:
    import numpy as np

__all__ = ["plot_decision_boundary", "plot_predicted_images", "plot_training_curves", "model_outputs", "decision_regions"]

# Class colours (matplotlib's tab10, in order); regions use them faded, points at full strength.
CLASS_COLORS = [
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
]


def model_outputs(model, points, *, chunk: int = 8192) -> np.ndarray:
    """The model's outputs for many inputs at once, as a NumPy array of shape (samples, outputs).

    The model's graph is compiled once (``micrograd.compile``) and run for whole chunks of points
    through NumPy: the model's own arithmetic, thousands of times faster than one point at a time.
    No points give an empty (0, outputs) array.
    """
    from micrograd.compile import compiled_outputs

    return compiled_outputs(model)(points, chunk=chunk)


def decision_regions(
    model, data: Dataset, *, test: Dataset | None = None, resolution: int = 250
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The grid ``plot_decision_boundary`` colours: ``(xs, ys, classes)``, where ``classes[i, j]`` is
    the class the model predicts at ``(xs[j], ys[i])`` (``losses.predicted_classes``: a single score
    above 0 is class 1; several scores pick the largest). The grid covers the points of ``data``
    and ``test`` with a margin of a tenth of their spread, ``resolution`` points a side."""
    import numpy as np

    shown = {"data": data} if test is None else {"data": data, "test": test}
    for argument, part in shown.items():
        if check_dataset(part, argument).num_features != 2:
            raise ValueError(
                f"{argument}: a decision boundary needs a dataset with 2 features; "
                f"{part.name!r} has {part.num_features}"
            )
    if test is not None and test.num_classes != data.num_classes:
        raise ValueError(f"test has {test.num_classes} classes but data has {data.num_classes}")
    resolution = whole_number(resolution, "resolution", minimum=2)
    points = np.array([x for part in shown.values() for x in part.X])
    low, high = points.min(axis=0), points.max(axis=0)
    pad = 0.1 * np.maximum(high - low, 1e-9)
    xs = np.linspace(low[0] - pad[0], high[0] + pad[0], resolution)
    ys = np.linspace(low[1] - pad[1], high[1] + pad[1], resolution)
    grid_x, grid_y = np.meshgrid(xs, ys)
    scores = model_outputs(model, np.column_stack([grid_x.ravel(), grid_y.ravel()]))
    if scores.shape[1] not in (1, data.num_classes):
        raise ValueError(
            f"the model has {scores.shape[1]} outputs; {data.name!r} needs one score or one per class "
            f"({data.num_classes})"
        )
    return xs, ys, predicted_classes(scores).reshape(grid_x.shape)


def plot_decision_boundary(
    model,
    data: Dataset,
    path: str | os.PathLike,
    *,
    test: Dataset | None = None,
    title: str | None = None,
    resolution: int = 250,
    width: int = 720,
    height: int = 600,
) -> None:
    """Draw the class the model predicts over the plane of a 2-feature dataset, with the data on top.

    The regions are ``decision_regions``'s grid. ``test`` points, if given, are drawn as crosses.
    ``resolution`` is the grid's points per side; the PNG is ``width`` x ``height`` pixels.
    """
    xs, ys, classes = decision_regions(model, data, test=test, resolution=resolution)
    _save(_decision_figure(xs, ys, classes, data, test, title, width, height), path)


def _decision_figure(xs, ys, classes, data: Dataset, test: Dataset | None, title: str | None, width: int, height: int):
    import numpy as np
    from matplotlib.colors import ListedColormap

    figure = _figure(width, height)
    axes = figure.add_subplot(1, 1, 1)
    colors = CLASS_COLORS[: max(data.num_classes, 2)]
    axes.contourf(xs, ys, classes, levels=np.arange(len(colors) + 1) - 0.5, cmap=ListedColormap(colors), alpha=0.25)
    axes.contour(xs, ys, classes, levels=np.arange(len(colors)) + 0.5, colors="k", linewidths=0.8, alpha=0.6)
    train_xy = np.array(data.X)
    point_colors = [colors[k % len(colors)] for k in data.y]
    axes.scatter(train_xy[:, 0], train_xy[:, 1], c=point_colors, s=22, edgecolors="k", linewidths=0.5)
    if test is not None:
        test_xy = np.array(test.X)
        axes.scatter(
            test_xy[:, 0], test_xy[:, 1], c=[colors[k % len(colors)] for k in test.y], s=26, marker="x", linewidths=1.2
        )
        # grey stand-ins: the legend tells the marker shapes apart, the colours are the classes
        axes.scatter([], [], c="0.5", s=22, edgecolors="k", linewidths=0.5, label="train")
        axes.scatter([], [], c="0.5", s=26, marker="x", linewidths=1.2, label="test")
        axes.legend(loc="best", fontsize=9)
    axes.set_xlim(xs[0], xs[-1])
    axes.set_ylim(ys[0], ys[-1])
    axes.set_xlabel("x[0]")
    axes.set_ylabel("x[1]")
    axes.set_title(title or f"decision regions on {data.name or 'the data'}")
    return figure


def plot_predicted_images(
    model,
    data: Dataset,
    path: str | os.PathLike,
    *,
    side: int,
    count: int = 40,
    columns: int = 10,
    title: str | None = None,
    width: int = 960,
) -> None:
    """The first ``count`` samples of ``data``, drawn as ``side`` x ``side`` grey images (one feature
    per pixel, row by row, 0 white to the largest black), each under the class the model predicts:
    green when right, red with the true class when wrong."""
    import numpy as np

    check_dataset(data, "data")
    side, count, columns = (positive_int(side, "side"), positive_int(count, "count"), positive_int(columns, "columns"))
    if data.num_features != side * side:
        raise ValueError(f"side={side} draws {side * side} pixels, but {data.name!r} has {data.num_features} features")
    count = min(count, len(data))
    images = np.array(data.X[:count])
    predicted = predicted_classes(model_outputs(model, images))
    rows = -(-count // columns)
    figure = _figure(width, max(16, round(width / columns * 1.15 * rows) + (40 if title else 0)))
    wrong = 0
    for i, axes in enumerate(figure.subplots(rows, columns, squeeze=False).ravel()):
        axes.set_axis_off()
        if i >= count:
            continue
        axes.imshow(images[i].reshape(side, side), cmap="gray_r", vmin=0.0, vmax=max(float(images.max()), 1e-12))
        right = int(predicted[i]) == data.y[i]
        wrong += not right
        label = f"{predicted[i]}" if right else f"{predicted[i]} (is {data.y[i]})"
        color, weight = ("#2ca02c", "normal") if right else ("#d62728", "bold")  # a mistake stands out
        axes.set_title(label, fontsize=9, color=color, fontweight=weight)
    if title:
        figure.suptitle(f"{title}: {count - wrong} of {count} right")
    _save(figure, path)


def plot_training_curves(
    history, path: str | os.PathLike, *, title: str | None = None, width: int = 960, height: int = 420
) -> None:
    """Loss (log scale) and accuracy for every training step, side by side, as a PNG.

    ``history`` is a ``micrograd.train.History`` (or anything with ``loss`` and ``accuracy`` lists).
    With mini-batches each step sees a different batch, so a running mean is drawn over the raw curve.
    """
    import numpy as np

    kind = "a list of numbers (as in a micrograd.train.History)"
    loss = [float(v) for v in sized(getattr(history, "loss", None), "history.loss", of="value", kind=kind, at_least=1)]
    accuracy = [float(v) for v in sized(getattr(history, "accuracy", None), "history.accuracy", len(loss),
                                        "values, one per loss", kind=kind)]
    steps = np.arange(len(loss))  # step k counts from 0, as History does
    noisy = getattr(history, "batch_size", None) is not None
    figure = _figure(width, height)
    loss_axes, accuracy_axes = figure.subplots(1, 2)
    for axes, values, name in (
        (loss_axes, np.array(loss), "loss"),
        (accuracy_axes, 100 * np.array(accuracy), "accuracy (%)"),
    ):
        axes.plot(steps, values, color="C0", alpha=0.35 if noisy else 1.0, linewidth=1.0, label="per step")
        if noisy and len(values) >= 10:
            window = max(2, len(values) // 25)
            smooth = np.convolve(values, np.ones(window) / window, mode="valid")
            axes.plot(steps[window - 1 :], smooth, color="C0", linewidth=1.8, label=f"mean of {window} steps")
            axes.legend(loc="best", fontsize=9)
        axes.set_xlabel("step")
        axes.set_ylabel(name)
        axes.grid(True, alpha=0.3)
    if (np.array(loss) > 0).any():
        loss_axes.set_yscale("log")  # steps with a loss of exactly 0 are left out of the line
    accuracy_axes.set_ylim(-2, 102)
    loss_axes.set_title("training loss")
    accuracy_axes.set_title("training accuracy")
    if title:
        figure.suptitle(title)
    _save(figure, path)


def _figure(width: int, height: int):
    for label, size in (("width", width), ("height", height)):
        whole_number(size, f"{label} in pixels", minimum=16, maximum=10000)
    # A bare Figure on an Agg canvas, not pyplot: no display needed, and the backend of a user's
    # notebook or session is left alone.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    dpi = 100
    figure = Figure(figsize=(width / dpi, height / dpi), dpi=dpi, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _save(figure, path: str | os.PathLike) -> None:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=figure.dpi)
    write_atomically(path, buffer.getvalue())
