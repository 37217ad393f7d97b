"""One tab of the playground: its problem, model, optimizer and training loop, and every number its
page draws. Nothing here knows about HTTP; ``server.py`` calls these methods under the session's lock.

Training is the library's own: an ``MLP``, a loss from ``micrograd.losses``, ``backward()`` and an
optimizer from ``micrograd.optim.OPTIMIZERS``, one mini-batch per step, as ``micrograd.train.fit``
does. The pictures that need thousands of forward passes (a 50x50 heatmap per neuron, the loss on
every point) run the same model through ``micrograd.compile``. A point's graph and the backprop
stepper walk the engine's own graph in ``engine.topological_order``, each step asking the op's rule
in ``micrograd.ops`` for its vector-Jacobian product, as ``Value.backward`` does.
"""

from __future__ import annotations

import base64
import contextlib
import math
import random
import time
from dataclasses import asdict, dataclass, replace
from typing import Iterator

from micrograd.engine import Value, topological_order
from micrograd.losses import LOSSES, SAMPLE_LOSSES, accuracy, l1_penalty, l2_penalty, predicted_classes
from micrograd.nn import MLP
from micrograd.ops import scalar_math
from micrograd.optim import OPTIMIZERS
from micrograd.playground.features import FEATURES, feature_rows
from micrograd.playground.fields import (
    A_LIST, AN_OBJECT, Field, checked, list_of, nullable, number, one_of, required, shown, whole,
)
from micrograd.playground.problems import (
    PARTS, PROBLEMS, Problem, make_problem, point_rows, points_from_csv, points_to_csv, with_points,
)
from micrograd.train import label_targets, output_count
from micrograd.viz import graph_nodes

__all__ = ["Settings", "Session", "CHOICES", "GRID", "SESSION_FORMAT", "SETTING_FIELDS"]

GRID = 50  # heatmap cells per side
MAX_LAYERS = 6  # hidden layers, as TensorFlow Playground
MAX_NEURONS = 8  # per hidden layer, as TensorFlow Playground
MAX_BATCH = 30  # TensorFlow Playground's batch-size slider ends here
LEARNING_RATES = (0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)  # its menu
REGULARIZATION_RATES = (0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)  # its menu
REGULARIZATIONS = ("none", "L1", "L2")
NOISE_PERCENTS = range(0, 51, 5)  # its slider: 0 to 50 in steps of 5
TRAIN_PERCENTS = range(10, 91, 10)  # its slider: 10% to 90% in steps of 10
ACTIVATIONS = {"relu": "relu", "tanh": "tanh", "sigmoid": "sigmoid", "linear": None}  # page name -> nn's
VIEWS = ("neurons", "scalars")  # a point's graph: one box per neuron, or every scalar (expand_dot)
MAX_HISTORY = 100_000  # entries of a session file's history
SESSION_FORMAT = "micrograd-playground-session"
SESSION_VERSION = 1

CHOICES = {
    "dataset": list(PROBLEMS),
    "activation": list(ACTIVATIONS),
    "optimizer": list(OPTIMIZERS),
    "lr": list(LEARNING_RATES),
    "regularization": list(REGULARIZATIONS),
    "reg_rate": list(REGULARIZATION_RATES),
    "noise": list(NOISE_PERCENTS),
    "train_percent": list(TRAIN_PERCENTS),
    "features": {name: feature.label for name, feature in FEATURES.items()},
    "max_layers": MAX_LAYERS,
    "max_neurons": MAX_NEURONS,
    "max_batch": MAX_BATCH,
}
"""What the page offers, sent to it once: every menu is filled from here."""


@dataclass(frozen=True)
class Settings:
    """What the user steers. TensorFlow Playground's defaults: circle, noise 0, half the points for
    training, inputs x1 and x2, 4-2 tanh, lr 0.03, no regularisation, batch 10."""

    dataset: str = "circle"
    noise: int = 0  # percent, as TensorFlow Playground's slider
    train_percent: int = 50
    features: tuple[str, ...] = ("x1", "x2")
    hidden: tuple[int, ...] = (4, 2)
    activations: tuple[str, ...] = ("tanh", "tanh")  # one per hidden layer
    optimizer: str = "sgd"
    lr: float = 0.03
    regularization: str = "none"
    reg_rate: float = 0.0
    batch_size: int = 10
    seed: int = 0  # picks the points and, with resets, the first weights
    resets: int = 0  # how many times reset drew new weights: the weights' seed is seed * 1000 + resets

    def changed(self, changes: dict) -> Settings:
        """These settings with ``changes`` (a JSON object from the page, a link or a session file)
        applied, each one checked against ``SETTING_FIELDS``. A new ``hidden`` without
        ``activations`` keeps each layer's activation (a new layer takes the last one's)."""
        new = dict(checked(changes, SETTING_FIELDS, "settings"))  # JSON's lists become tuples below
        if "features" in new:
            new["features"] = tuple(f for f in FEATURES if f in new["features"])  # the page's order, each once
        if "lr" in new:
            new["lr"] = float(new["lr"])
        hidden = new["hidden"] = tuple(new.get("hidden", self.hidden))
        if "activations" not in new:
            last = self.activations[-1] if self.activations else "tanh"
            new["activations"] = (self.activations + (last,) * len(hidden))[: len(hidden)]
        elif len(new["activations"]) != len(hidden):
            raise ValueError(f"settings: activations must list one activation per hidden layer ({len(hidden)}), "
                             f"got {new['activations']!r}")
        new["activations"] = tuple(new["activations"])
        return replace(self, **new)


SETTING_FIELDS = {  # what each setting takes: the page's menus and sliders
    "dataset": one_of(PROBLEMS),
    "noise": one_of(NOISE_PERCENTS),
    "train_percent": one_of(TRAIN_PERCENTS),
    "features": list_of(one_of(FEATURES), 1, len(FEATURES)),
    "hidden": list_of(whole(1, MAX_NEURONS), 0, MAX_LAYERS),
    "activations": list_of(one_of(ACTIVATIONS), 0, MAX_LAYERS),
    "optimizer": one_of(OPTIMIZERS),
    "lr": number(min(LEARNING_RATES), max(LEARNING_RATES)),
    "regularization": one_of(REGULARIZATIONS),
    "reg_rate": one_of(REGULARIZATION_RATES),
    "batch_size": whole(1, MAX_BATCH),
    "seed": whole(0, 2**32 - 1),
    "resets": whole(0, 2**32 - 1),
}

_DOCUMENT_FIELDS = {  # a session file, as Session.document writes it; its history is checked against its problem
    "format": required(Field(lambda v: v == SESSION_FORMAT, f"{SESSION_FORMAT!r} (a playground session file)")),
    "version": required(one_of((SESSION_VERSION,))),
    "settings": required(AN_OBJECT),  # as Settings.changed checks them
    "points": required(nullable(A_LIST)),  # as with_points checks them
    "model": required(AN_OBJECT),  # as MLP.from_dict checks it
    "step": required(whole(0)),
    "history": required(list_of(Field(lambda entry: True, "[step, {losses}]"), 1, MAX_HISTORY)),
}

_DATA_SETTINGS = ("dataset", "seed", "noise", "train_percent")  # a change draws new points (and weights)
_MODEL_SETTINGS = ("hidden", "activations", "features", "resets")  # a change starts a new network


class Diverged(ArithmeticError):
    """Training stopped: a number left the float range (too large a learning rate, usually).
    ``steps``: how many steps ran (and are recorded) before it stopped."""

    def __init__(self, message: str, steps: int):
        super().__init__(message)
        self.steps = steps


class Session:
    """One tab's state. Changing the data (dataset, noise, ratio, seed), the layers, activations or
    features starts a new model (as in TensorFlow Playground); the learning rate, regularisation and
    batch size apply from the next step; a new optimizer starts from fresh optimizer state with the
    same weights. ``points`` (``[x1, x2, label, part]`` rows) are the user's own, in place of the
    dataset's, until the data settings change."""

    def __init__(self, settings: Settings = Settings(), points: list | None = None):
        self.settings = settings
        self.data_version = self.model_version = 0  # counted up as the page's points or model change
        self._load_problem(points)

    # -- what the page changes ---------------------------------------------------------------

    def apply(self, changes: dict) -> None:
        old, new = self.settings, self.settings.changed(changes)
        self.settings = new
        if any(getattr(old, name) != getattr(new, name) for name in _DATA_SETTINGS):
            self._load_problem(None)
        elif any(getattr(old, name) != getattr(new, name) for name in _MODEL_SETTINGS):
            self._new_model()
        else:
            if old.optimizer != new.optimizer:
                self._new_optimizer()
            self.optimizer.lr = new.lr
            if old.batch_size != new.batch_size:
                self._batches = self._endless_batches()

    def reset(self) -> None:
        """New random weights (each reset draws others, and says so in the settings), step 0, an empty history."""
        self.apply({"resets": self.settings.resets + 1})

    def set_points(self, rows: list) -> None:
        """The user's own points (``[x1, x2, label, part]`` rows) in place of the current ones; the
        network trains on from where it is."""
        self._use_problem(with_points(self.problem, rows))

    def add_point(self, x, y, label, part: str = "train") -> None:
        self.set_points(point_rows(self.problem) + [[x, y, label, part]])

    def remove_point(self, part: str, index: int) -> None:
        self._check_point(part, index)
        rows = point_rows(self.problem)
        del rows[index + (len(self.problem.train) if part == "test" else 0)]
        self.set_points(rows)

    def _check_point(self, part: str, index: int) -> None:
        """That the ``part`` set ('train' or 'test', as the server checked) has a point ``index`` (>= 0)."""
        count = len(getattr(self.problem, part))
        if index >= count:
            raise ValueError(f"index must be 0 to {count - 1} for the {part} set, got {index}")

    def read_csv(self, text: str) -> None:
        """The points of a CSV file; a malformed one raises ``ValueError`` naming its line, and nothing changes."""
        self._use_problem(points_from_csv(text, self.problem))

    def csv(self) -> str:
        return points_to_csv(self.problem)

    def set_parameter(self, layer: int, neuron: int, weight: int | None, value: float) -> None:
        """Set one weight (``weight``: the input's index) or the bias (``weight`` None) by hand: ``layer``,
        ``neuron`` and ``weight`` whole numbers >= 0 (or None) and ``value`` a finite number, as the server
        checked; whether the network has that parameter is checked here."""
        widths = [self.model.nin, *self.model.nouts]  # layer i's neurons take widths[i] inputs each
        if not (layer < len(widths) - 1 and neuron < widths[layer + 1] and (weight is None or weight < widths[layer])):
            raise ValueError(
                f"layer {layer}, neuron {neuron}, weight {weight} is not a parameter of this "
                f"{'-'.join(map(str, widths))} network: layer 0 to {len(widths) - 2}, neuron 0 to its layer's "
                "width - 1, weight 0 to its inputs - 1 (or null for the bias)"
            )
        unit = self.model.layers[layer].neurons[neuron]
        parameter = unit.b if weight is None else unit.w[weight]
        with self._undone_on_overflow(f"value {value:g} is too large", parameter):
            parameter.data = float(value)
            self._record()

    def train(self, steps: int, *, seconds: float) -> int:
        """Up to ``steps`` training steps, stopping early after ``seconds``; returns how many ran.

        Raises ``Diverged`` (weights unchanged by the failed step; its ``steps`` ran and are recorded)
        when a number overflows.
        """
        done, failure, deadline = 0, None, time.perf_counter() + seconds
        inputs, targets = self._inputs["train"], self._targets["train"]
        while failure is None and done < steps and (done == 0 or time.perf_counter() < deadline):
            batch = next(self._batches)
            try:
                scores = [self.model(inputs[i]) for i in batch]
                loss = self._loss_fn(scores, [targets[i] for i in batch]) + self._penalty()
                self.optimizer.zero_grad()
                loss.backward()
                self.optimizer.step()
            except (ArithmeticError, ValueError) as error:
                failure = f"training stopped at step {self.step + 1}: {error}"
            else:
                self.step += 1
                done += 1
        if done:  # the steps that ran are kept, so they are recorded, even when a later one failed
            try:
                self._record()
            except ArithmeticError as error:
                failure = failure or f"training stopped after step {self.step}: the losses overflow ({error})"
        if failure is not None:
            raise Diverged(failure, steps=done)
        return done

    def _penalty(self) -> Value | float:
        """The regularisation term on the weights (not the biases, as TensorFlow Playground): its L2
        is 0.5 w**2 per weight and its L1 |w|, times the rate."""
        rate, kind = self.settings.reg_rate, self.settings.regularization
        if kind == "none" or not rate:
            return 0.0
        weights = [w for layer in self.model.layers for neuron in layer.neurons for w in neuron.w]
        return l2_penalty(weights, rate / 2) if kind == "L2" else l1_penalty(weights, rate)

    # -- a whole session as a file --------------------------------------------------------------

    def document(self) -> dict:
        """The session as a JSON-ready document: settings, the user's points, the weights and the
        history (what ``Session.restore`` reads back). The optimizer's own state is not kept."""
        return {
            "format": SESSION_FORMAT,
            "version": SESSION_VERSION,
            "settings": {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self.settings).items()},
            "points": point_rows(self.problem) if self.problem.own else None,
            "model": self.model.to_dict(),
            "step": self.step,
            "history": self.history,
        }

    @classmethod
    def restore(cls, document: dict, *, after: Session | None = None) -> Session:
        """A session from ``document()``'s output, every part checked (``ValueError`` saying what
        is wrong): nothing of it is used until all of it is. ``after``: the session it replaces
        (the page must see a new model and new points)."""
        checked(document, _DOCUMENT_FIELDS, "the session file")
        session = cls(Settings().changed(document["settings"]), document["points"])
        model = MLP.from_dict(document["model"], source="the session's model")
        fresh = session.model
        if (model.nin, model.nouts, model.inputs) != (fresh.nin, fresh.nouts, fresh.inputs) or [
            layer.activation for layer in model.layers
        ] != [layer.activation for layer in fresh.layers]:
            raise ValueError("the session's model does not match its settings (layers, activations or features)")
        names = sorted(session.history[0][1])  # the losses this problem records
        step, loss = whole(0), nullable(number())  # a loss is None where there are no test points
        entry = Field(
            lambda e: isinstance(e, list) and len(e) == 2 and step.test(e[0]) and isinstance(e[1], dict)
            and sorted(e[1]) == names and all(map(loss.test, e[1].values())),
            f"[step, {{{', '.join(names)}}}], each loss a finite number or null",
        )
        history = document["history"]
        bad = next((i for i, e in enumerate(history) if not entry.test(e)), None)
        if bad is not None:
            raise ValueError(f"the session file: history[{bad}] must be {entry.must_be}, got {shown(history[bad])}")
        for ours, theirs in zip(session.model.parameters(), model.parameters()):
            ours.data = theirs.data  # the compiled heatmap program reads these parameters
        session.step, session.history = document["step"], history
        session._batches = session._endless_batches()
        if after is not None:
            session.model_version = after.model_version + 1
            session.data_version = after.data_version + 1
        return session

    # -- what the page draws -----------------------------------------------------------------

    def frame(self, *, have_history: int = 0, data_version: int | None = None) -> dict:
        """The numbers of one picture: losses, the history the page lacks, every neuron's heatmap
        (and each grid cell's predicted class), the weights, and the points if the page lacks them."""
        import numpy as np

        outputs = self._neuron_program.forward(self._grid)  # (cells, neurons): every layer's outputs
        regression = self.problem.classes is None
        classes = [] if regression else predicted_classes(outputs[:, -self.model.nouts[-1] :])
        start = have_history if have_history <= len(self.history) else 0
        frame = {
            "step": self.step,
            "model_version": self.model_version,
            "history_from": start,
            "history": self.history[start:],
            "heatmaps": _base64(np.ascontiguousarray(outputs.T, dtype="<f4")),
            "classes": _base64(np.asarray(classes, dtype=np.uint8)),
            "weights": self.model.to_dict()["weights"],
            "settings": asdict(self.settings),
            "data_version": self.data_version,
        }
        if data_version != self.data_version:
            frame["data"] = {
                "bounds": self.problem.bounds,
                "grid": GRID,
                "classes": self.problem.classes,  # None: a regression
                "own": self.problem.own,
                "train": _points(self.problem.train),
                "test": _points(self.problem.test),
            }
        return frame

    def point_graph(self, part: str, index: int, view: str, *, expanded=(), layout: bool) -> dict:
        """Point ``index`` of the ``part`` set ('train' or 'test'): its loss graph at the current
        weights after ``backward()``, and the stepper's steps. In ``view`` 'neurons' each neuron is
        one box, except those named in ``expanded`` (``['L0.N1', ...]``), drawn as their scalars;
        in 'scalars' every neuron is (every dot as its products and their sum, ``expand_dot``).
        ``layout`` adds the boxes' positions (the same for every point of one model). The server has
        checked the arguments' kinds; that the point and the neurons exist is checked here."""
        self._check_point(part, index)
        names = [f"L{i}.N{j}" for i, width in enumerate(self.model.nouts) for j in range(width)]
        if not set(expanded) <= set(names):
            message = f"expanded must be a list of neuron names ({names[0]} to {names[-1]}), got {shown(expanded)}"
            raise ValueError(message)
        data = self.problem.train if part == "train" else self.problem.test
        target = self._sample_targets([data.y[index]])[0]
        root, neuron_of = self._point_root(self._inputs[part][index], target)
        nodes = graph_nodes(root, expand_dot=True, max_nodes=2000)
        neuron = {n.key: neuron_of.get(id(n.value)) for n in nodes}
        for n in nodes:  # a dot's products (no Value of their own) belong to the dot's neuron
            if n.value is not None and n.value._op == "dot":
                for product in n.inputs:
                    neuron[product] = neuron[n.key]
        closed = set(names) - set(expanded) if view == "neurons" else set()
        box_of = {n.key: neuron[n.key] if neuron[n.key] in closed else n.key for n in nodes}
        boxes = _boxes(nodes, box_of, neuron)
        steps = backprop_steps(root, {id(n.value): n.key for n in nodes if n.value is not None})
        steps_match = _steps_match(steps, nodes)
        for p in self.model.parameters():  # the numbers are read: this backward() must not leak into training
            p.grad = 0.0
        graph = {
            "part": part,
            "index": index,
            "view": view,
            "expanded": list(expanded),
            "x": data.X[index],
            "label": data.y[index],
            "model_version": self.model_version,
            "boxes": boxes,
            # every node of the engine's graph: its label and op, and the box that draws it
            "nodes": {
                n.key: {"label": n.label, "op": n.op, "box": box_of[n.key]} for n in nodes if n.value is not None
            },
            "steps": steps,
            "steps_match_backward": steps_match,
            # expand_dot's products: each has its dot's grad, so the stepper gives it when the dot's step comes
            "products": {n.key: list(n.inputs) for n in nodes if n.value is not None and n.value._op == "dot"},
        }
        if layout:
            from micrograd.playground.layout import lay_out

            graph["layout"] = lay_out(boxes)
        return graph

    def model_state(self) -> dict:
        """The model as ``MLP.to_dict`` gives it (the file ``MLP.save`` writes), its ``inputs`` the features."""
        return self.model.to_dict()

    def torch_script(self) -> str:
        """A standalone PyTorch script of the model (see ``playground.torch_script``), predicting at every point."""
        from micrograd.playground.torch_script import torch_script

        return torch_script(self.model, self.problem.train.X + self.problem.test.X, self.problem.bounds, GRID)

    # -- inside ------------------------------------------------------------------------------

    def _load_problem(self, points: list | None) -> None:
        settings = self.settings
        problem = make_problem(settings.dataset, settings.seed, noise=settings.noise, train_percent=settings.train_percent)
        self._use_problem(problem if points is None else with_points(problem, points), new_model=True)

    def _use_problem(self, problem: Problem, *, new_model: bool = False) -> None:
        """Train on ``problem``'s points from now on: with a new network, or the same one going on.
        Points whose losses overflow raise ``ValueError`` and leave the session as it was."""
        with self._undone_on_overflow("with these points, a label or a weight is too large"):
            self._switch_to(problem, new_model)

    @contextlib.contextmanager
    def _undone_on_overflow(self, change: str, *weights: Value):
        """Run the block, a change to the session (and to ``weights``' data); if the losses overflow,
        put everything back as it was and refuse ``change`` with a ``ValueError``."""
        before = dict(vars(self))  # every change is an attribute set anew (or a weight's data), so this undoes them
        data = [w.data for w in weights]
        try:
            yield
        except ArithmeticError as error:
            vars(self).clear()
            vars(self).update(before)
            for w, d in zip(weights, data):
                w.data = d
            raise ValueError(f"{change}: the losses overflow ({error})") from None

    def _switch_to(self, problem: Problem, new_model: bool) -> None:
        self.problem = problem
        self.data_version += 1
        if problem.classes is None:  # a regression: the labels are the targets
            self.loss_name = "mse"
            targets = self._sample_targets = lambda labels: [float(label) for label in labels]  # noqa: E731
        else:
            self.loss_name = "hinge" if problem.classes == 2 else "cross_entropy"
            targets = label_targets(self.loss_name, problem.classes)
            self._sample_targets = label_targets(self.loss_name, problem.classes, rows=True)
        self._loss_fn = LOSSES[self.loss_name]
        self._targets = {part: targets(getattr(problem, part).y) for part in PARTS}
        if new_model:
            self._new_model()
        else:
            self._batches = self._endless_batches()
            self._record()

    def _new_model(self) -> None:
        import numpy as np

        from micrograd.compile import compile

        settings, problem = self.settings, self.problem
        outputs = 1 if problem.classes is None else output_count(self.loss_name, problem.classes)
        seed = settings.seed * 1000 + settings.resets
        activations = [ACTIVATIONS[a] for a in settings.activations]
        self.model = MLP(len(settings.features), [*settings.hidden, outputs], activations, seed=seed,
                         inputs=list(settings.features))
        self.model_version += 1
        self._neuron_program = compile(_every_neuron(self.model), self.model.parameters(),
                                       example=([0.0] * self.model.nin,))
        low, high = problem.bounds
        centres = low + (np.arange(GRID) + 0.5) * (high - low) / GRID
        # row 0 of the picture is the top (high y), as a canvas draws it
        x1, x2 = np.meshgrid(centres, centres[::-1])
        self._grid = np.column_stack([FEATURES[name].formula(np, x1.ravel(), x2.ravel()) for name in settings.features])
        self.step = 0
        self.history: list[list] = []
        self._new_optimizer()
        self._batches = self._endless_batches()
        self._record()

    @property
    def _inputs(self) -> dict[str, list[list[float]]]:
        """Each part's points as the model's inputs (its features), computed once per points and features."""
        key = (self.data_version, self.settings.features)
        if self._inputs_key != key:
            self._inputs_cache = {part: feature_rows(getattr(self.problem, part).X, self.settings.features)
                                  for part in PARTS}
            self._inputs_key = key
        return self._inputs_cache

    _inputs_key = None

    def _new_optimizer(self) -> None:
        self.optimizer = OPTIMIZERS[self.settings.optimizer](self.model.parameters(), lr=self.settings.lr)

    def _endless_batches(self) -> Iterator[list[int]]:
        """The training points' indices, ``batch_size`` at a time, in a new random order each pass
        (as ``Dataset.batches`` draws them)."""
        rng, count, size = random.Random(self.step), len(self.problem.train), self.settings.batch_size
        while True:
            order = list(range(count))
            rng.shuffle(order)
            for start in range(0, count, size):
                yield order[start : start + size]

    def _record(self) -> None:
        """Append [step, losses] to the history: the loss (and on classes, the accuracy) on all of
        each set.

        The model's scores come from the compiled program that draws the heatmaps (one NumPy pass
        over the 500 points, where ``train.evaluate`` would compile anew each time); the loss and
        accuracy of those scores are the library's own ``losses`` functions."""
        import numpy as np

        outputs = self.model.nouts[-1]
        losses = {}
        for part in PARTS:
            if not self._inputs[part]:  # the user's points may have no test set
                losses[f"{part}_loss"] = None
                continue
            scores = self._neuron_program.forward(np.asarray(self._inputs[part]))[:, -outputs:]
            scores = scores[:, 0].tolist() if outputs == 1 else scores.tolist()
            losses[f"{part}_loss"] = self._loss_fn(scores, self._targets[part]).data
            if self.problem.classes is not None:
                losses[f"{part}_accuracy"] = accuracy(scores, getattr(self.problem, part).y)
        self.history.append([self.step, losses])

    def _point_root(self, x, target) -> tuple[Value, dict[int, str]]:
        """The point's own loss term (no batch mean) after ``backward()``, its nodes labelled
        (inputs by their feature, ``x1``, ``sin_x1``..., each neuron's output ``L{i}.N{j}``, the root ``loss``), and which
        neuron made each Value (``id -> L{i}.N{j}``: its dot, bias sum, activation and parameters).
        The parameters' grads start from 0; the caller zeroes them again once it has read them."""
        h = [Value(v, label=name) for name, v in zip(self.settings.features, x)]
        neuron_of = {}
        for i, layer in enumerate(self.model.layers):
            outputs = []
            for j, neuron in enumerate(layer.neurons):
                out = neuron(h)
                out.label = f"L{i}.N{j}"
                inputs, stack = {id(v) for v in h}, [out]
                while stack:  # back from the output to the layer's inputs: what this neuron made
                    v = stack.pop()
                    if id(v) not in inputs and id(v) not in neuron_of:
                        neuron_of[id(v)] = out.label
                        stack.extend(v._prev)
                outputs.append(out)
            h = outputs
        root = SAMPLE_LOSSES[self.loss_name](h[0] if len(h) == 1 else h, target)
        root.label = "loss"
        for p in self.model.parameters():
            p.grad = 0.0
        root.backward()
        return root, neuron_of


def backprop_steps(root: Value, key_of: dict[int, str]) -> list[dict]:
    """The backward pass of ``root`` one node at a time, as ``Value.backward`` walks it: every
    node of ``reversed(topological_order([root]))`` that was computed from others, with its
    gradient ``g`` and, for each input, the op's local derivative (its vector-Jacobian product
    for a gradient of 1), what it adds (the product for ``g``) and the input's grad before and
    after, and which use of the input it is (1, 2, ...). An input used twice gets two additions:
    their sum is its grad. ``key_of`` names the nodes (``id(Value) -> key``). The grads the steps
    end with equal ``.grad`` after ``backward()``."""
    grads = {id(root): 1.0}
    uses = {}  # how many contributions each input has had so far
    steps = []
    for node in reversed(topological_order([root])):
        rule = node._rule
        if rule is None:
            continue
        g = grads.get(id(node), 0.0)
        step = {"node": key_of[id(node)], "op": node._op, "grad": g, "inputs": []}
        steps.append(step)
        if not g:  # as backward(): nothing flows back through this node
            continue
        inputs = node._prev
        data = [v.data for v in inputs]
        local = rule.vjp(scalar_math, 1.0, node.data, *data)
        added = rule.vjp(scalar_math, g, node.data, *data)
        for v, d, a in zip(inputs, local, added):
            before = grads.get(id(v), 0.0)
            grads[id(v)] = before + a
            uses[id(v)] = uses.get(id(v), 0) + 1
            step["inputs"].append(
                {"node": key_of[id(v)], "local": d, "added": a, "before": before, "after": grads[id(v)], "use": uses[id(v)]}
            )
    return steps


def _steps_match(steps: list[dict], nodes) -> bool:
    """Whether the grads the steps add up to are the ``.grad`` that ``backward()`` left on each node
    (to 12 digits: the two may add a node's contributions in another order)."""
    finals = {row["node"]: row["after"] for step in steps for row in step["inputs"]}
    return all(
        math.isclose(finals.get(n.key, 0.0), n.value.grad, rel_tol=1e-12, abs_tol=1e-300)
        for n in nodes
        if n.value is not None and n.value is not nodes[-1].value
    )


def _boxes(nodes, box_of: dict[str, str], neuron: dict[str, str | None]) -> list[dict]:
    """The boxes to draw: each node is one, except where ``box_of`` puts a neuron's nodes together
    into one box keyed by the neuron's name (``L0.N1``) and showing its output's data and grad.
    ``neuron`` says which neuron made each node (None for the inputs and the loss's own nodes)."""
    boxes = {}  # box key -> box, in the order of the nodes (each neuron placed at its output)
    for n in nodes:
        box = box_of[n.key]
        if box == n.key or box == n.label:  # a node of its own, or a neuron's output
            kind = "node" if box == n.key else "neuron"
            boxes[box] = {"key": box, "kind": kind, "neuron": neuron[n.key], "label": n.label, "op": n.op}
            boxes[box].update(data=n.data, grad=n.grad, inputs=[])
    for n in nodes:
        inputs = boxes[box_of[n.key]]["inputs"]
        for k in n.inputs:
            if box_of[k] != box_of[n.key] and box_of[k] not in inputs:
                inputs.append(box_of[k])
    return list(boxes.values())


def _every_neuron(model: MLP):
    """The function whose compiled program gives every neuron's output, layer after layer."""

    def outputs(x):
        values = []
        for layer in model.layers:
            x = layer.forward(x)
            values += x
        return values

    return outputs


def _points(data) -> list[list]:
    return [[x, y, label] for (x, y), label in zip(data.X, data.y)]


def _base64(array) -> str:
    return base64.b64encode(array.tobytes()).decode("ascii")
