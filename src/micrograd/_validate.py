"""Argument checks shared by the library: one wording and one rule for each kind of argument.

A value of the wrong kind (text, None, a bool, a float where a whole number belongs) is a
``TypeError``; a value of the right kind out of range (0 steps, a negative learning rate, NaN) is a
``ValueError``. Both messages name the argument and what it must be. NumPy's integers count as
whole numbers and its floats as numbers. Standard library only.
"""

from __future__ import annotations

import math
import numbers
import operator
from typing import Iterable, Sequence

__all__ = ["whole_number", "positive_int", "finite_number", "non_negative", "fraction", "layer_widths", "one_of"]
__all__ += ["sized", "of_type"]


def whole_number(n, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """``n`` as an int; ``minimum`` and ``maximum`` (if given) are the smallest and largest allowed."""
    if minimum is None:
        kind = "a whole number"
    elif maximum is not None:
        kind = f"a whole number from {minimum} to {maximum}"
    elif minimum == 1:
        kind = "a positive whole number"
    else:
        kind = f"a whole number >= {minimum}"
    if isinstance(n, bool) or not hasattr(type(n), "__index__"):  # True is 1 to Python, but never meant as a count
        raise TypeError(f"{name} must be {kind}, got {type(n).__name__}: {n!r}")
    n = operator.index(n)  # an int, from NumPy's integers too
    if (minimum is not None and n < minimum) or (maximum is not None and n > maximum):
        raise ValueError(f"{name} must be {kind}, got {n}")
    return n


def positive_int(n, name: str) -> int:
    """``n`` as an int of at least 1 (a count: steps, a width, a batch size)."""
    return whole_number(n, name, minimum=1)


def finite_number(
    x, name: str, *, at_least: float | None = None, above: float | None = None, below: float | None = None
) -> float:
    """``x`` as a finite float, at least ``at_least``, above ``above`` and below ``below`` (those given)."""
    bounds = [f"{sign} {bound:g}" for sign, bound in ((">=", at_least), (">", above), ("<", below)) if bound is not None]
    kind = " ".join(["a finite number", " and ".join(bounds)]).rstrip()
    x = _real(x, name, kind)
    in_range = (at_least is None or x >= at_least) and (above is None or x > above) and (below is None or x < below)
    if not (math.isfinite(x) and in_range):
        raise ValueError(f"{name} must be {kind}, got {x!r}")
    return x


def non_negative(x, name: str) -> float:
    """``x`` as a finite float >= 0 (a learning rate, a weight decay, an L2 weight)."""
    return finite_number(x, name, at_least=0.0)


def fraction(x, name: str) -> float:
    """``x`` as a float in [0, 1) (one of Adam's betas)."""
    return finite_number(x, name, at_least=0.0, below=1.0)


def _real(x, name: str, kind: str) -> float:
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"{name} must be {kind}, got {type(x).__name__}: {x!r}")
    try:
        return float(x)
    except OverflowError:  # an int beyond the float range
        return math.inf if x > 0 else -math.inf


def layer_widths(widths: Sequence[int], name: str) -> list[int]:
    """A non-empty list of positive whole numbers, such as an MLP's ``nouts``."""
    widths = sized(widths, name, of="layer width", kind="a list of layer widths like [16, 16, 1]", at_least=1)
    return [positive_int(width, f"{name}[{i}]") for i, width in enumerate(widths)]


def one_of(value, choices: Iterable[str | None], what: str):
    """``value`` if it is one of ``choices``: the names of the datasets, losses, optimizers..."""
    choices = list(choices)
    if not (value is None or isinstance(value, str)) or value not in choices:
        raise ValueError(f"unknown {what} {value!r}: choose one of {', '.join(map(repr, choices))}")
    return value


def sized(x, name: str, length: int | None = None, of: str = "items", *, kind: str = "a list", at_least: int = 0):
    """``x`` if it is a list (or a tuple, a NumPy array: anything with a length but text or a dict) of
    ``length`` items if given, else of ``at_least``: a batch of outputs, a row of features, a layer's
    weights. ``kind`` is what the TypeError says ``x`` must be, ``of`` what the ValueError counts."""
    if isinstance(x, (str, bytes, dict)) or not (hasattr(x, "__len__") and hasattr(x, "__getitem__")):
        raise TypeError(f"{name} must be {kind}, got {type(x).__name__}")
    wanted = f"at least {at_least}" if length is None else length
    if (len(x) < at_least) if length is None else (len(x) != length):
        raise ValueError(f"{name} must hold {wanted} {of}, got {len(x)}")
    return x


def of_type(x, types: type | tuple[type, ...], name: str, kind: str):
    """``x`` if it is an instance of ``types``, which ``kind`` names in words ('a Value', 'text')."""
    if not isinstance(x, types):
        raise TypeError(f"{name} must be {kind}, got {type(x).__name__}")
    return x
