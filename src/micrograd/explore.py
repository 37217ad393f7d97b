"""An interactive page of a small network training on 2-D data: ``micrograd explore --out DIR``.

``write_page`` trains an MLP with ``micrograd.train.fit`` and records, after every optimisation
step, what the page shows: the training loss and accuracy, the model's scores over a grid (the
decision regions), and for every training point the data and grad of every node of that point's
loss graph. The graph's shape is the same for every point and step, so Graphviz lays it out once
(the SVG of ``micrograd.viz.draw_dot``) and the page only swaps the numbers in. The page does no
arithmetic of its own on the model: every number it shows was computed by this library's engine
and is stored as the text ``micrograd.viz.format_number`` gives, so it reads as Python prints it.

The result is one HTML file with its script, style and data inside: it opens from ``file://``
without a server or network. Needs NumPy, scikit-learn (moons), the ``graphviz`` package
(``pip install 'micrograd-plus[demo,viz]'``) and Graphviz's ``dot`` program, all checked before
training starts.
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
import sys
import zlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Sequence

from micrograd._validate import layer_widths, one_of, positive_int, whole_number
from micrograd._extras import require, require_dot
from micrograd._files import output_folder, write_atomically
from micrograd.engine import Value
from micrograd.losses import predicted_classes
from micrograd.viz import GraphNode, graph_nodes

__all__ = ["write_page", "DATASETS", "PAGE_NAME"]

PAGE_NAME = "explore.html"
PRECISION = 4  # decimals on the page, as micrograd.viz's default
GRID = 64  # decision-region cells per side
# Each number of a node is kept as the text format_number gives; compressed, a page of the
# default settings takes about 2 bytes per number (moons 2 MB, yin-yang 6 MB). This many numbers,
# counted before duplicates are dropped, keep a page within about 25 MB.
MAX_RECORDED_NUMBERS = 10_000_000
# Graphviz lays out a few hundred nodes in seconds, thousands in minutes ([16, 16] gives ~450).
MAX_GRAPH_NODES = 600
# The longest text format_number(x, 4) gives for a finite float: "-1000000.0000" (from
# -999999.99996, below 1e6 but rounded up), one more than "-1.2345e-308".
_MAX_TEXT = 13
# Layout width reserved for each number: Graphviz sizes a record's fields by their text once, so a
# number whose text is format_number's widest holds the place of every later one.
_PLACEHOLDER = -999999.99996


@dataclass(frozen=True)
class _Recipe:
    """How the page trains on one dataset."""

    loader_options: dict
    loss: str
    optimizer: str  # a name in micrograd.optim.OPTIMIZERS
    lr_start: float
    lr_end: float
    l2: float
    about: str


# moons: the original micrograd demo (hinge loss, L2 1e-4, SGD from 1.0 decaying to 0.1).
# yin-yang: 100 training points keep the page small; in 100 full-batch steps Adam learns its
# three classes (98% of the training points with [8, 8], 94% of its test points), where SGD is
# still near 78%. (micrograd.demo's yin-yang settings are for 1000 steps on mini-batches.)
DATASETS = {
    "moons": _Recipe({}, "hinge", "sgd", 1.0, 0.1, 1e-4, "hinge loss + 1e-4 L2, SGD with lr 1.0 decaying to 0.1"),
    "yinyang": _Recipe(
        {"n_samples": 166}, "cross_entropy", "adam", 0.1, 0.01, 0.0, "cross-entropy, Adam with lr 0.1 decaying to 0.01"
    ),
}


def write_page(
    out: str | os.PathLike,
    *,
    dataset: str = "moons",
    steps: int = 100,
    hidden: Sequence[int] = (8, 8),
    seed: int = 1337,
    expand_dot: bool = False,
    progress: bool | str = True,
) -> Path:
    """Train an MLP with ``hidden`` layer widths on ``dataset`` for ``steps`` steps and write the page.

    ``dataset`` is 'moons' or 'yinyang'; ``seed`` picks both the data and the initial weights. The
    page is ``out/explore.html`` (the folder is made if needed; the file is written whole or not
    at all). ``expand_dot`` draws each neuron's weighted sum as its products and their sum, as the
    lesson does (``micrograd.viz.graph_nodes``). ``progress`` shows a progress bar while training.
    Returns the page's path.
    """
    recipe, steps, hidden, seed = _check_arguments(dataset, steps, hidden, seed)
    require("the explore page", "demo", "viz")  # before any work, as is Graphviz's program
    require_dot("the explore page")
    folder = Path(output_folder(out, "the page"))
    from micrograd.data import load
    from micrograd.losses import l2_penalty
    from micrograd.nn import MLP
    from micrograd.optim import OPTIMIZERS, LinearDecay
    from micrograd.train import evaluate, fit, output_count

    train = load(dataset, seed=seed, **recipe.loader_options).train
    outputs = output_count(recipe.loss, train.num_classes)
    model = MLP(2, [*hidden, outputs], seed=seed)
    recorder = _Recorder(model, train, recipe.loss, steps, expand_dot=expand_dot)
    optimizer = OPTIMIZERS[recipe.optimizer](model.parameters(), lr=recipe.lr_start)
    schedule = LinearDecay(optimizer, recipe.lr_start, recipe.lr_end, steps)

    recorder.record()
    history = fit(
        model,
        train,
        loss=recipe.loss,
        optimizer=optimizer,
        steps=steps,
        schedule=schedule,
        l2=recipe.l2,
        progress=progress,
        callback=lambda step, history: recorder.record(),
    )
    # fit reports the objective at the weights each step started from; the page also shows the
    # weights after the last step, so their objective is evaluated the way fit forms it.
    final_loss, final_accuracy = evaluate(model, train, recipe.loss)
    if recipe.l2:
        final_loss = final_loss + l2_penalty(model.parameters(), recipe.l2).data
    losses = [*history.loss, final_loss]
    accuracies = [*history.accuracy, final_accuracy]

    if progress:
        print(f"laying out the loss graph and packing {recorder.numbers:,} numbers into the page",
              file=sys.stderr, flush=True)
    title = f"micrograd: an MLP 2-{'-'.join(map(str, hidden))}-{outputs} learning {dataset}"
    page = _page(
        title=title,
        about=f"{len(train)} training points, {model.num_parameters()} parameters, {recipe.about}, seed {seed}",
        recorder=recorder,
        losses=losses,
        accuracies=accuracies,
        learning_rates=history.lr,
        loss_name=recipe.loss,
        l2=recipe.l2,
    )
    path = folder / PAGE_NAME
    write_atomically(path, page)
    return path


def _point_loss_graph(model, x: Sequence[float], target, loss: str) -> Value:
    """The loss of one training point as the page draws it, labelled, before backward.

    ``loss`` is a name of ``micrograd.losses.SAMPLE_LOSSES`` and ``target`` the point's label as
    that loss takes it (``micrograd.train.label_targets`` with ``rows=True``): the point's own term
    of the batch loss, without the batch's mean or the L2 penalty. Inputs are labelled ``x0``,
    ``x1``, each neuron's output ``L{i}.N{j}`` (its parameters are ``L{i}.N{j}.w0``...), the
    model's outputs ``score`` (``score0``... for several) and the root ``loss``.
    """
    from micrograd.losses import SAMPLE_LOSSES

    h = [Value(float(v), label=f"x{k}") for k, v in enumerate(x)]
    for i, layer in enumerate(model.layers):
        h = layer.forward(h)
        for j, v in enumerate(h):
            v.label = f"L{i}.N{j}"
    if len(h) == 1:
        h[0].label = "score"
    else:
        for j, v in enumerate(h):
            v.label = f"score{j}"
    root = SAMPLE_LOSSES[loss](h[0] if len(h) == 1 else h, target)
    root.label = "loss"
    return root


class _Recorder:
    """Keeps, state after state, everything the page shows that depends on the weights."""

    def __init__(self, model, train, loss: str, steps: int, *, expand_dot: bool = False):
        import numpy as np

        from micrograd.compile import compiled_outputs
        from micrograd.train import label_targets

        self.model, self.train, self.loss, self.expand_dot = model, train, loss, expand_dot
        self.targets = label_targets(loss, train.num_classes, rows=True)(train.y)
        first = self.point_graph(0)
        self.model.zero_grad()
        self.ops = [node.op for node in first]
        self.labels = [node.label for node in first]
        self.states, self.points, self.nodes = steps + 1, len(train), len(first)
        if self.nodes > MAX_GRAPH_NODES:
            raise ValueError(
                f"one point's loss graph has {self.nodes} nodes, more than the {MAX_GRAPH_NODES} the page "
                f"lays out in reasonable time: use narrower hidden layers"
            )
        self.numbers = 2 * self.states * self.points * self.nodes  # data and grad of every node, point, state
        if self.numbers > MAX_RECORDED_NUMBERS:
            raise ValueError(
                f"the page would hold {self.numbers:,} numbers ({self.states} states x {self.points} points x "
                f"{self.nodes} graph nodes x data and grad), more than the {MAX_RECORDED_NUMBERS:,} that load "
                f"quickly: use fewer steps or narrower hidden layers"
            )
        self.data = np.empty((self.states, self.points, self.nodes))
        self.grad = np.empty((self.states, self.points, self.nodes))
        self.regions = np.empty((self.states, GRID * GRID), dtype=np.uint8)
        self.confidence = np.empty((self.states, GRID * GRID), dtype=np.uint8)
        self.bounds = _square_bounds(train.X)
        low_x, high_x, low_y, high_y = self.bounds
        cell = (high_x - low_x) / GRID
        centres = (np.arange(GRID) + 0.5) * cell
        grid_x, grid_y = np.meshgrid(low_x + centres, high_y - centres)  # row 0 is the top of the picture
        self.grid = np.column_stack([grid_x.ravel(), grid_y.ravel()])
        # compiled once; it reads the weights afresh on every call
        self.grid_scores = compiled_outputs(model, train.num_features)
        self.recorded = 0

    def point_graph(self, i: int) -> list[GraphNode]:
        """Point ``i``'s loss graph at the current weights, after backward (which adds to the
        weights' grads): its nodes, root first, so that node k is the picture's ``nk``."""
        root = _point_loss_graph(self.model, self.train.X[i], self.targets[i], self.loss)
        root.backward()
        # No limit here: the page's own, MAX_GRAPH_NODES, is checked once with its own advice.
        return graph_nodes(root, expand_dot=self.expand_dot, max_nodes=sys.maxsize)[::-1]

    def record(self) -> None:
        """Record the current weights' state: every point's graph numbers and the decision regions."""
        import numpy as np

        s = self.recorded
        for i in range(self.points):
            self.model.zero_grad()
            nodes = self.point_graph(i)  # point 0's shape: a sample loss's graph is the same for every target
            self.data[s, i] = [node.data for node in nodes]
            self.grad[s, i] = [node.grad for node in nodes]
        self.model.zero_grad()  # leave no trace of the per-point passes
        scores = self.grid_scores(self.grid)
        self.regions[s] = predicted_classes(scores)
        if scores.shape[1] == 1:
            margin = np.abs(scores[:, 0])  # the margin's scale is 1 (hinge)
        else:
            top_two = np.sort(scores, axis=1)[:, -2:]
            margin = top_two[:, 1] - top_two[:, 0]
        self.confidence[s] = np.round(255 * np.clip(margin, 0.0, 1.0))
        self.recorded += 1


def _square_bounds(X: list[list[float]]) -> tuple[float, float, float, float]:
    """(low x, high x, low y, high y): a square around the points with a 10% margin."""
    xs, ys = [row[0] for row in X], [row[1] for row in X]
    centre_x, centre_y = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
    half = 0.6 * max(max(xs) - min(xs), max(ys) - min(ys), 1e-9)
    return centre_x - half, centre_x + half, centre_y - half, centre_y + half


class _Packer:
    """What the page unpacks: number texts of one fixed width, then byte arrays, zlib-compressed.

    Fixed-width texts let the page find the i-th without splitting millions of strings apart.
    """

    def __init__(self):
        self.text_arrays: list = []  # NumPy byte-string arrays, right-aligned in _MAX_TEXT characters
        self.text_count = 0
        self.text_width = 1
        self.byte_arrays: list = []
        self.byte_count = 0

    def add_numbers(self, values) -> int:
        """Format ``values`` with ``format_number``; returns the index of the first text."""
        import numpy as np

        from micrograd.viz import format_number

        # Each distinct number is formatted once (zeros and weights repeat a lot).
        distinct, where = np.unique(np.asarray(values, dtype=float).ravel(), return_inverse=True)
        texts = [format_number(float(v), PRECISION) for v in distinct]
        self.text_width = max(self.text_width, *map(len, texts))  # at most _MAX_TEXT (tests/test_explore.py)
        # Right-aligned: the digits line up, and the page strips the leading blanks.
        padded = np.array([text.rjust(_MAX_TEXT).encode("ascii") for text in texts], dtype=f"S{_MAX_TEXT}")
        self.text_arrays.append(padded[where.ravel()])
        self.text_count += where.size
        return self.text_count - where.size

    def add_bytes(self, array) -> int:
        import numpy as np

        array = np.ascontiguousarray(array, dtype=np.uint8).ravel()
        self.byte_arrays.append(array)
        self.byte_count += array.size
        return self.byte_count - array.size

    def encoded(self) -> str:
        import numpy as np

        texts = np.concatenate(self.text_arrays).view(np.uint8).reshape(-1, _MAX_TEXT)
        raw = texts[:, _MAX_TEXT - self.text_width :].tobytes()  # only the blanks no text needs go
        raw += b"".join(array.tobytes() for array in self.byte_arrays)
        return base64.b64encode(zlib.compress(raw)).decode("ascii")


def _split_by_dependence(packer: _Packer, values) -> list[list]:
    """Store each node's (states x points) numbers once per what they depend on: [kind, index].

    Kinds: 'c' the same everywhere, 's' one per state (the weights), 'p' one per point (the
    inputs), 'f' one per point and state, point-major (one point's steps side by side, which
    compress better than one step's points).
    """
    index = []
    for n in range(values.shape[2]):
        table = values[:, :, n]
        same_per_state = bool((table == table[:, :1]).all())
        same_per_point = bool((table == table[:1, :]).all())
        if same_per_state and same_per_point:
            index.append(["c", packer.add_numbers(table[:1, :1])])
        elif same_per_state:
            index.append(["s", packer.add_numbers(table[:, 0])])
        elif same_per_point:
            index.append(["p", packer.add_numbers(table[0, :])])
        else:
            index.append(["f", packer.add_numbers(table.T)])
    return index


def _page(*, title, about, recorder: _Recorder, losses, accuracies, learning_rates, loss_name, l2) -> str:
    from micrograd.plot import CLASS_COLORS
    from micrograd.viz import format_number

    def number(x: float) -> str:
        return format_number(x, PRECISION)

    points = recorder.points
    packer = _Packer()
    config = {
        "about": about,
        "states": recorder.states,
        "points": points,
        "nodes": recorder.nodes,
        "X": recorder.train.X,
        "y": recorder.train.y,
        "colors": CLASS_COLORS[: recorder.train.num_classes],
        "bounds": recorder.bounds,
        "grid": GRID,
        "loss_name": loss_name,
        "l2": l2,
        "inputs": [recorder.labels.index(f"x{k}") for k in range(2)],
        # the page opens on the output neuron: its inputs, weights and score at a glance
        "focus": next(i for i, label in enumerate(recorder.labels) if label in ("score", "score0")),
        "first_point": _first_point(recorder),
        # The loss curve is drawn from the numbers; every number shown is one of the texts.
        "loss": losses,
        "loss_text": [number(v) for v in losses],
        "loss_range_text": [number(max(losses)), number(min(losses))],
        "accuracy_text": [f"{a:.1%} ({round(a * points)}/{points})" for a in accuracies],
        "lr_text": [number(v) for v in learning_rates] + ["none (last step)"],  # no step from the last weights
        "node_data": _split_by_dependence(packer, recorder.data),
        "node_grad": _split_by_dependence(packer, recorder.grad),
        "regions": packer.add_bytes(recorder.regions),
        "confidence": packer.add_bytes(recorder.confidence),
    }
    config.update(text_count=packer.text_count, text_width=packer.text_width, byte_count=packer.byte_count)
    assets = resources.files("micrograd") / "explore_assets"
    template = (assets / "page.html").read_text(encoding="utf-8")
    script = (assets / "explore.js").read_text(encoding="utf-8")  # holds no '</script' (tests/test_explore.py)
    parts = {
        "TITLE": html.escape(title),
        "STYLE": (assets / "explore.css").read_text(encoding="utf-8"),
        "SCRIPT": script,
        # "<\/" is the same string to JSON and cannot close the <script> element holding it
        "CONFIG": json.dumps(config, separators=(",", ":"), allow_nan=False).replace("</", "<\\/"),
        "DATA": packer.encoded(),
        "GRAPH": _graph_svg(recorder),
    }
    return re.sub(r"\{\{(\w+)\}\}", lambda match: parts[match.group(1)], template)


def _first_point(recorder: _Recorder) -> int:
    """The point the page starts with: the first one whose loss sends gradients back at step 0."""
    for i in range(recorder.points):
        if recorder.data[0, i, 0] > 0:
            return i
    return 0


def _graph_svg(recorder: _Recorder) -> str:
    """The loss graph of point 0 laid out by Graphviz, as inline SVG with placeholder numbers."""
    import graphviz

    from micrograd.viz import nodes_to_dot, render

    nodes = [node._replace(data=_PLACEHOLDER, grad=_PLACEHOLDER) for node in reversed(recorder.point_graph(0))]
    recorder.model.zero_grad()
    svg = render(graphviz.Source(nodes_to_dot(nodes, "LR", precision=PRECISION), format="svg")).decode("utf-8")
    return svg[svg.index("<svg") :]  # the XML declaration and DOCTYPE do not belong inside HTML


def _check_arguments(dataset, steps, hidden, seed) -> tuple[_Recipe, int, list[int], int]:
    return (
        DATASETS[one_of(dataset, DATASETS, "dataset")],
        positive_int(steps, "write_page: steps"),
        layer_widths(hidden, "write_page: hidden"),
        whole_number(seed, "write_page: seed"),
    )
