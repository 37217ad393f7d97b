"""Loss functions over a batch, each returning the batch mean as one ``Value``; and accuracy.

Each batch loss checks its arguments once and averages one sample's loss from ``SAMPLE_LOSSES``. Those
per-sample terms build the same graph whatever the target's value (the target is just another
input, a class is a one-hot row), so ``micrograd.compile`` can trace them once and replay them for a
whole batch. Every loss is written so that no step subtracts two nearly equal large numbers: they
stay finite and accurate for logits of +-1000. Standard library only.
"""

from __future__ import annotations

import numbers
from typing import Sequence

from micrograd._validate import finite_number
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
    sample; the shift cancels, so the gradient that flows through it is zero.
    """
    largest = logits[0]
    for v in logits[1:]:
        largest = largest + (v - largest).relu()
    shifted = [v - largest for v in logits]
    return total([s.exp() for s in shifted]).log() - dot(target, shifted)


def mse(preds: Sequence[Scalar | Sequence[Scalar]], targets: Sequence[float | Sequence[float]]) -> Value:
    """Mean squared error over every element, as ``torch.nn.functional.mse_loss``.

    Each prediction is a Value (with a number as its target) or a list of Values (with a list of
    numbers of the same length).
    """
    errors = []
    for i, (pred, target) in _batch("mse", preds, targets):
        if isinstance(pred, (str, bytes)) or not hasattr(pred, "__len__"):
            pred, target = [pred], [target]
        elif _is_scalar(target) or len(pred) != len(target) or not len(pred):
            raise ValueError(f"mse: preds[{i}] and targets[{i}] must have the same non-zero length")
        errors += [(_value(p, "mse", "preds", i) - _target(t, "mse", i)) ** 2 for p, t in zip(pred, target)]
    return total(errors) / len(errors)


def hinge(scores: Sequence[Scalar], targets: Sequence[float]) -> Value:
    """Mean of ``relu(1 - y * s)`` for targets ``y`` of +1 or -1: the original demo's max-margin loss."""
    return _mean_of_scores(hinge_sample, "hinge", scores, targets, lambda y: y in (1.0, -1.0), "+1 or -1")


def binary_cross_entropy_with_logits(logits: Sequence[Scalar], targets: Sequence[float]) -> Value:
    """Mean of ``-y log(sigmoid(x)) - (1-y) log(1 - sigmoid(x))`` for targets ``y`` in [0, 1].

    See ``bce_sample``.
    """
    name = "binary_cross_entropy_with_logits"
    return _mean_of_scores(bce_sample, name, logits, targets, lambda y: 0.0 <= y <= 1.0, "in [0, 1]")


def cross_entropy(logits: Sequence[Sequence[Scalar]], targets: Sequence[int]) -> Value:
    """Mean of ``-log softmax(logits[i])[targets[i]]``, as ``torch.nn.functional.cross_entropy``.

    See ``cross_entropy_sample``, with the class index as a one-hot row.
    """
    classes = None
    terms = []
    for i, (row, target) in _batch("cross_entropy", logits, targets):
        if _is_scalar(row):
            raise TypeError(f"cross_entropy: logits[{i}] must be a list of class scores, got a single number")
        classes = len(row) if classes is None else classes
        if len(row) != classes or not row:
            raise ValueError(f"cross_entropy: logits[{i}] has {len(row)} scores, logits[0] has {classes}")
        k = _class_index(target, classes, i, "cross_entropy")
        row = [_value(v, "cross_entropy", "logits", i) for v in row]
        terms.append(cross_entropy_sample(row, [float(j == k) for j in range(classes)]))
    return total(terms) / len(terms)


def l2_penalty(params: Sequence[Value], weight: float = 1.0) -> Value:
    """``weight * sum(p**2 for p in params)``, the sum as one ``dot`` node."""
    params = list(params)
    weight = finite_number(weight, "l2_penalty: weight")
    return weight * dot(params, params) if params else Value(0.0)


def l1_penalty(params: Sequence[Value], weight: float = 1.0) -> Value:
    """``weight * sum(abs(p) for p in params)``: pushes small weights to exactly 0 (abs's derivative at 0 is 0)."""
    params = list(params)
    weight = finite_number(weight, "l1_penalty: weight")
    return weight * total(abs(p) for p in params) if params else Value(0.0)


def accuracy(scores: Sequence[Scalar | Sequence[Scalar]], targets: Sequence[float]) -> float:
    """The fraction of samples whose ``predicted_classes`` is right (a plain float).

    A single score per sample is compared with targets in {-1, +1} or {0, 1}; a list of scores
    per sample with class indices.
    """
    correct = 0
    classes = None  # how many scores sample 0 has: every sample must have as many
    for i, (score, target) in _batch("accuracy", scores, targets):
        predicted, count = _predicted_class(score, "accuracy", i)
        classes = count if classes is None else classes
        if count != classes:
            raise ValueError(f"accuracy: sample {i} has {count} scores, sample 0 has {classes}")
        if count > 1:
            correct += predicted == _class_index(target, count, i, "accuracy")
        else:
            y = _target(target, "accuracy", i, lambda y: y in (1.0, -1.0, 0.0), "-1/+1 or 0/1")
            correct += predicted == (y > 0)
    return correct / len(scores)


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
    if _is_scalar(scores) or not hasattr(scores, "__len__"):
        raise TypeError(f"predicted_classes: scores must be a list over the batch, got {type(scores).__name__}")
    return [_predicted_class(score, "predicted_classes", i)[0] for i, score in enumerate(scores)]


def _predicted_class(score, name: str, i: int) -> tuple[int, int]:
    """(the class sample ``i``'s score picks, how many scores it has)."""
    values = [v.data if type(v) is Value else float(v) for v in ([score] if _is_scalar(score) else score)]
    if len(values) == 1:
        return int(values[0] > 0), 1
    if not values:
        raise ValueError(f"{name}: sample {i} has no scores, expected one or one per class")
    return max(range(len(values)), key=values.__getitem__), len(values)


LOSSES = {"mse": mse, "hinge": hinge, "bce": binary_cross_entropy_with_logits, "cross_entropy": cross_entropy}
"""The losses by the short names ``micrograd.train.fit`` and the command line use."""

SAMPLE_LOSSES = {"mse": mse_sample, "hinge": hinge_sample, "bce": bce_sample, "cross_entropy": cross_entropy_sample}
"""One sample's loss, ``loss(model output, target)``, under the same names: the batch losses are
their means (mse over every element), and their graphs do not depend on the target's value."""


def _batch(name: str, outputs, targets):
    """``enumerate(zip(outputs, targets))``, once both are lists over the batch of one length."""
    for argument, value in (("predictions", outputs), ("targets", targets)):
        if _is_scalar(value) or not hasattr(value, "__len__"):
            raise TypeError(f"{name}: {argument} must be a list over the batch, got {type(value).__name__}")
    if len(outputs) != len(targets):
        raise ValueError(f"{name}: {len(outputs)} predictions but {len(targets)} targets")
    if not len(outputs):
        raise ValueError(f"{name}: the batch is empty")
    return enumerate(zip(outputs, targets))


def _mean_of_scores(sample_loss, name: str, scores, targets, allowed, wording: str) -> Value:
    """The mean of ``sample_loss(score, y)`` over a batch of one score per sample and ``allowed`` targets."""
    batch = _batch(name, scores, targets)
    terms = [sample_loss(_one_score(s, name, i), _target(t, name, i, allowed, wording)) for i, (s, t) in batch]
    return total(terms) / len(terms)


def _is_scalar(x) -> bool:
    return type(x) is Value or isinstance(x, numbers.Real)


def _value(x, name: str, argument: str, i: int) -> Value:
    if type(x) is Value:
        return x
    if isinstance(x, numbers.Real) and not isinstance(x, bool):
        return Value(x)
    raise TypeError(f"{name}: {argument}[{i}] must be a Value or a number, got {type(x).__name__}: {x!r}")


def _one_score(x, name: str, i: int) -> Value:
    """A binary score: a Value or number, or a one-element list of one (an MLP's ``forward``)."""
    if not _is_scalar(x):
        if not (hasattr(x, "__len__") and len(x) == 1):
            found = len(x) if hasattr(x, "__len__") else repr(x)
            raise ValueError(f"{name}: expected one score per sample, sample {i} has {found}")
        x = x[0]
    return _value(x, name, "scores", i)


def _target(x, name: str, i: int, allowed=None, wording: str = "") -> float:
    """Target ``i`` as a float: a finite number, and one that ``allowed`` accepts if given."""
    y = finite_number(x, f"{name}: targets[{i}]")
    if allowed is not None and not allowed(y):
        raise ValueError(f"{name}: targets must be {wording}, got targets[{i}] = {x!r}")
    return y


def _class_index(target, classes: int, i: int, name: str) -> int:
    whole = isinstance(target, numbers.Real) and not isinstance(target, bool) and float(target).is_integer()
    if not (whole and 0 <= target < classes):  # 2.0 from a float array is class 2
        raise ValueError(f"{name}: targets[{i}] = {target!r} is not a class index in 0..{classes - 1}")
    return int(target)
