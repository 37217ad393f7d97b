"""The training loop: ``fit`` a model to a ``Dataset`` and ``evaluate`` it, with a progress bar.

Loss names are those of ``micrograd.losses.LOSSES``; each decides what the model must output
(``output_count``) and what the class labels turn into (``label_targets``):

- ``'hinge'``: one score per sample, targets ``2*y - 1`` (+1/-1), the original demo's loss;
- ``'bce'``: one logit per sample, targets ``y`` (0/1);
- ``'mse'``: one output with targets ``2*y - 1`` for two classes, else one output per class with
  one-hot targets;
- ``'cross_entropy'``: one logit per class, targets ``y``.
"""

from __future__ import annotations

import math
import random
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

from micrograd._validate import non_negative, one_of, positive_int, whole_number
from micrograd.data import Dataset, check_dataset
from micrograd.losses import LOSSES, SAMPLE_LOSSES, accuracy, l2_penalty, predicted_classes
from micrograd.optim import Optimizer

if TYPE_CHECKING:
    from micrograd.compile import Program

__all__ = ["History", "fit", "evaluate", "compile_loss", "output_count", "label_targets"]


@dataclass
class History:
    """What happened at each training step (index k = step k, counting from 0).

    ``loss`` is the loss that was minimised (with the L2 term), ``accuracy`` the fraction of that
    step's batch classified correctly before the update, ``lr`` the learning rate used, ``elapsed``
    the wall-clock seconds from the start of the run to the end of the step, and ``seconds`` the
    wall-clock time of the whole run.
    """

    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    elapsed: list[float] = field(default_factory=list)
    seconds: float = 0.0
    batch_size: int | None = None  # None: every step saw the whole training set

    @property
    def steps(self) -> int:
        return len(self.loss)


def fit(
    model,
    train: Dataset,
    *,
    loss: str,
    optimizer,
    steps: int,
    batch_size: int | None = None,
    schedule=None,
    l2: float = 0.0,
    seed: int = 0,
    progress: bool | str = True,
    compiled: bool = False,
    callback: Callable[[int, History], None] | None = None,
) -> History:
    """Train ``model`` on ``train`` for ``steps`` optimizer steps and return the ``History``.

    Each step: forward the batch, ``loss`` plus ``l2_penalty(model.parameters(), l2)``, zero the
    grads, ``backward()``, ``optimizer.step()``, then ``schedule.step()`` if given. ``batch_size``
    None (or at least the data size) uses the whole set every step; otherwise the data is shuffled
    with ``random.Random(seed)`` and visited batch by batch, epoch after epoch. ``callback(k,
    history)`` runs after step k (from 0). ``progress`` shows a bar with the loss and accuracy;
    ``progress="lines"`` prints a plain line at every tenth of the run instead (for a log file).

    ``compiled=True`` runs each batch through one compiled program (``micrograd.compile``), and a
    micrograd optimizer keeps the parameters and its state in NumPy arrays between steps
    (``optim.ParameterArrays``): the same numbers, written back into the Values and the optimizer
    before each callback (and read again after it) and when ``fit`` returns or raises.
    """
    loss_fn = _loss_function(loss)
    check_dataset(train, "train")
    steps = positive_int(steps, "steps")
    if batch_size is not None:
        batch_size = positive_int(batch_size, "batch_size")
        if batch_size >= len(train):
            batch_size = None
    l2 = non_negative(l2, "l2")
    seed = whole_number(seed, "seed")
    for method in ("step", "zero_grad"):
        if not callable(getattr(optimizer, method, None)):
            raise TypeError(
                f"optimizer must have step() and zero_grad() (a micrograd.optim optimizer), got {optimizer!r}"
            )
    if schedule is not None and not callable(getattr(schedule, "step", None)):
        raise TypeError(f"schedule must have a step() method (a micrograd.optim schedule), got {schedule!r}")
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable, got {callback!r}")

    make_targets = _target_maker(loss, model, train)
    if compiled:
        training = _CompiledTraining(model, loss, train, make_targets, l2, optimizer)
    else:
        training = _EagerTraining(model, loss_fn, train, make_targets, l2, optimizer)
    history = History(batch_size=batch_size)
    batches = _batch_indices(train, batch_size, random.Random(seed))
    bar = _progress_bar(steps, enabled=progress)
    started = time.perf_counter()
    try:
        for k in range(steps):
            history.lr.append(getattr(optimizer, "lr", math.nan))
            value, batch_accuracy = training.step(next(batches))
            if schedule is not None:
                schedule.step()
            history.loss.append(value)
            history.accuracy.append(batch_accuracy)
            history.elapsed.append(time.perf_counter() - started)
            history.seconds = history.elapsed[-1]
            bar.update(history.loss[-1], history.accuracy[-1])
            if callback is not None:
                training.sync()
                callback(k, history)
                training.resume()
    finally:
        training.sync()
        bar.close()
    return history


class _EagerTraining:
    """Training steps on graphs of Values, sample by sample: the engine as the lesson builds it."""

    def __init__(self, model, loss_fn, train: Dataset, make_targets, l2: float, optimizer):
        self.model, self.loss_fn, self.train, self.make_targets = model, loss_fn, train, make_targets
        self.l2, self.optimizer, self.params = l2, optimizer, model.parameters()
        self.full_targets = make_targets(train.y)

    def step(self, indices: list[int] | None) -> tuple[float, float]:
        """Forward the batch (``None``: the whole training set), backward, and the optimizer's step;
        returns the loss and the batch's accuracy before the step."""
        batch = self.train if indices is None else self.train._take(indices)
        targets = self.full_targets if indices is None else self.make_targets(batch.y)
        scores = [self.model(x) for x in batch.X]
        objective = self.loss_fn(scores, targets)
        if self.l2:
            objective = objective + l2_penalty(self.params, self.l2)
        self.optimizer.zero_grad()
        objective.backward()
        self.optimizer.step()
        return objective.data, accuracy(scores, batch.y)

    def sync(self) -> None:
        """Nothing to do: the Values and the optimizer are always up to date."""

    def resume(self) -> None:
        """Nothing to do."""


class _CompiledTraining:
    """Training steps through the compiled loss (``compile_loss``), a whole batch per NumPy call.

    The training set becomes arrays once; a batch is a slice of them. A micrograd optimizer whose
    ``step`` and ``zero_grad`` are its own (not overridden) steps on arrays (``ParameterArrays``),
    and the program reads the parameters from them (``Program.value_and_grad``): between ``sync()``s,
    which ``fit`` calls before a callback and at the end, no Value is read or written. Other
    optimizers get the gradients in ``p.grad`` and their ``step()`` called, as in eager training.
    The L2 term is compiled too, as a function of the parameters alone.
    """

    def __init__(self, model, loss: str, train: Dataset, make_targets, l2: float, optimizer):
        self.program, arrays = _compiled_loss(model, loss, train, make_targets)  # checks for NumPy
        import numpy as np

        from micrograd.compile import compile

        self.inputs = arrays(train)
        self.labels = np.asarray(train.y)
        self.optimizer, self.params = optimizer, self.program.params
        self.penalty = compile(lambda: l2_penalty(self.params, l2), self.params, example=()) if l2 else None
        self.arrays = self.where = None
        own = type(optimizer).step is Optimizer.step and type(optimizer).zero_grad is Optimizer.zero_grad
        if isinstance(optimizer, Optimizer) and own:
            position = {id(p): k for k, p in enumerate(self.params)}
            where = [position.get(id(p)) for p in optimizer.params]
            if None not in where:  # it steps parameters of the model only
                self.arrays = optimizer.arrays()
                # where the optimizer's parameters sit among the model's (a slice: all, in order)
                self.where = slice(None) if where == list(range(len(self.params))) else np.array(where)
                # the others' gradients add up from step to step, as zero_grad() leaves them in eager mode
                self.others = np.setdiff1d(np.arange(len(self.params)), where)
                self.others_grad = np.zeros(len(self.others))
        self.resume()
        self.ahead = False  # have the arrays stepped since the Values last caught up?

    def step(self, indices: list[int] | None) -> tuple[float, float]:
        """As ``_EagerTraining.step``; the gradients land in the parameters' ``.grad`` as
        ``backward()`` would leave them (at the next ``sync()`` when the optimizer is on arrays)."""
        inputs, labels = self.inputs, self.labels
        if indices is not None:
            inputs, labels = [array[indices] for array in inputs], labels[indices]
        if self.arrays is None:
            self.optimizer.zero_grad()
            value = self.program(*inputs)
            if self.penalty is not None:
                value += self.penalty()
            self.optimizer.step()
        else:
            self.data[self.where] = self.arrays.data
            value, self.grad = self.program.value_and_grad(self.data, *inputs)
            if self.penalty is not None:
                penalty, penalty_grad = self.penalty.value_and_grad(self.data)
                value, self.grad = value + penalty, self.grad + penalty_grad
            self.others_grad += self.grad[self.others]
            self.ahead = True  # the gradients reach the Values at the next sync, even if the step overflows
            self.arrays.step(self.grad[self.where])
        return value, _accuracy_of_outputs(self.program.aux, labels)

    def sync(self) -> None:
        """Bring the Values' ``.data`` and ``.grad`` and the optimizer's state up to date: only if
        steps ran since the last sync, so what a callback set (before it raised, say) is not
        written over."""
        if self.ahead:
            self.arrays.sync()
            for p, g in zip(self.optimizer.params, self.grad[self.where].tolist()):
                p.grad = g
            for k, g in zip(self.others.tolist(), self.others_grad.tolist()):
                self.params[k].grad += g
            self.others_grad[:] = 0.0
            self.ahead = False

    def resume(self) -> None:
        """Carry on from the Values and the optimizer as they are now (a callback may have changed them)."""
        if self.arrays is not None:
            import numpy as np

            self.arrays.load()
            self.data = np.fromiter((p.data for p in self.params), dtype=np.float64, count=len(self.params))


def evaluate(model, data: Dataset, loss: str, *, compiled: bool = False) -> tuple[float, float]:
    """The mean ``loss`` (without any L2 term) and the accuracy of ``model`` on all of ``data``.

    ``compiled=True`` runs every sample as one batch through ``micrograd.compile`` (the same numbers
    to about 1e-15, and far faster on a large set) instead of building a graph of Values per sample.
    """
    loss_fn = _loss_function(loss)
    check_dataset(data, "data")
    make_targets = _target_maker(loss, model, data)
    if compiled:
        program, arrays = _compiled_loss(model, loss, data, make_targets)
        losses = program.forward(*arrays(data))
        return float(losses.mean()), _accuracy_of_outputs(program.aux, data.y)
    scores = [model(x) for x in data.X]
    return loss_fn(scores, make_targets(data.y)).data, accuracy(scores, data.y)


def _compiled_loss(model, loss: str, data: Dataset, make_targets):
    """``(program, arrays)``: ``loss`` of ``model`` compiled per sample (``compile_loss``), and
    ``arrays(batch)`` giving the program's inputs for a batch of ``data``."""
    try:
        from micrograd.compile import one_hot
    except ImportError:
        raise ValueError(
            "compiled training needs micrograd.compile and NumPy (pip install 'micrograd-plus[compile]'); "
            "train without compiled=True"
        ) from None
    import numpy as np

    classes = data.num_classes
    # One output per class goes with a row of targets per sample (label_targets' one-hot rows; the
    # compiled cross_entropy takes them too, where the eager one takes class indices).
    row_targets = output_count(loss, classes) > 1
    program = compile_loss(model, loss, num_features=data.num_features, target_size=classes if row_targets else None)

    def arrays(batch: Dataset):
        X = np.asarray(batch.X, dtype=np.float64)
        if row_targets:
            return X, one_hot(batch.y, classes)
        return X, np.asarray(make_targets(batch.y), dtype=np.float64)

    return program, arrays


def compile_loss(model, loss: str, *, num_features: int, target_size: int | None = None) -> Program:
    """Compile ``SAMPLE_LOSSES[loss](model(x), target)`` with the model's outputs as aux.

    ``program(X, T)`` then returns the batch-mean loss and adds its gradients to the model's
    parameters; ``program.aux`` holds the model's per-sample outputs. ``T`` is a list of numbers
    (``target_size`` None) or of lists (one-hot rows for cross_entropy: see ``one_hot``).
    """
    from micrograd.compile import compile

    per_sample = SAMPLE_LOSSES[one_of(loss, SAMPLE_LOSSES, "loss")]
    num_features = positive_int(num_features, "compile_loss: num_features")
    if target_size is not None:
        target_size = positive_int(target_size, "compile_loss: target_size")

    def fn(x, target):
        out = model(x)
        return per_sample(out, target), out

    target_example = 1.0 if target_size is None else [1.0] + [0.0] * (target_size - 1)
    return compile(fn, model.parameters(), example=([0.0] * num_features, target_example), has_aux=True)


def _accuracy_of_outputs(scores, labels) -> float:
    """``losses.accuracy`` for a compiled program's outputs, a NumPy array. (The outputs need none
    of its checks, which cost more than the rest of a compiled step on a batch of a hundred.)"""
    import numpy as np

    return float(np.mean(predicted_classes(scores) == np.asarray(labels)))


def _loss_function(name: str):
    return LOSSES[one_of(name, LOSSES, "loss")]


def output_count(loss: str, num_classes: int) -> int:
    """How many outputs a model needs for ``loss`` on ``num_classes`` classes (see the module docstring):
    one per class for ``'cross_entropy'`` and for ``'mse'`` on more than two, else one score."""
    _loss_function(loss)
    if loss == "cross_entropy" or (loss == "mse" and num_classes > 2):
        return num_classes
    if num_classes != 2:
        raise ValueError(f"loss {loss!r} is for two classes, not {num_classes} (use 'cross_entropy')")
    return 1


def label_targets(loss: str, num_classes: int, *, rows: bool = False) -> Callable[[Sequence[int]], list]:
    """How class labels become ``loss``'s targets: a function of a list of labels.

    +1/-1 for ``'hinge'`` and two-class ``'mse'``, 0/1 for ``'bce'``, one-hot rows for ``'mse'`` on
    more classes, and the class indices themselves for ``'cross_entropy'``; with ``rows=True``, one-hot
    rows for ``'cross_entropy'`` too, as one sample's loss (``losses.SAMPLE_LOSSES``) takes them.
    """
    if output_count(loss, num_classes) > 1:
        if loss == "cross_entropy" and not rows:
            return lambda labels: labels
        one_hot = [[float(j == k) for j in range(num_classes)] for k in range(num_classes)]
        return lambda labels: [one_hot[k] for k in labels]
    if loss == "bce":
        return lambda labels: labels
    return lambda labels: [2.0 * k - 1.0 for k in labels]


def _target_maker(loss: str, model, data: Dataset) -> Callable[[Sequence[int]], list]:
    """``label_targets`` for ``data``, after checking that the model takes its features and has the
    number of outputs ``loss`` needs."""
    try:
        probe = model(data.X[0])
    except (TypeError, ValueError) as error:
        raise ValueError(f"the model cannot take {data.name!r}'s {data.num_features} features: {error}") from None
    outputs = len(probe) if isinstance(probe, list) else 1
    needed = output_count(loss, data.num_classes)
    if outputs != needed:
        if needed == 1:
            raise ValueError(f"loss {loss!r} needs a model with one output (a score), the model has {outputs}")
        raise ValueError(f"loss {loss!r} needs one model output per class ({needed}), the model has {outputs}")
    return label_targets(loss, data.num_classes)


def _batch_indices(data: Dataset, batch_size: int | None, rng: random.Random) -> Iterator[list[int] | None]:
    """Each step's batch, as indices into ``data``: ``None`` for all of it (``batch_size`` None)."""
    while True:
        if batch_size is None:
            yield None
        else:
            yield from data.batch_indices(batch_size, rng)


class _PlainProgress:
    """One line on stderr, rewritten at most ten times a second, for when tqdm is not installed."""

    def __init__(self, total: int):
        self.total, self.done, self.last_shown = total, 0, 0.0
        self.text = ""

    def update(self, loss: float, acc: float) -> None:
        self.done += 1
        self.text = f"training {self.done}/{self.total}  loss {loss:.4f}  accuracy {acc:.1%}"
        now = time.monotonic()
        if now - self.last_shown >= 0.1:
            self.last_shown = now
            print("\r" + self.text, end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.text:
            print("\r" + self.text, file=sys.stderr, flush=True)


class _TqdmProgress:
    def __init__(self, tqdm, total: int):
        self.bar = tqdm(total=total, desc="training", unit="step", file=sys.stderr, dynamic_ncols=True, leave=True)

    def update(self, loss: float, acc: float) -> None:
        # refresh=False: the text is only drawn when tqdm redraws (at most every 0.1 s), cheap per step
        self.bar.set_postfix_str(f"loss {loss:.4f}, accuracy {acc:.1%}", refresh=False)
        self.bar.update()

    def close(self) -> None:
        self.bar.close()


class _NoProgress:
    def update(self, loss: float, acc: float) -> None:
        pass

    def close(self) -> None:
        pass


class _LogLines:
    """A plain line at every tenth of the run, for a log file, where a bar's redraws would be junk."""

    def __init__(self, total: int):
        self.total, self.done, self.every = total, 0, max(1, total // 10)

    def update(self, loss: float, acc: float) -> None:
        self.done += 1
        if self.done % self.every == 0 or self.done == self.total:
            print(f"training {self.done}/{self.total}  loss {loss:.4f}  accuracy {acc:.1%}", file=sys.stderr, flush=True)

    def close(self) -> None:
        pass


def _progress_bar(total: int, *, enabled: bool | str):
    if not enabled:
        return _NoProgress()
    if enabled == "lines":
        return _LogLines(total)
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _PlainProgress(total)
    return _TqdmProgress(tqdm, total)
