"""Loss functions over a batch, each returning the batch mean as one ``Value``; and accuracy.

Each batch loss checks its arguments in one place, ``_batch``, and averages one sample's loss from
``SAMPLE_LOSSES``. Those build the same graph whatever the target's value (the target is just another
input, a class is a one-hot row), so ``micrograd.compile`` can trace them once and replay them for a
whole batch. No step subtracts two nearly equal large numbers: the losses stay finite and accurate
for logits of +-1000. Standard library only.
"""

from __future__ import annotations

import numbers
from typing import Sequence

from micrograd._validate import finite_number, sized
from micrograd.engine import Value, dot, total

__all__ = ["mse", "hinge", "binary_cross_entropy_with_logits", "cross_entropy", "l2_penalty", "l1_penalty"]
__all__ += ["accuracy", "predicted_classes", "LOSSES", "SAMPLE_LOSSES"]

Scalar = Value | float


def hinge_sample(score: Value, target: Scalar) -> Value:
    """``relu(1 - y * s)`` for a target ``y`` of +1 or -1."""
    return (1.0 - target * score).relu()


def mse_sample(pred: Value | Sequence[Value], target: Scalar | Sequence[Scalar]) -> Value:
    """``(p - t)**2``, or its mean over the elements of a list of predictions."""
    if type(pred) is Value:
        return (pred - target) ** 2
    return total([(p - t) ** 2 for p, t in zip(pred, target)]) / len(pred)


def bce_sample(logit: Value, target: Scalar) -> Value:
    """``y * softplus(-x) + (1-y) * softplus(x)``: two non-negative terms, no cancellation."""
    return target * (-logit).softplus() + (1.0 - target) * logit.softplus()


def cross_entropy_sample(logits: Sequence[Value], target: Sequence[Scalar]) -> Value:
    """``-log softmax(logits) . target`` for a one-hot (or probability) row ``target``.

    Log-sum-exp shifted by the largest logit so that ``exp`` never overflows. The largest is found
    with ops (``a + relu(b - a)``), not read from ``.data``, so that the graph is the same for every
    sample; the shift cancels, so the gradient that flows through it is zero. The logits meet in
    pairs, round after round, so the graph is log2(n) rounds deep rather than n (a compiled program
    runs each level as one step: a digits step with 10 classes takes 15 levels fewer).
    """
    rounds = list(logits)
    while len(rounds) > 1:
        odd = rounds[-1:] if len(rounds) % 2 else []
        rounds = [a + (b - a).relu() for a, b in zip(rounds[0::2], rounds[1::2])] + odd
    largest = rounds[0]
    shifted = [v - largest for v in logits]
    return total([s.exp() for s in shifted]).log() - dot(target, shifted)


def mse(preds: Sequence[Scalar | Sequence[Scalar]], targets: Sequence[float | Sequence[float]]) -> Value:
    """Mean squared error over every element, as ``torch.nn.functional.mse_loss``: each prediction is a
    Value with a number as its target, or a list of Values with a list of numbers as long."""
    rows, ys = _batch("mse", "preds", preds, targets, None)
    return _mean([(p - t) ** 2 for row, y in zip(rows, ys) for p, t in zip(row, y)])


def hinge(scores: Sequence[Scalar], targets: Sequence[float]) -> Value:
    """Mean of ``relu(1 - y * s)`` for targets ``y`` of +1 or -1: the original demo's max-margin loss."""
    rows, ys = _batch("hinge", "scores", scores, targets, SIGNS)
    return _mean([hinge_sample(row[0], y) for row, y in zip(rows, ys)])


def binary_cross_entropy_with_logits(logits: Sequence[Scalar], targets: Sequence[float]) -> Value:
    """Mean of ``-y log(sigmoid(x)) - (1-y) log(1 - sigmoid(x))`` for targets ``y`` in [0, 1] (``bce_sample``)."""
    rows, ys = _batch("binary_cross_entropy_with_logits", "logits", logits, targets, PROBABILITIES)
    return _mean([bce_sample(row[0], y) for row, y in zip(rows, ys)])


def cross_entropy(logits: Sequence[Sequence[Scalar]], targets: Sequence[int]) -> Value:
    """Mean of ``-log softmax(logits[i])[targets[i]]``, as ``torch.nn.functional.cross_entropy``
    (``cross_entropy_sample`` with the class index as a one-hot row)."""
    rows, ys = _batch("cross_entropy", "logits", logits, targets, CLASSES)
    return _mean([cross_entropy_sample(row, [float(j == y) for j in range(len(row))]) for row, y in zip(rows, ys)])


def l2_penalty(params: Sequence[Value], weight: float = 1.0) -> Value:
    """``weight * sum(p**2 for p in params)``, the sum as one ``dot`` node."""
    params, weight = list(params), finite_number(weight, "l2_penalty: weight")
    return weight * dot(params, params) if params else Value(0.0)


def l1_penalty(params: Sequence[Value], weight: float = 1.0) -> Value:
    """``weight * sum(abs(p) for p in params)``: pushes small weights to exactly 0 (abs's derivative at 0 is 0)."""
    params, weight = list(params), finite_number(weight, "l1_penalty: weight")
    return weight * total(abs(p) for p in params) if params else Value(0.0)


def accuracy(scores: Sequence[Scalar | Sequence[Scalar]], targets: Sequence[float]) -> float:
    """The fraction of samples whose ``predicted_classes`` is right (a plain float): targets in {-1, +1}
    or {0, 1} for a single score per sample, class indices for a list of scores per sample."""
    rows, ys = _batch("accuracy", "scores", scores, targets, LABELS)
    return sum(_predicted_class([v.data for v in row]) == max(y, 0.0) for row, y in zip(rows, ys)) / len(rows)


def predicted_classes(scores):
    """The class each sample's scores pick, for ``accuracy``, training and the pictures alike.

    One score per sample (a Value, a number or a one-element list): class 1 where it is above 0,
    else class 0. Several: the index of the largest, the first of equals. ``scores`` is a list over
    the batch (gives a list of ints) or a NumPy array of shape (samples,) or (samples, outputs),
    such as a compiled program's outputs (gives an array, computed in one NumPy call).
    """
    if hasattr(scores, "ndim"):
        if scores.ndim == 1 or scores.shape[1] == 1:
            return (scores.reshape(len(scores)) > 0).astype(int)
        return scores.argmax(axis=1)  # NumPy's argmax also takes the first of equals
    rows = _rows("predicted_classes: scores", scores)
    return [_predicted_class([v.data if type(v) is Value else v for v in row]) for row in rows]


LOSSES = {"mse": mse, "hinge": hinge, "bce": binary_cross_entropy_with_logits, "cross_entropy": cross_entropy}
"""The losses by the short names ``micrograd.train.fit`` and the command line use."""

SAMPLE_LOSSES = {"mse": mse_sample, "hinge": hinge_sample, "bce": bce_sample, "cross_entropy": cross_entropy_sample}
"""One sample's loss, ``loss(model output, target)``, under the same names: the batch losses are
their means (mse over every element), and their graphs do not depend on the target's value."""

# What each loss's targets must be: (in words, a test of target y for a sample of `width` scores)
SIGNS = ("+1 or -1, for one score per sample", lambda y, width: width == 1 and y in (1.0, -1.0))
PROBABILITIES = ("in [0, 1], for one score per sample", lambda y, width: width == 1 and 0.0 <= y <= 1.0)
CLASSES = ("class indices, for 2 or more scores per sample", lambda y, width: width > 1 and y in range(width))
LABELS = ("-1/+1 or 0/1 for one score per sample, else class indices",
          lambda y, width: y in ((1.0, -1.0, 0.0) if width == 1 else range(width)))


def _batch(name: str, argument: str, outputs, targets, kind) -> tuple[list[list[Value]], list]:
    """The one check of every loss's arguments (and accuracy's): ``outputs`` (called ``argument``) and
    ``targets`` are lists over one non-empty batch, each output a score (a Value or a number) or a
    list of them (``_rows``). Gives the outputs as rows of Values and the targets as floats of
    ``kind``, or for ``kind`` None (mse) as lists of finite numbers, one per score."""
    rows = _rows(f"{name}: {argument}", outputs, at_least=1)
    targets = sized(targets, f"{name}: targets", len(rows), f"targets, one per sample of {argument}")
    width, ys = len(rows[0]), []
    for i, target in enumerate(targets):
        where = f"{name}: targets[{i}]"
        if kind is None:
            numbers = [target] if _is_scalar(target) else target
            numbers = sized(numbers, where, width, "numbers, one per output", kind="a number or a list of numbers")
            ys.append([finite_number(t, where) for t in numbers])
        else:
            ys.append(finite_number(target, where))
            if not kind[1](ys[-1], width):
                got = f"got targets[{i}] = {target!r} with {width} score(s)"
                raise ValueError(f"{name}: targets must be {kind[0]}, {got}")
    return [[v if type(v) is Value else Value(v) for v in row] for row in rows], ys


def _rows(argument: str, outputs, at_least: int = 0) -> list[Sequence[Scalar]]:
    """Each sample's scores as a list (a lone score as a list of one), all of one non-zero width."""
    rows = [[out] if _is_scalar(out) else out for out in sized(outputs, argument, of="sample", at_least=at_least)]
    for i, row in enumerate(rows):
        kind = "a score (a Value or a number) or a list of them"
        if not all(map(_is_scalar, sized(row, f"{argument}[{i}]", kind=kind))):
            raise TypeError(f"{argument}[{i}] must be {kind}, got {row!r}")
        if not 0 < len(row) == len(rows[0]):
            expected = len(rows[0]) or "at least one"
            raise ValueError(f"{argument}[{i}] has {len(row)} scores, expected {expected}: every sample has as many")
    return rows


def _mean(terms: list[Value]) -> Value:
    return total(terms) / len(terms)


def _predicted_class(row: Sequence[float]) -> int:
    return int(row[0] > 0) if len(row) == 1 else max(range(len(row)), key=row.__getitem__)


def _is_scalar(x) -> bool:
    return type(x) is Value or (isinstance(x, numbers.Real) and not isinstance(x, bool))  # True is no score
